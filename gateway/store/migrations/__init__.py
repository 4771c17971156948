"""Alembic migration environment of the local store (shipped as package data)."""
