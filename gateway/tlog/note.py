r"""C2SP signed notes, tlog-checkpoints and tlog-cosignatures with Ed25519 keys.

* **Signed note** (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line,
  then signature lines ``— <key name> base64(key ID || signature)``. The key ID is
  ``SHA-256(name || 0x0A || type || public key)[:4]``; type ``0x01`` is a plain Ed25519
  signature over the text.
* **Checkpoint** (c2sp.org/tlog-checkpoint): a note whose text is the log's origin, its tree
  size in decimal and its RFC 6962 root in base64, one per line. The log signs it under the
  key name equal to its origin.
* **Co-signature** (c2sp.org/tlog-cosignature, Ed25519 type ``0x04``): a witness's signature
  line on a checkpoint, ``key ID || u64 timestamp || Ed25519("cosignature/v1\\ntime T\\n" ||
  checkpoint text)``: "as of time T, this is the largest consistent tree I have seen".

Verification follows the note rules: lines under keys the verifier does not know are
ignored; a line under a known key must verify or the whole note is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.crypto.ed25519 import ED25519_KEY_BYTES, ED25519_SIGNATURE_BYTES, Ed25519Key, ed25519_verify
from gateway.tlog.errors import NoteError
from gateway.tlog.merkle import HASH_SIZE

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "Checkpoint",
    "Cosignature",
    "NoteSigner",
    "NoteVerifier",
    "SignatureLine",
    "SignedNote",
    "cosign",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_cosignature",
]

ED25519_TYPE = 0x01
COSIGNATURE_TYPE = 0x04
_DASH = "\u2014 "
_MAX_SIGNATURES = 100
_COSIGNATURE_HEADER = "cosignature/v1\n"
_NAME = re.compile(r"[^\s+]+")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || type || public key)[:4]`` (signed-note, tlog-cosignature)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise NoteError(f"key name {name!r} is empty or holds a space or '+'")


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key: name, signature type (``0x01`` note, ``0x04`` co-signature) and Ed25519 key.

    Raises
    ------
    NoteError
        At construction, when the name is malformed, the type unknown or the key not 32 bytes.

    """

    name: str
    public_key: bytes
    signature_type: int = ED25519_TYPE

    def __post_init__(self) -> None:
        """Validate the name, type and key size."""
        _check_name(self.name)
        if self.signature_type not in (ED25519_TYPE, COSIGNATURE_TYPE):
            raise NoteError(f"signature type {self.signature_type:#04x} is not supported")
        if len(self.public_key) != ED25519_KEY_BYTES:
            raise NoteError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID that prefixes this key's signatures."""
        return key_id(self.name, self.signature_type, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hex(key ID)+base64(type || key)``."""
        encoded = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key string and check its key ID.

        Raises
        ------
        NoteError
            When the string is malformed or its key ID does not match.

        """
        parts = vkey.split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError("malformed verifier key")
        raw = _b64(parts[2], what="verifier key")
        if len(raw) != 1 + ED25519_KEY_BYTES:
            raise NoteError("malformed verifier key")
        verifier = cls(parts[0], raw[1:], raw[0])
        if verifier.key_id.hex() != parts[1]:
            raise NoteError("verifier key ID does not match its key")
        return verifier


@dataclass(frozen=True)
class NoteSigner:
    """Signs note texts with an Ed25519 key under ``name`` (type ``0x01``)."""

    name: str
    key: Ed25519Key

    def __post_init__(self) -> None:
        """Validate the key name."""
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, self.key.public_key, ED25519_TYPE)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse a ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` signer key (Go's note format).

        Raises
        ------
        NoteError
            When the string is malformed or its key ID does not match.

        """
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not re.fullmatch(r"[0-9a-f]{8}", parts[3]):
            raise NoteError("malformed signer key")
        raw = _b64(parts[4], what="signer key")
        if len(raw) != 1 + ED25519_KEY_BYTES or raw[0] != ED25519_TYPE:
            raise NoteError("malformed signer key")
        signer = cls(parts[2], Ed25519Key(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("signer key ID does not match its key")
        return signer

    def sign(self, text: str) -> SignatureLine:
        """The signature line of this key over ``text``."""
        return SignatureLine(self.name, self.verifier.key_id, self.key.sign(text.encode("utf-8")))


@dataclass(frozen=True)
class SignatureLine:
    """One ``— name base64(key ID || signature)`` line of a signed note."""

    name: str
    key_id: bytes
    signature: bytes

    def render(self) -> str:
        """The line, newline included."""
        payload = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH}{self.name} {payload}\n"

    @classmethod
    def parse(cls, line: str) -> SignatureLine:
        """Parse one signature line (without its newline).

        Raises
        ------
        NoteError
            When the line is not ``— name base64``, or the payload is shorter than a key ID.

        """
        if not line.startswith(_DASH):
            raise NoteError("malformed note")
        name, _, payload = line[len(_DASH) :].partition(" ")
        if not _NAME.fullmatch(name) or not payload or " " in payload:
            raise NoteError("malformed note")
        raw = _b64(payload, what="signature")
        if len(raw) < 5:
            raise NoteError("malformed note")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class SignedNote:
    """A note text and its signature lines, as received (nothing verified yet)."""

    text: str
    signatures: tuple[SignatureLine, ...]

    def render(self) -> str:
        """The note in its wire form."""
        return self.text + "\n" + "".join(line.render() for line in self.signatures)

    @classmethod
    def parse(cls, data: str | bytes) -> SignedNote:
        """Parse a signed note; the text is separated from the signatures by the last blank line.

        Raises
        ------
        NoteError
            "malformed note" when the encoding, the layout or a signature line is wrong.

        """
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise NoteError("malformed note") from None
        if _CONTROL.search(data) or not data.endswith("\n"):
            raise NoteError("malformed note")
        split = data.rfind("\n\n")
        if split < 0:
            raise NoteError("malformed note")
        text, block = data[: split + 1], data[split + 2 :]
        lines = block[:-1].split("\n") if block else []
        if not lines or len(lines) > _MAX_SIGNATURES:
            raise NoteError("malformed note")
        return cls(text, tuple(SignatureLine.parse(line) for line in lines))

    def with_signatures(self, lines: Iterable[SignatureLine]) -> SignedNote:
        """This note with ``lines`` added; a line already present (same name and key ID) is replaced."""
        merged = {(line.name, line.key_id): line for line in self.signatures}
        for line in lines:
            merged[(line.name, line.key_id)] = line
        return SignedNote(self.text, tuple(merged.values()))

    def verify(self, verifiers: Sequence[NoteVerifier]) -> list[NoteVerifier]:
        """Verify the lines of known keys; return the verifiers whose signature holds.

        Lines of unknown keys (name and key ID not both known) are ignored. Type ``0x04``
        verifiers check co-signatures (:func:`verify_cosignature`).

        Raises
        ------
        NoteError
            When a known key's line does not verify, or no known key signed the note.

        """
        verified: list[NoteVerifier] = []
        for verifier in verifiers:
            for line in self.signatures:
                if line.name != verifier.name or line.key_id != verifier.key_id:
                    continue
                if verifier.signature_type == COSIGNATURE_TYPE:
                    verify_cosignature(self.text, line, verifier)
                elif not ed25519_verify(verifier.public_key, self.text.encode("utf-8"), line.signature):
                    raise NoteError(f"invalid signature for key {verifier.name}+{verifier.key_id.hex()}")
                if verifier not in verified:
                    verified.append(verifier)
        if not verified:
            raise NoteError("note has no verifiable signatures")
        return verified


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root (c2sp.org/tlog-checkpoint), no extension lines.

    Raises
    ------
    NoteError
        At construction, when the origin is malformed, the size negative or the root not 32 bytes.

    """

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        """Validate the three fields."""
        _check_name(self.origin)
        if not isinstance(self.size, int) or self.size < 0:
            raise NoteError("checkpoint size must be a non-negative integer")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise NoteError("checkpoint root must be a 32-byte hash")

    def text(self) -> str:
        """The note text: three lines, each ending in a newline."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text.

        Raises
        ------
        NoteError
            When there are not exactly three lines, the size has leading zeros or the root is malformed.

        """
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a credgate checkpoint has exactly three lines (no extension lines)")
        origin, size, root = lines[:3]
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size):
            raise NoteError(f"checkpoint size {size!r} is not a decimal without leading zeros")
        return cls(origin, int(size), _b64(root, what="checkpoint root"))


@dataclass(frozen=True)
class Cosignature:
    """A verified co-signature: who co-signed which checkpoint, and when (POSIX seconds)."""

    cosigner: str
    timestamp: int
    line: SignatureLine


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> SignedNote:
    """The checkpoint as a note signed by the log (key name = origin).

    Raises
    ------
    NoteError
        When the signer's name is not the checkpoint's origin.

    """
    if signer.name != checkpoint.origin:
        raise NoteError(f"a log signs under its origin {checkpoint.origin!r}, not {signer.name!r}")
    text = checkpoint.text()
    return SignedNote(text, (signer.sign(text),))


def verify_checkpoint(note: SignedNote, log: NoteVerifier) -> Checkpoint:
    """The checkpoint of ``note`` once the log's own signature on it verifies.

    Raises
    ------
    NoteError
        When the log did not sign it, the signature fails, or the text is not a checkpoint
        of the log's origin.

    """
    if log.signature_type != ED25519_TYPE:
        raise NoteError("a log signs its checkpoints with a type 0x01 key")
    note.verify([log])
    checkpoint = Checkpoint.from_text(note.text)
    if checkpoint.origin != log.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not the log's key name {log.name!r}")
    return checkpoint


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


def cosign(text: str, *, name: str, key: Ed25519Key, timestamp: int) -> SignatureLine:
    """A witness's ``cosignature/v1`` line over a checkpoint's note text at ``timestamp``.

    Raises
    ------
    NoteError
        When the timestamp is negative or above ``2**63 - 1``.

    """
    if not 0 <= timestamp < 2**63:
        raise NoteError("co-signature timestamp out of range")
    verifier = NoteVerifier(name, key.public_key, COSIGNATURE_TYPE)
    signature = key.sign(_cosigned_message(text, timestamp))
    return SignatureLine(name, verifier.key_id, timestamp.to_bytes(8, "big") + signature)


def verify_cosignature(text: str, line: SignatureLine, cosigner: NoteVerifier) -> Cosignature:
    """Check one co-signature line over a checkpoint's text; return it with its timestamp.

    Raises
    ------
    NoteError
        When the line is not the cosigner's, is malformed, or its signature fails.

    """
    if cosigner.signature_type != COSIGNATURE_TYPE:
        raise NoteError("co-signatures are checked with type 0x04 keys")
    if line.name != cosigner.name or line.key_id != cosigner.key_id:
        raise NoteError(f"signature line is not from co-signer {cosigner.name}")
    if len(line.signature) != 8 + ED25519_SIGNATURE_BYTES:
        raise NoteError(f"malformed co-signature from {cosigner.name}")
    timestamp = int.from_bytes(line.signature[:8], "big")
    if timestamp >= 2**63 or not ed25519_verify(
        cosigner.public_key, _cosigned_message(text, timestamp), line.signature[8:]
    ):
        raise NoteError(f"invalid co-signature from {cosigner.name}")
    return Cosignature(cosigner.name, timestamp, line)


def _b64(value: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
