"""Consortium queries: planning and execution of the subject check (and, later, the others)."""
