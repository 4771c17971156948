"""The ``credgate`` command line: one module per command group."""
