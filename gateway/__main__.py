"""``python -m gateway`` runs the ``credgate`` command."""

from gateway.cli.app import main

main()
