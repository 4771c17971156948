"""The revocation list a node enforces on every call.

gRPC's Python TLS credentials cannot consult a CRL during the handshake, so the
server's identity interceptor asks :class:`RevocationList` about each caller's
serial. The list re-reads ``crl.pem`` when the file changes, so a revocation
takes effect on a running node without a restart.

The CRL's ``nextUpdate`` is enforced (RFC 5280 §5.1.2.5): once it has passed, the
list can no longer say who was revoked since, so every call is refused (fail
closed) until the CA re-signs it (``credgate ca crl``). A warning is logged from
:data:`EXPIRY_WARNING` before that moment, once per re-read of the file and then
at most every :data:`WARNING_INTERVAL`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from gateway.clock import Clock, system_clock
from gateway.errors import IdentityError
from gateway.observability import metrics

EXPIRY_WARNING = dt.timedelta(days=2)
WARNING_INTERVAL = dt.timedelta(hours=1)
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    serials: frozenset[int]
    next_update: dt.datetime | None


class RevocationList:
    """Revoked serials from a CA-signed CRL file, reloaded when the file changes.

    Parameters
    ----------
    path
        The CRL (PEM) published by ``credgate ca revoke`` or ``credgate ca crl``; ``None``
        means no CRL is configured, and nothing is revoked.
    issuer
        The consortium CA certificate; a CRL not signed by it is refused.
    clock
        The current UTC time, compared with the CRL's ``nextUpdate``.

    """

    def __init__(self, path: Path | None, issuer: x509.Certificate, *, clock: Clock = system_clock) -> None:
        self._path = path
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._loaded = _Loaded(frozenset(), None)
        self._warned_at: dt.datetime | None = None
        if path is not None:
            self._reload()

    @property
    def next_update(self) -> dt.datetime | None:
        """When the loaded CRL stops being current (``None`` without a CRL)."""
        return self._loaded.next_update

    def check(self, serial: int) -> None:
        """Raise when ``serial`` is revoked or the list can no longer be trusted.

        Raises
        ------
        IdentityError
            When the certificate is revoked, the CRL became unreadable, or its
            ``nextUpdate`` has passed (fail closed: both refuse everyone).

        """
        if self._path is None:
            return
        self._reload()
        loaded = self._loaded
        self._check_current(loaded.next_update)
        if serial in loaded.serials:
            raise IdentityError("certificate has been revoked", reason="certificate_revoked")

    def _check_current(self, next_update: dt.datetime | None) -> None:
        if next_update is None:
            return
        now = self._clock()
        if now > next_update:
            raise IdentityError(
                f"revocation list {self._path} expired at {next_update:%Y-%m-%d %H:%M}Z; every call is "
                "refused until the CA re-signs it (credgate ca crl) and it is copied here",
                reason="crl_expired",
            )
        if next_update - now <= EXPIRY_WARNING and (
            self._warned_at is None or now - self._warned_at >= WARNING_INTERVAL
        ):
            self._warned_at = now
            _LOG.warning(
                "crl_expiring", extra={"crl": str(self._path), "next_update": next_update.isoformat()}
            )

    def _reload(self) -> None:
        assert self._path is not None
        try:
            stat = self._path.stat()
        except OSError as exc:
            raise IdentityError(f"revocation list {self._path} cannot be read") from exc
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if stamp == self._stamp:
                return
            self._loaded = _load(self._path, self._issuer)
            self._stamp = stamp
            self._warned_at = None
            if self._loaded.next_update is not None:
                metrics.CRL_NEXT_UPDATE.set(self._loaded.next_update.timestamp())


def _load(path: Path, issuer: x509.Certificate) -> _Loaded:
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise IdentityError(f"revocation list {path} is not a readable PEM CRL") from exc
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise IdentityError(f"revocation list {path} is not signed by the consortium CA")
    return _Loaded(frozenset(entry.serial_number for entry in crl), crl.next_update_utc)
