"""Tests of the local store (gateway.store)."""
