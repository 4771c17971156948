"""Channel and server options shared by every node."""

from __future__ import annotations

# Batches stream in chunks; no single message may exceed 1 MiB (ARCHITECTURE §8).
MAX_MESSAGE_BYTES = 1024 * 1024

MESSAGE_SIZE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
)
