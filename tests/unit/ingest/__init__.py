"""Tests of the importer (gateway.ingest)."""
