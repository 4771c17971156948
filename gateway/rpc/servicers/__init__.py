"""gRPC servicers: convert messages, call one handler, convert back, map errors."""
