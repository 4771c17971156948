"""The consortium key log: its leaves, and which certificate and keys of each member are accepted.

The bureau keeps the log (``credgate/keys``); every member mirrors it, co-signs it and replays
it. A leaf is canonical JSON with a ``type``:

``certificate``
    A certificate the CA issued (DER, member id, role, serial, SHA-256 fingerprint).
``revocation``
    A certificate the CA revoked.
``keys``
    A node's published keys under one of its certificates: the signed HPKE/mask bundle
    (members) and the Ed25519 log key with its certificate-key signature (every node).
``confirmation``
    A member's statement, signed with the log key it had before, that a new certificate
    (and log key) is its own: the only way a second certificate for a member id is accepted.

:func:`replay` reads the leaves in order and decides, for each member: the first
certificate and keys ever logged are accepted (trust on first use, inside the witnessed log);
any later certificate or log key waits for the owner's confirmation; a revoked certificate
is never accepted again. It verifies every signature against the CA on the way, so a leaf
the CA or the member did not sign has no effect.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import ssl
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from gateway.crypto.bundle import KeyBundle, verify_bundle
from gateway.crypto.ed25519 import Ed25519Key, ed25519_verify
from gateway.crypto.errors import KeyBundleError
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import peer_from_certificate
from gateway.tlog.errors import NoteError
from gateway.tlog.keys import LogKeyStatement

__all__ = [
    "KEY_LOG",
    "CertificateState",
    "KeyLogEntry",
    "MemberKeyState",
    "certificate_entry",
    "confirmation_entry",
    "decode_entry",
    "encode_entry",
    "keys_entry",
    "replay",
    "revocation_entry",
]

KEY_LOG = "keys"
"""Name of the key log (the bureau's, or a member's mirror) in ``tlog_nodes``/``tlog_entries``."""
CONFIRMATION_LABEL = b"credgate/v1/key-rotation-confirmation\n"
ACCEPTED, PENDING, REVOKED = "accepted", "pending_confirmation", "revoked"


class _AnyRevocation:
    """Revocation is judged from the log's own revocation leaves, not the CRL, during replay."""

    def check(self, serial: int) -> None:
        """Accept every serial (see :func:`replay`)."""


KeyLogEntry = dict[str, Any]


def encode_entry(entry: KeyLogEntry) -> bytes:
    """Canonical bytes of a leaf: sorted keys, compact, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_entry(data: bytes) -> KeyLogEntry:
    """Parse a leaf; it must be canonical and name its type.

    Raises
    ------
    InvalidInputError
        When the bytes are not canonical JSON of an object with a ``type``.

    """
    try:
        entry = json.loads(data)
    except ValueError as exc:
        raise InvalidInputError(f"key-log leaf is not JSON: {exc}", field="entry") from exc
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str) or encode_entry(entry) != data:
        raise InvalidInputError("key-log leaf must be canonical JSON naming its type", field="entry")
    return entry


def fingerprint(certificate_der: bytes) -> str:
    """SHA-256 of a DER certificate, hex (as in ``Peer.fingerprint``)."""
    return hashlib.sha256(certificate_der).hexdigest()


def certificate_entry(certificate_der: bytes) -> KeyLogEntry:
    """The leaf logging an issued certificate."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    peer = peer_from_certificate(certificate)
    return {
        "type": "certificate",
        "member_id": peer.member_id,
        "role": peer.role.value,
        "serial": f"{peer.serial:x}",
        "fingerprint": fingerprint(certificate_der),
        "not_after": peer.not_after.isoformat(),
        "certificate": _b64(certificate_der),
    }


def revocation_entry(member_id: str, serial: int, revoked_at: str) -> KeyLogEntry:
    """The leaf logging a revocation."""
    return {"type": "revocation", "member_id": member_id, "serial": f"{serial:x}", "revoked_at": revoked_at}


def keys_entry(
    statement: LogKeyStatement, *, bundle: KeyBundle | None = None, bundle_signature: bytes = b""
) -> KeyLogEntry:
    """The leaf logging a node's keys under the certificate of ``statement``."""
    entry: KeyLogEntry = {
        "type": "keys",
        "member_id": statement.member_id,
        "certificate_fingerprint": fingerprint(statement.certificate_der),
        "log_key": _b64(statement.public_key),
        "log_key_signature": _b64(statement.signature),
    }
    if bundle is not None:
        entry["bundle"] = _b64(bundle.to_bytes())
        entry["bundle_signature"] = _b64(bundle_signature)
    return entry


def confirmation_entry(
    member_id: str, certificate_fingerprint: str, new_log_key: bytes, *, previous_key: Ed25519Key
) -> KeyLogEntry:
    """A member's signed confirmation that ``certificate_fingerprint`` (and ``new_log_key``) are its own."""
    body: KeyLogEntry = {
        "type": "confirmation",
        "member_id": member_id,
        "certificate_fingerprint": certificate_fingerprint,
        "log_key": _b64(new_log_key),
        "signed_by": _b64(previous_key.public_key),
    }
    body["signature"] = _b64(previous_key.sign(CONFIRMATION_LABEL + encode_entry(body)))
    return body


@dataclass
class CertificateState:
    """One logged certificate of a member and whether peers accept it."""

    fingerprint: str
    serial: str
    role: str
    leaf_index: int
    certificate_der: bytes
    status: str


@dataclass
class MemberKeyState:
    """What the key log says about one member, after :func:`replay`."""

    member_id: str
    certificates: dict[str, CertificateState] = field(default_factory=dict)
    log_key: bytes | None = None
    # Leaf index of the newest accepted ``keys`` leaf per certificate fingerprint.
    accepted_keys: dict[str, int] = field(default_factory=dict)
    # ``keys`` leaves waiting for the owner's confirmation: leaf index -> (fingerprint, log key).
    pending_keys: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    confirmed: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    # The certificate binding of the accepted log key (copied into evidence and exports).
    statement: LogKeyStatement | None = None
    # Log key statements of every keys leaf, by leaf index (for confirmations that accept one).
    statements: dict[int, LogKeyStatement] = field(default_factory=dict)

    def certificate(self, fingerprint_hex: str) -> CertificateState | None:
        """The logged certificate with this fingerprint, if any."""
        return self.certificates.get(fingerprint_hex)

    def accepted_certificate(self, fingerprint_hex: str) -> bool:
        """Whether peers may use this certificate now."""
        state = self.certificates.get(fingerprint_hex)
        return state is not None and state.status == ACCEPTED


def replay(entries: list[bytes], *, ca_certificate_pem: bytes) -> dict[str, MemberKeyState]:
    """Decide each member's accepted certificates and keys from the log's leaves, in order.

    A leaf that fails verification (not issued by the CA, a bad signature) is noted in the
    member's ``problems`` and otherwise ignored; a leaf that is not canonical JSON likewise.
    """
    states: dict[str, MemberKeyState] = {}
    for index, data in enumerate(entries):
        try:
            entry = decode_entry(data)
            member_id = str(entry["member_id"])
        except (InvalidInputError, KeyError):
            continue
        state = states.setdefault(member_id, MemberKeyState(member_id))
        try:
            _apply(state, index, entry, ca_certificate_pem)
        except (GatewayError, KeyError, ValueError, TypeError) as exc:
            state.problems.append(f"leaf {index}: {getattr(exc, 'message', exc)}")
    return states


def _apply(state: MemberKeyState, index: int, entry: KeyLogEntry, ca_pem: bytes) -> None:
    kind = entry["type"]
    if kind == "certificate":
        der = _unb64(entry["certificate"])
        certificate = x509.load_der_x509_certificate(der)
        certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
        peer = peer_from_certificate(certificate)
        if peer.member_id != state.member_id or fingerprint(der) != entry["fingerprint"]:
            raise InvalidInputError("certificate leaf does not match its certificate", field="certificate")
        if entry["fingerprint"] in state.certificates:
            return
        first = not state.certificates
        confirmed = any(fp == entry["fingerprint"] for fp, _ in state.confirmed)
        status = ACCEPTED if first or confirmed else PENDING
        state.certificates[entry["fingerprint"]] = CertificateState(
            entry["fingerprint"], f"{peer.serial:x}", peer.role.value, index, der, status
        )
    elif kind == "revocation":
        for certificate_state in state.certificates.values():
            if certificate_state.serial == entry["serial"]:
                certificate_state.status = REVOKED
    elif kind == "keys":
        _apply_keys(state, index, entry, ca_pem)
    elif kind == "confirmation":
        _apply_confirmation(state, entry)
    else:
        raise InvalidInputError(f"unknown leaf type {kind!r}", field="type")


def _apply_keys(state: MemberKeyState, index: int, entry: KeyLogEntry, ca_pem: bytes) -> None:
    certificate_fp = entry["certificate_fingerprint"]
    certificate_state = state.certificates.get(certificate_fp)
    if certificate_state is None:
        raise InvalidInputError("keys leaf names a certificate the log does not hold", field="certificate")
    at = x509.load_der_x509_certificate(certificate_state.certificate_der).not_valid_before_utc
    statement = LogKeyStatement(
        state.member_id,
        _unb64(entry["log_key"]),
        certificate_state.certificate_der,
        _unb64(entry["log_key_signature"]),
    )
    statement.verify(ca_certificate_pem=ca_pem, at=at + dt.timedelta(seconds=1))
    state.statements[index] = statement
    if "bundle" in entry:
        bundle = KeyBundle.from_bytes(_unb64(entry["bundle"]))
        if bundle.member_id != state.member_id:
            raise InvalidInputError("bundle names another member", field="bundle")
        pem = ssl.DER_cert_to_PEM_cert(certificate_state.certificate_der).encode("ascii")
        try:
            verify_bundle(
                bundle,
                _unb64(entry["bundle_signature"]),
                pem,
                ca_certificate_pem=ca_pem,
                revocation=_AnyRevocation(),
                now=max(bundle.created_at, at + dt.timedelta(seconds=1)),
            )
        except KeyBundleError as exc:
            raise InvalidInputError("bundle signature does not verify", field="bundle") from exc
    log_key = statement.public_key
    if (
        state.log_key is None
        or state.log_key == log_key
        or (certificate_fp, _b64(log_key)) in state.confirmed
    ):
        if state.log_key is None:
            state.log_key, state.statement = log_key, statement
        if state.log_key == log_key:
            state.accepted_keys[certificate_fp] = index
            return
    state.pending_keys[index] = (certificate_fp, log_key)


def _apply_confirmation(state: MemberKeyState, entry: KeyLogEntry) -> None:
    signed_by = _unb64(entry["signed_by"])
    if state.log_key is None or signed_by != state.log_key:
        raise NoteError("confirmation is not signed by the member's accepted log key")
    body = {key: value for key, value in entry.items() if key != "signature"}
    if not ed25519_verify(signed_by, CONFIRMATION_LABEL + encode_entry(body), _unb64(entry["signature"])):
        raise NoteError("confirmation signature does not verify")
    certificate_fp, new_key = entry["certificate_fingerprint"], entry["log_key"]
    state.confirmed.add((certificate_fp, new_key))
    certificate_state = state.certificates.get(certificate_fp)
    if certificate_state is not None and certificate_state.status == PENDING:
        certificate_state.status = ACCEPTED
    for index, (fp, key) in sorted(state.pending_keys.items()):
        if fp == certificate_fp and _b64(key) == new_key:
            state.log_key, state.statement = key, state.statements[index]
            state.accepted_keys[fp] = index
            del state.pending_keys[index]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: object) -> bytes:
    if not isinstance(value, str):
        raise InvalidInputError("expected base64 text", field="entry")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError("expected base64 text", field="entry") from exc
