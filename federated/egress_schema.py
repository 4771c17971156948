"""The allow-list of what a member's Flower replies may carry (``policies/egress_flower.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.errors import ConfigError

__all__ = ["DEFAULT_FLOWER_EGRESS", "FlowerEgressSchema", "ValueKind", "load_flower_egress"]

DEFAULT_FLOWER_EGRESS = Path(__file__).resolve().parents[1] / "policies" / "egress_flower.toml"
ValueKind = Literal["one", "int", "int_list", "text", "opaque_bytes", "opaque_bytes_list", "float_vector"]
RecordKind = Literal["array", "metric", "config"]
_VALUE_KINDS = {"one", "int", "int_list", "text", "opaque_bytes", "opaque_bytes_list", "float_vector"}
_RECORD_KINDS = ("array", "metric", "config")
WILDCARD = "*"


@dataclass(frozen=True)
class FlowerEgressSchema:
    """Message type → record kind → record name → key → value kind."""

    messages: dict[str, dict[str, dict[str, dict[str, ValueKind]]]]

    def kind(self, message_type: str, record_kind: RecordKind, record: str, key: str) -> ValueKind | None:
        """Return the declared kind of a key, or ``None`` when it is not allowed."""
        keys = self.messages.get(message_type, {}).get(record_kind, {}).get(record)
        if keys is None:
            return None
        return keys.get(key, keys.get(WILDCARD))

    def allows_record(self, message_type: str, record_kind: RecordKind, record: str) -> bool:
        """Whether the record may appear at all."""
        return record in self.messages.get(message_type, {}).get(record_kind, {})


def load_flower_egress(path: Path = DEFAULT_FLOWER_EGRESS) -> FlowerEgressSchema:
    """Read and validate the allow-list.

    Raises
    ------
    ConfigError
        When the file is unreadable or declares an unknown record or value kind.

    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the Flower egress allow-list {path}: {exc}") from None
    raw = document.get("message")
    if not isinstance(raw, dict) or set(document) != {"message"}:
        raise ConfigError("egress_flower: expected only [message.<type>] tables")
    messages: dict[str, dict[str, dict[str, dict[str, ValueKind]]]] = {}
    for message_type, records in raw.items():
        if not isinstance(records, dict) or set(records) - set(_RECORD_KINDS):
            raise ConfigError(f"egress_flower: message.{message_type}: expected array/metric/config tables")
        messages[message_type] = {}
        for record_kind, named in records.items():
            if not isinstance(named, dict):
                raise ConfigError(f"egress_flower: message.{message_type}.{record_kind}: expected tables")
            messages[message_type][record_kind] = {}
            for record, keys in named.items():
                if not isinstance(keys, dict) or not all(v in _VALUE_KINDS for v in keys.values()):
                    raise ConfigError(
                        f"egress_flower: message.{message_type}.{record_kind}.{record}: unknown value kind"
                    )
                messages[message_type][record_kind][record] = dict(keys)
    return FlowerEgressSchema(messages)
