"""SecAgg+ public keys bound to the members' certificates (issue #13, finding 7).

Flower's SecAgg+ lets the server relay each member's two public keys (``pk1`` for the
pairwise masks, ``pk2`` for encrypting key shares) and trusts it to relay them faithfully:
a server that swaps in keys of its own reads every key share meant for that member, and
one that invents members holds all of their shares. Here each member signs
``(run id, node id, pk1, pk2)`` at setup with its TLS key (label
``credgate/v1/secagg-keys``, :mod:`gateway.crypto.signatures`) and sends the signature with
its certificate. The bureau relays them next to the keys (``binding:<node id>``); before a
member encrypts a single share it checks every neighbour's signature against the consortium
CA (and CRL), that the signer is a lender, and that no member appears twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Mapping
from pathlib import Path

from flwr.common.secure_aggregation.secaggplus_constants import Key

from federated.errors import FederatedError, RunConfigError
from gateway.config import TLSSettings
from gateway.crypto.signatures import SignatureInvalid, sign_with_tls_key, verify_with_certificate
from gateway.identity.tls import TLSIdentity

__all__ = [
    "BINDING_PREFIX",
    "CERT_KEY",
    "KEY_BINDING_LABEL",
    "SIGNATURE_KEY",
    "KeyBindingRefused",
    "binding_message",
    "credentials_from_node_config",
    "sign_keys",
    "verify_neighbours",
]

KEY_BINDING_LABEL = b"credgate/v1/secagg-keys"
#: Keys a member adds to its setup reply next to ``pk1`` and ``pk2``.
CERT_KEY, SIGNATURE_KEY = "cert", "sig"
#: Prefix of the share-keys entries the bureau relays: ``binding:<node id>`` = [cert, sig].
BINDING_PREFIX = "binding:"
_NODE_CONFIG_PATHS = {"ca_cert": "ca-cert", "cert": "tls-cert", "key": "tls-key"}


class KeyBindingRefused(FederatedError):
    """A neighbour's SecAgg+ keys are not bound to a certified lender; the member takes no part."""

    reason = "secagg_key_unbound"


def credentials_from_node_config(node_config: Mapping[str, object]) -> TLSIdentity:
    """Load the member's key, certificate and CA from node config ``tls-key``, ``tls-cert``, ``ca-cert``.

    Raises
    ------
    RunConfigError
        Naming the first missing key.
    IdentityError
        When a file cannot be read or the certificate was not issued by the CA.

    """
    paths: dict[str, Path] = {}
    for field, key in _NODE_CONFIG_PATHS.items():
        value = node_config.get(key)
        if value in (None, ""):
            raise RunConfigError(f"{key}: the node config names no file; SecAgg+ keys must be signed")
        paths[field] = Path(str(value))
    crl = node_config.get("crl")
    return _identity(TLSSettings(crl=Path(str(crl)) if crl not in (None, "") else None, **paths))


@functools.lru_cache(maxsize=8)
def _identity(settings: TLSSettings) -> TLSIdentity:
    # Loaded once per process; the revocation list inside reloads itself when its file changes.
    return TLSIdentity.from_settings(settings)


def binding_message(run_id: int, node_id: int, pk1: bytes, pk2: bytes) -> bytes:
    """``run id (8 bytes) || node id (8 bytes) || len(pk1) (2) || pk1 || len(pk2) (2) || pk2``."""
    return struct.pack(">QQH", run_id, node_id, len(pk1)) + pk1 + struct.pack(">H", len(pk2)) + pk2


def sign_keys(
    identity: TLSIdentity, *, run_id: int, node_id: int, pk1: bytes, pk2: bytes
) -> dict[str, bytes]:
    """The entries a member adds to its setup reply: its certificate and its signature over the keys."""
    signature = sign_with_tls_key(
        KEY_BINDING_LABEL, binding_message(run_id, node_id, pk1, pk2), identity.key_pem, field="tls-key"
    )
    return {CERT_KEY: identity.cert_pem, SIGNATURE_KEY: signature}


def verify_neighbours(
    configs: Mapping[str, object], identity: TLSIdentity, *, run_id: int, own_node: int, now: dt.datetime
) -> dict[str, object]:
    """Check every neighbour's binding in a share-keys message; return the message without them.

    Raises
    ------
    KeyBindingRefused
        When a neighbour's binding is missing or invalid, its signer is not a lender, or
        one certified member (this one included) stands behind two node ids.

    """
    keys = {k: v for k, v in configs.items() if not k.startswith(BINDING_PREFIX)}
    seen = {identity.own.member_id: own_node}
    for node_text, value in keys.items():
        if node_text == Key.STAGE:
            continue
        if not node_text.isdigit():
            raise KeyBindingRefused(f"{node_text}: expected a node id")
        if int(node_text) == own_node:
            continue
        pk1, pk2 = _pair(value, node_text)
        cert_pem, signature = _pair(configs.get(BINDING_PREFIX + node_text), f"{BINDING_PREFIX}{node_text}")
        try:
            signer = verify_with_certificate(
                KEY_BINDING_LABEL,
                binding_message(run_id, int(node_text), pk1, pk2),
                signature,
                cert_pem,
                ca_certificate_pem=identity.ca_pem,
                now=now,
                revocation=identity.revocations,
            )
        except SignatureInvalid as exc:
            raise KeyBindingRefused(
                f"node {node_text}: no valid signature by a certified member: {exc}"
            ) from exc
        if not signer.role.is_lender:
            raise KeyBindingRefused(f"node {node_text}: signed by a {signer.role.value}, not a lender")
        if signer.member_id in seen:
            raise KeyBindingRefused(
                f"node {node_text}: member {signer.member_id!r} already holds node {seen[signer.member_id]}"
            )
        seen[signer.member_id] = int(node_text)
    return keys


def _pair(value: object, key: str) -> tuple[bytes, bytes]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, bytes) for v in value)):
        raise KeyBindingRefused(f"{key}: expected two byte strings")
    return value[0], value[1]
