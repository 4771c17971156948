"""Alembic revisions of the local store, oldest first; never edit a released one."""
