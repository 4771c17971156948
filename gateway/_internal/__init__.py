"""Unstable helpers for development tasks; not part of the public surface."""
