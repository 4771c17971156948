"""The revocation list a node enforces on every call.

gRPC's Python TLS credentials cannot consult a CRL during the handshake, so the
server's identity interceptor asks :class:`RevocationList` about each caller's
serial. The list re-reads ``crl.pem`` when the file changes, so a revocation
takes effect on a running node without a restart.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography import x509

from gateway.errors import IdentityError


class RevocationList:
    """Revoked serials from a CA-signed CRL file, reloaded when the file changes.

    Parameters
    ----------
    path
        The CRL (PEM) published by ``credgate ca revoke``; ``None`` means no CRL
        is configured, and nothing is revoked.
    issuer
        The consortium CA certificate; a CRL not signed by it is refused.

    """

    def __init__(self, path: Path | None, issuer: x509.Certificate) -> None:
        self._path = path
        self._issuer = issuer
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._serials: frozenset[int] = frozenset()
        if path is not None:
            self._reload()

    def check(self, serial: int) -> None:
        """Raise when ``serial`` is revoked.

        Raises
        ------
        IdentityError
            When the certificate is revoked, or the CRL became unreadable
            (fail closed: an unreadable CRL refuses everyone).

        """
        if self._path is None:
            return
        self._reload()
        if serial in self._serials:
            raise IdentityError("certificate has been revoked", reason="certificate_revoked")

    def _reload(self) -> None:
        assert self._path is not None
        try:
            stat = self._path.stat()
        except OSError as exc:
            raise IdentityError(f"revocation list {self._path} cannot be read") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp == self._stamp:
                return
            self._serials = _load_serials(self._path, self._issuer)
            self._stamp = stamp


def _load_serials(path: Path, issuer: x509.Certificate) -> frozenset[int]:
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise IdentityError(f"revocation list {path} is not a readable PEM CRL") from exc
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise IdentityError(f"revocation list {path} is not signed by the consortium CA")
    return frozenset(entry.serial_number for entry in crl)
