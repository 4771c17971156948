"""ClientApp mod: every reply a member sends passes its egress guard (issue #4).

For each outgoing reply (fail closed):

1. *Allow-list* — every array, metric and config record and each of their keys must be
   declared for the message type in ``policies/egress_flower.toml``, with a value of
   the declared kind (``num_examples`` must be the constant 1, metrics empty…).
2. *Exact-match index* — every string value, every integer value and every integral
   value of a float array is scanned against the node's index of its own PII
   (resident IDs, mobiles, names; :class:`gateway.egress.index.ExactMatchIndex`, built
   from the store named by ``store-url``). Opaque bytes (SecAgg+ public keys,
   ciphertexts, masked vectors) are not scanned: they are uniformly random to anyone
   without the keys.

An exception raised further in is logged here in full (the member's own log: the
column, the row, the reason) and replaced by a fixed-format message naming only this
member, the phase and the error's reason class (``credgate-failure member=bank-1
phase=profile reason=feature_spec_invalid``): Flower's runtime would otherwise send
``str(exception)`` to the server, and it may quote local data.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterable

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp.typing import ClientAppCallable

from federated.egress_schema import FlowerEgressSchema, ValueKind, load_flower_egress
from federated.errors import FederatedError
from federated.server.watched_grid import failure_reason
from gateway.egress.guard import EgressBlocked
from gateway.egress.index import SECRET_BYTES, ExactMatchIndex

__all__ = ["check_reply", "egress_mod", "failure_text", "node_index"]

logger = logging.getLogger(__name__)
_SCAN_FLOATS_FROM = 1e5  # Integral floats below six digits cannot hold an ID or a mobile.


_INDEX_LOCK = threading.Lock()
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")


def node_index(store_url: str | None) -> ExactMatchIndex:
    """Return the exact-match index of the store's borrowers (empty without a store).

    Built once per store and process: the cache holds one entry per store URL, never
    evicted, so an in-process run over any number of members builds each member's
    index once per run (a deployment ClientApp process serves one message and builds
    its member's index once). ``INDEX_BUILDS`` counts the builds.
    """
    with _INDEX_LOCK:
        index = _INDEXES.get(store_url)
        if index is None:
            index = _build_index(store_url)
            _INDEXES[store_url] = index
            INDEX_BUILDS[store_url] = INDEX_BUILDS.get(store_url, 0) + 1
        return index


_INDEXES: dict[str | None, ExactMatchIndex] = {}
#: How many times each store's index was built in this process (tests assert one per member).
INDEX_BUILDS: dict[str | None, int] = {}


def _build_index(store_url: str | None) -> ExactMatchIndex:
    # The index key only needs to stay inside this process, so a fresh random key is enough.
    index = ExactMatchIndex(os.urandom(SECRET_BYTES))
    if store_url:
        from federated.features.store_access import open_member_store

        store = open_member_store(store_url)
        try:
            index.rebuild_from_store(store)
        finally:
            store.close()
    return index


@functools.lru_cache(maxsize=1)
def _schema() -> FlowerEgressSchema:
    return load_flower_egress()


def egress_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Run the inner app, then clear its reply for sending or raise.

    Raises
    ------
    EgressBlocked
        When the reply carries an undeclared record/key, a value of the wrong kind,
        or a value in the node's exact-match index.
    FederatedError
        With a fixed message when the inner app failed.

    """
    try:
        reply = call_next(message, context)
    except Exception as exc:
        failure = failure_text(message, context, exc)
        logger.error("the ClientApp failed: %s; the bureau is told only %r", exc, failure, exc_info=exc)
        raise FederatedError(failure) from None
    store_url = context.node_config.get("store-url")
    index = node_index(str(store_url) if store_url else None)
    check_reply(reply, _schema(), index)
    return reply


def failure_text(message: Message, context: Context, exc: BaseException) -> str:
    """What the bureau may be told of ``exc``: this member, the phase and the reason class only."""
    return failure_reason(_member(context), _phase(message), _reason(exc))


def _member(context: Context) -> str:
    member = str(context.node_config.get("member-id", ""))
    return member if _TOKEN.fullmatch(member) else f"node-{context.node_id}"


def _phase(message: Message) -> str:
    # The phase travels in the fit instructions; SecAgg+'s own stages carry their stage name.
    if message.has_content():
        for record in message.content.config_records.values():
            for key in ("phase", "stage"):
                value = record.get(key)
                if isinstance(value, str) and _TOKEN.fullmatch(value):
                    return value
    return "unknown"


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, str) and _TOKEN.fullmatch(reason) else "internal_error"


def check_reply(reply: Message, schema: FlowerEgressSchema, index: ExactMatchIndex) -> None:
    """Check every record of ``reply`` against ``schema`` and ``index``.

    Raises
    ------
    EgressBlocked
        Naming the message type, record/key and detector of the first violation.

    """
    if not reply.has_content():
        return
    message_type = reply.metadata.message_type.split(".")[0]
    content = reply.content
    for name, arrays in content.array_records.items():
        if not schema.allows_record(message_type, "array", name):
            raise EgressBlocked(message_type=message_type, field=name, detector="undeclared record")
        for key, array in arrays.items():
            values = array.numpy()
            _check(schema, index, message_type, "array", name, key, values)
    for name, metrics in content.metric_records.items():
        if not schema.allows_record(message_type, "metric", name):
            raise EgressBlocked(message_type=message_type, field=name, detector="undeclared record")
        for key, metric in metrics.items():
            _check(schema, index, message_type, "metric", name, key, metric)
    for name, configs in content.config_records.items():
        if not schema.allows_record(message_type, "config", name):
            raise EgressBlocked(message_type=message_type, field=name, detector="undeclared record")
        for key, value in configs.items():
            _check(schema, index, message_type, "config", name, key, value)


def _check(
    schema: FlowerEgressSchema,
    index: ExactMatchIndex,
    message_type: str,
    record_kind: str,
    record: str,
    key: str,
    value: object,
) -> None:
    field = f"{record}.{key}"
    kind = schema.kind(message_type, record_kind, record, key)  # type: ignore[arg-type]  # one of three literals
    if kind is None:
        raise EgressBlocked(message_type=message_type, field=field, detector="undeclared field")
    if not _fits(kind, value):
        raise EgressBlocked(message_type=message_type, field=field, detector=f"value is not a valid {kind}")
    if any(index.hits(text) for text in _plaintext(kind, value)):
        raise EgressBlocked(message_type=message_type, field=field, detector="exact-match index")


def _fits(kind: ValueKind, value: object) -> bool:
    if kind == "one":
        return value == 1 and isinstance(value, int) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "int_list":
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "text":
        return isinstance(value, str)
    if kind == "opaque_bytes":
        return isinstance(value, bytes)
    if kind == "opaque_bytes_list":
        return isinstance(value, list) and all(isinstance(v, bytes) for v in value)
    return isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 1


def _plaintext(kind: ValueKind, value: object) -> Iterable[str]:
    if kind in {"int", "text"}:
        yield str(value)
    elif kind == "int_list" and isinstance(value, list):
        yield from (str(v) for v in value)
    elif kind == "float_vector" and isinstance(value, np.ndarray):
        integral = value[(np.abs(value) >= _SCAN_FLOATS_FROM) & (np.mod(value, 1.0) == 0)]
        yield from (str(int(v)) for v in integral)
