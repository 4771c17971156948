"""credgate gateway: the node and bureau runtime of the credit-sharing consortium."""

__version__ = "0.1.0"

__all__ = ["__version__"]
