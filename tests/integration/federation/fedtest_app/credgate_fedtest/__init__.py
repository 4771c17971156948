"""Test-only Flower app for credgate's deployment tests (not the consortium's model)."""
