"""Shims the Flower app bundle points at; the code they load is the installed ``federated`` package."""
