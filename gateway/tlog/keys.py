"""Log identities: origins, key names, and the statement binding a node's Ed25519 log key to its certificate.

A node signs its checkpoints and co-signatures with one Ed25519 key
(``gateway.crypto.ed25519``). The CA does not certify that key directly; the node vouches
for it with its consortium certificate's key (ECDSA P-256, ``gateway.crypto.signatures``)
over ``member id || log public key`` under the label ``credgate/v1/log-key``. Anyone holding
the CA certificate can check that binding offline, so checkpoints, co-signatures, evidence
and exported bundles verify years later without asking the bureau.

Names (schema-less, as C2SP recommends): a node's audit log is ``credgate/audit/<member>``,
the consortium key log ``credgate/keys``, a witness co-signs as ``credgate/witness/<member>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import ssl
from dataclasses import dataclass

from gateway.crypto.ed25519 import ED25519_KEY_BYTES
from gateway.crypto.encoding import length_prefixed
from gateway.crypto.signatures import (
    SerialCheck,
    SignatureInvalid,
    sign_with_tls_key,
    verify_with_certificate,
)
from gateway.identity.peer import Peer
from gateway.tlog.errors import NoteError
from gateway.tlog.note import COSIGNATURE_TYPE, ED25519_TYPE, NoteVerifier

__all__ = [
    "KEY_LOG_ORIGIN",
    "LOG_KEY_LABEL",
    "LogKeyStatement",
    "VerifiedLogKey",
    "audit_origin",
    "member_of_origin",
    "witness_name",
]

KEY_LOG_ORIGIN = "credgate/keys"
LOG_KEY_LABEL = b"credgate/v1/log-key"
_AUDIT_PREFIX = "credgate/audit/"
_WITNESS_PREFIX = "credgate/witness/"


def audit_origin(member_id: str) -> str:
    """The origin (and log key name) of ``member_id``'s audit log."""
    return f"{_AUDIT_PREFIX}{member_id}"


def witness_name(member_id: str) -> str:
    """The key name ``member_id`` co-signs under."""
    return f"{_WITNESS_PREFIX}{member_id}"


def member_of_origin(origin: str) -> str | None:
    """The member whose audit log ``origin`` names, or ``None`` for another log."""
    return origin[len(_AUDIT_PREFIX) :] if origin.startswith(_AUDIT_PREFIX) else None


@dataclass(frozen=True)
class LogKeyStatement:
    """A node's claim "this Ed25519 key is my log key", signed with its certificate key; unverified."""

    member_id: str
    public_key: bytes
    certificate_der: bytes
    signature: bytes

    @classmethod
    def create(
        cls, member_id: str, public_key: bytes, *, certificate_pem: bytes, tls_private_key_pem: bytes
    ) -> LogKeyStatement:
        """Sign the statement with the node's TLS key."""
        signature = sign_with_tls_key(
            LOG_KEY_LABEL, _message(member_id, public_key), tls_private_key_pem, field="tls_private_key_pem"
        )
        der = ssl.PEM_cert_to_DER_cert(certificate_pem.decode("ascii"))
        return cls(member_id, public_key, der, signature)

    def to_json(self) -> dict[str, str]:
        """A JSON-ready form (bytes as base64)."""
        return {
            "member_id": self.member_id,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "certificate": base64.b64encode(self.certificate_der).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, value: object) -> LogKeyStatement:
        """Parse :meth:`to_json`'s form.

        Raises
        ------
        NoteError
            When a field is missing or not base64.

        """
        if not isinstance(value, dict):
            raise NoteError("log key statement must be an object")
        try:
            return cls(
                str(value["member_id"]),
                base64.b64decode(str(value["public_key"]), validate=True),
                base64.b64decode(str(value["certificate"]), validate=True),
                base64.b64decode(str(value["signature"]), validate=True),
            )
        except (KeyError, ValueError) as exc:
            raise NoteError(f"malformed log key statement: {exc}") from exc

    def verify(
        self, *, ca_certificate_pem: bytes, at: dt.datetime, revocation: SerialCheck | None = None
    ) -> VerifiedLogKey:
        """Check the certificate against the CA (valid at ``at``) and the signature over the key.

        Raises
        ------
        NoteError
            On any failure, with one message (STYLE §4: crypto failures are coarse).

        """
        if len(self.public_key) != ED25519_KEY_BYTES:
            raise NoteError(f"log key of {self.member_id!r} is not an Ed25519 key")
        try:
            certificate_pem = ssl.DER_cert_to_PEM_cert(self.certificate_der).encode("ascii")
            signer = verify_with_certificate(
                LOG_KEY_LABEL,
                _message(self.member_id, self.public_key),
                self.signature,
                certificate_pem,
                ca_certificate_pem=ca_certificate_pem,
                now=at,
                revocation=revocation,
            )
        except (SignatureInvalid, ValueError) as exc:
            raise NoteError(f"log key statement of {self.member_id!r} failed verification") from exc
        if signer.member_id != self.member_id:
            raise NoteError(f"log key statement of {self.member_id!r} is signed by {signer.member_id!r}")
        return VerifiedLogKey(signer, self.public_key)


@dataclass(frozen=True)
class VerifiedLogKey:
    """A log key whose owner the consortium CA vouches for."""

    owner: Peer
    public_key: bytes

    @property
    def audit_verifier(self) -> NoteVerifier:
        """Verifies the owner's audit-log checkpoints."""
        return NoteVerifier(audit_origin(self.owner.member_id), self.public_key, ED25519_TYPE)

    def log_verifier(self, origin: str) -> NoteVerifier:
        """Verifies checkpoints the owner signs for ``origin`` (the bureau's key log)."""
        return NoteVerifier(origin, self.public_key, ED25519_TYPE)

    @property
    def witness_verifier(self) -> NoteVerifier:
        """Verifies the owner's co-signatures."""
        return NoteVerifier(witness_name(self.owner.member_id), self.public_key, COSIGNATURE_TYPE)


def _message(member_id: str, public_key: bytes) -> bytes:
    return length_prefixed(member_id.encode("utf-8")) + public_key
