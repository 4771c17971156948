"""A test-only ClientApp mod recording every reply a member sends, as the server will receive it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable


@dataclass
class RecordingMod:
    replies: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, message: Message, context: Context, call_next: ClientAppCallable) -> Message:
        reply = call_next(message, context)
        with self._lock:
            self.replies.append(reply)
        return reply


def plaintext_values(message: Message) -> list[str]:
    """Strings and integers a reply carries (bytes excluded: keys, ciphertexts and masks are random)."""
    found: list[str] = []
    if message.has_error():
        return [message.error.reason or ""]
    content = message.content
    for record in [*content.config_records.values(), *content.metric_records.values()]:
        for key, value in record.items():
            found.append(key)
            items = value if isinstance(value, list) else [value]
            found += [str(v) for v in items if isinstance(v, str | int | float) and not isinstance(v, bool)]
    for arrays in content.array_records.values():
        for key, array in arrays.items():
            found.append(key)
            values = array.numpy().ravel()
            if values.dtype.kind in "iu":
                found += [str(int(v)) for v in values]
            elif values.dtype.kind == "f":
                found += [str(int(v)) for v in values[np.mod(values, 1.0) == 0]]
    return found
