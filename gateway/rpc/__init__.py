"""gRPC transport: server factory, mTLS channels, interceptors, servicers and status mapping."""
