"""Ed25519 (RFC 8032) for transparency-log checkpoints, co-signatures and rotation statements.

STYLE §3: the transparency log (``gateway.tlog``) never imports ``cryptography.hazmat``; it
signs and verifies through these functions with raw 32-byte keys. A node keeps one Ed25519
log key in ``<data_dir>/keys/log.key`` (mode 0600, ``version 0x01 || tag 0x03 || 32-byte
seed``), created on first use like its X25519 keys (``gateway.crypto.keys``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gateway.crypto.errors import KeyFileError
from gateway.errors import InvalidInputError

__all__ = [
    "ED25519_KEY_BYTES",
    "ED25519_SIGNATURE_BYTES",
    "Ed25519Key",
    "ed25519_verify",
    "load_or_create_log_key",
]

ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
LOG_KEY_FILE = "log.key"
_FILE_VERSION = 0x01
_FILE_TAG = 0x03


@dataclass(frozen=True)
class Ed25519Key:
    """An Ed25519 key pair from its 32-byte seed; the seed stays out of ``repr``.

    Raises
    ------
    InvalidInputError
        At construction, when the seed is not 32 bytes.

    """

    seed: bytes = field(repr=False)
    public_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        """Derive the public key and check the seed size."""
        if not isinstance(self.seed, bytes) or len(self.seed) != ED25519_KEY_BYTES:
            raise InvalidInputError("expected a 32-byte Ed25519 seed", field="seed")
        public = (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        object.__setattr__(self, "public_key", public)

    @classmethod
    def generate(cls) -> Ed25519Key:
        """A fresh key from the operating system's random source."""
        return cls(os.urandom(ED25519_KEY_BYTES))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte RFC 8032 signature of ``message``."""
        return self._private().sign(message)

    def _private(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.seed)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid RFC 8032 signature of ``message`` under ``public_key``.

    This is the one boolean check in the crypto package: callers in ``gateway.tlog``
    turn a ``False`` into their own uniform error at once (STYLE §3, checks raise).
    Malformed keys or signatures count as invalid.
    """
    if len(public_key) != ED25519_KEY_BYTES or len(signature) != ED25519_SIGNATURE_BYTES:
        return False
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_log_key(folder: Path) -> Ed25519Key:
    """Load the node's Ed25519 log key from ``folder``, creating it (mode 0600) if missing.

    Raises
    ------
    KeyFileError
        When the file is malformed or readable by group or others.

    """
    path = folder / LOG_KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = Ed25519Key.generate()
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(bytes([_FILE_VERSION, _FILE_TAG]) + key.seed)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); expected 600")
    data = path.read_bytes()
    if len(data) != 2 + ED25519_KEY_BYTES or data[0] != _FILE_VERSION or data[1] != _FILE_TAG:
        raise KeyFileError(f"{path} is not a credgate Ed25519 log key file")
    return Ed25519Key(data[2:])
