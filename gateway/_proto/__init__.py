"""Generated gRPC code (credgate.v1); regenerate with `make proto`."""
