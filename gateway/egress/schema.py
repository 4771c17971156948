"""The egress allow-list from ``policies/egress.toml``: every outbound field and its kind."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

POLICY_FILE = "egress.toml"
P = 2**61 - 1
_DNS_LABEL = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_LABEL = re.compile(r"[\w.<>=+\- ]{1,64}", re.ASCII)
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_ADDRESS = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}:\d{1,5}")


def _printable(limit: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and 0 < len(v) <= limit and v.isprintable()


def _sized(*sizes: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, bytes) and len(v) in sizes


def _model_file(value: Any) -> bool:
    """A signed model file: a JSON object of the registry's format, under the message limit.

    Not scanned by the index: it holds weights and aggregate statistics only, and its float
    digits would match phone numbers by chance. The member verifies its signature.
    """
    if not isinstance(value, bytes) or not 0 < len(value) <= 900_000:
        return False
    try:
        record = json.loads(value)
    except ValueError:
        return False
    return isinstance(record, dict) and "format" in record and "weights_sha256" in record


def _note(value: Any) -> bool:
    """A C2SP signed note, publication or signature line: printable text and newlines, bounded.

    Not scanned: it holds log names, decimal sizes, base64 hashes and signatures only.
    """
    return isinstance(value, str) and 0 < len(value) <= 65_536 and value.replace("\n", "").isprintable()


def _log_entry(value: Any) -> bool:
    """A consortium key-log leaf: canonical JSON naming its type (certificates, keys, member ids)."""
    if not isinstance(value, bytes) or not 0 < len(value) <= 65_536:
        return False
    try:
        record = json.loads(value)
    except ValueError:
        return False
    return isinstance(record, dict) and isinstance(record.get("type"), str)


# How a scalar value of each kind must look; whether it is plaintext (scanned by the index).
CHECKS: dict[str, tuple[Callable[[Any], bool], bool]] = {
    "count": (lambda v: isinstance(v, int) and v >= 0, True),
    "signed": (lambda v: isinstance(v, int), True),
    "number": (lambda v: isinstance(v, float), True),
    "flag": (lambda v: isinstance(v, bool), False),
    "member_id": (lambda v: isinstance(v, str) and bool(_DNS_LABEL.fullmatch(v)), True),
    "version": (_printable(64), True),
    "name": (lambda v: isinstance(v, str) and len(v) <= 256 and (v == "" or v.isprintable()), True),
    "address": (lambda v: isinstance(v, str) and bool(_ADDRESS.fullmatch(v)), True),
    "label": (lambda v: isinstance(v, str) and bool(_LABEL.fullmatch(v)), True),
    "period": (lambda v: isinstance(v, str) and bool(_PERIOD.fullmatch(v)), True),
    "free_text": (lambda v: isinstance(v, str), True),
    "nonce": (_sized(16), False),
    "hash": (_sized(32), False),
    "public_key": (_sized(32), False),
    "token": (_sized(64), False),
    "signature": (lambda v: isinstance(v, bytes) and 0 < len(v) <= 80, False),
    "certificate": (lambda v: isinstance(v, bytes) and 0 < len(v) <= 8192, False),
    "ciphertext": (lambda v: isinstance(v, bytes), False),
    "descriptor": (lambda v: isinstance(v, bytes), False),
    "masked": (lambda v: isinstance(v, int) and 0 <= v < P, False),
    # A chunk of a masked vector of 16-bit words (regulator reports, phase 3): whole words only.
    "masked_words": (lambda v: isinstance(v, bytes) and len(v) % 2 == 0 and len(v) <= 1_000_000, False),
    "model": (_model_file, False),
    "note": (_note, False),
    "log_entry": (_log_entry, False),
}
STRUCTURED = frozenset({"message", "timestamp", "enum"})


@dataclass(frozen=True)
class EgressSchema:
    """``message full name → field name → kind``, validated on load and immutable."""

    fields: Mapping[str, Mapping[str, str]]

    @classmethod
    def from_directory(cls, policies_dir: Path) -> EgressSchema:
        """Load ``policies/egress.toml``.

        Raises
        ------
        ConfigError
            When the file is unreadable or names a kind that does not exist.

        """
        path = policies_dir / POLICY_FILE
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the egress allow-list {path}: {exc}") from exc
        for message, fields in raw.items():
            if not isinstance(fields, dict):
                raise ConfigError(f"{path}: [{message}] must be a table of field = kind")
            for name, kind in fields.items():
                if kind not in CHECKS and kind not in STRUCTURED:
                    raise ConfigError(f"{path}: {message}.{name} has unknown kind {kind!r}")
        return cls({message: dict(fields) for message, fields in raw.items()})

    def kind(self, message: str, field: str) -> str | None:
        """The declared kind of ``message.field``; ``None`` when undeclared."""
        return self.fields.get(message, {}).get(field)
