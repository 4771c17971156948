"""A node's long-term X25519 key pairs and their files.

Each node holds two key pairs with separate purposes, so neither key is ever
used in two protocols:

* ``hpke`` receives sealed subject tokens and querier seeds (RFC 9180);
* ``mask`` agrees pairwise mask seeds with other members (Bonawitz et al. 2017 §4).

Each private key lives in its own file, mode 0600, laid out as
``version (0x01) || purpose tag || 32-byte raw private key``. The public halves
are published in a signed :class:`~gateway.crypto.bundle.KeyBundle`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gateway.crypto.errors import KeyFileError
from gateway.crypto.primitives import (
    X25519_KEY_BYTES,
    RandomBytes,
    x25519_generate_private,
    x25519_public_key,
)
from gateway.errors import InvalidInputError

__all__ = ["KEY_FILE_VERSION", "KeyPair", "KeyPurpose", "NodeKeys", "retire_node_keys"]

KEY_FILE_VERSION = 1


class KeyPurpose(enum.Enum):
    """What a key pair is for; the value is the file name stem and the tag byte."""

    HPKE = ("hpke", 0x01)
    MASK = ("mask", 0x02)

    @property
    def file_name(self) -> str:
        """Name of the key file inside the node's key folder."""
        return f"{self.value[0]}.key"

    @property
    def tag(self) -> int:
        """Purpose tag written after the version byte."""
        return self.value[1]


@dataclass(frozen=True)
class KeyPair:
    """A raw X25519 key pair; the private half is kept out of ``repr``.

    Raises
    ------
    InvalidInputError
        At construction, when a key is not 32 bytes or the public key does not
        belong to the private key.

    """

    private_key: bytes = field(repr=False)
    public_key: bytes

    def __post_init__(self) -> None:
        """Check sizes and that both halves belong together."""
        if len(self.public_key) != X25519_KEY_BYTES:
            raise InvalidInputError(f"expected 32 bytes, received {len(self.public_key)}", field="public_key")
        if x25519_public_key(self.private_key) != self.public_key:
            raise InvalidInputError("public key does not match the private key", field="public_key")

    @classmethod
    def from_private(cls, private_key: bytes) -> KeyPair:
        """Build the pair from a raw 32-byte private key."""
        return cls(private_key=private_key, public_key=x25519_public_key(private_key))

    @classmethod
    def generate(cls, *, random_bytes: RandomBytes = os.urandom) -> KeyPair:
        """Draw a fresh pair from ``random_bytes`` (``os.urandom`` outside tests)."""
        return cls.from_private(x25519_generate_private(random_bytes))


@dataclass(frozen=True)
class NodeKeys:
    """The node's two long-term key pairs.

    Attributes
    ----------
    hpke
        Receives HPKE-sealed tokens and seeds.
    mask
        Agrees pairwise aggregation masks.

    """

    hpke: KeyPair
    mask: KeyPair

    @classmethod
    def load_or_create(cls, folder: Path, *, random_bytes: RandomBytes = os.urandom) -> NodeKeys:
        """Load both key pairs from ``folder``, creating any that is missing.

        A new key file is written to a temporary name and hard-linked into
        place, so a crash never leaves a half-written key and two processes
        racing to create the same key both end up using the one that won.

        Parameters
        ----------
        folder
            The node's key folder; created with mode 0700 when absent.
        random_bytes
            Randomness for new keys (injectable for tests).

        Returns
        -------
        NodeKeys
            The loaded or freshly created keys.

        Raises
        ------
        KeyFileError
            When a key file is readable by group or others, malformed, or of
            the wrong purpose, or the folder cannot be written.

        """
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KeyFileError(f"cannot create key folder {folder}") from exc
        pairs = {
            purpose: _load_or_create(folder / purpose.file_name, purpose, random_bytes)
            for purpose in KeyPurpose
        }
        return cls(hpke=pairs[KeyPurpose.HPKE], mask=pairs[KeyPurpose.MASK])


def retire_node_keys(folder: Path, *, suffix: str) -> list[Path]:
    """Move the node's key files aside (``retired/<name>.<suffix>``) so new ones are made at start-up.

    The next :meth:`NodeKeys.load_or_create` draws fresh pairs; the node then publishes a new
    bundle signed by its certificate key, which peers accept as a rotation (issue #11).

    Raises
    ------
    KeyFileError
        When a file cannot be moved.

    """
    retired = folder / "retired"
    moved: list[Path] = []
    try:
        retired.mkdir(mode=0o700, parents=True, exist_ok=True)
        for purpose in KeyPurpose:
            path = folder / purpose.file_name
            if path.exists():
                target = retired / f"{purpose.file_name}.{suffix}"
                path.rename(target)
                moved.append(target)
    except OSError as exc:
        raise KeyFileError(f"cannot retire the keys in {folder}") from exc
    return moved


def _load_or_create(path: Path, purpose: KeyPurpose, random_bytes: RandomBytes) -> KeyPair:
    if not path.exists():
        pair = KeyPair.generate(random_bytes=random_bytes)
        _write_new(path, bytes([KEY_FILE_VERSION, purpose.tag]) + pair.private_key)
    return _load(path, purpose)


def _write_new(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # When another process created the key first, keep theirs; _load reads it.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _load(path: Path, purpose: KeyPurpose) -> KeyPair:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        content = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}") from exc
    if mode & 0o077:
        raise KeyFileError(f"key file {path} must have mode 0600, found {mode:04o}")
    expected = bytes([KEY_FILE_VERSION, purpose.tag])
    if len(content) != 2 + X25519_KEY_BYTES or content[:2] != expected:
        raise KeyFileError(
            f"key file {path} is not a version-{KEY_FILE_VERSION} {purpose.value[0]} key "
            f"(expected {2 + X25519_KEY_BYTES} bytes starting {expected.hex()})"
        )
    return KeyPair.from_private(content[2:])
