"""``credgate doctor``: check a node's configuration and say in plain words what is wrong.

Each check returns a :class:`Finding`; a failed check does not stop the later
ones unless they depend on it (no TLS identity, no bureau call).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.identity.revocation import EXPIRY_WARNING
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import bureau_client
from gateway.node.federation_health import PartState, flower_parts
from gateway.policy import PolicyDecisionPoint
from gateway.store.database import open_store

CERT_RENEWAL_WINDOW = dt.timedelta(days=30)
FEDERATED_ENV = "CREDGATE_FEDERATED"
CLOCK_SKEW_WARN = dt.timedelta(seconds=2)
CLOCK_SKEW_FAIL = dt.timedelta(seconds=60)


class Severity(enum.StrEnum):
    """How bad a finding is."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """The result of one check."""

    check: str
    severity: Severity
    message: str


def diagnose(
    config: Path, *, now: Callable[[], dt.datetime], environ: Mapping[str, str] | None = None
) -> Iterator[Finding]:
    """Run every check on the node configured by ``config``, yielding findings in order.

    ``environ`` is the command's environment (``CREDGATE_FEDERATED`` and the relay override
    decide which Flower parts are expected); none by default.
    """
    try:
        settings = Settings.from_file(config)
    except GatewayError as exc:
        yield Finding("configuration", Severity.FAIL, exc.message)
        return
    yield Finding("configuration", Severity.OK, f"{config} read; node {settings.member_id}")
    try:
        identity = TLSIdentity.from_settings(settings.tls, clock=now)
    except GatewayError as exc:
        yield Finding("certificates", Severity.FAIL, exc.message)
        return
    yield from _check_certificate(settings, identity, now())
    yield _check_revocation(settings, identity, now())
    yield _check_store(settings)
    yield _check_policies(settings, identity)
    yield from _check_flower(settings, environ or {})
    yield from _check_bureau(settings, identity, now)


def _check_certificate(settings: Settings, identity: TLSIdentity, now: dt.datetime) -> Iterator[Finding]:
    own = identity.own
    if own.member_id != settings.member_id:
        yield Finding(
            "certificates",
            Severity.FAIL,
            f"the certificate is for {own.member_id!r} but the "
            f"configuration says node.member_id = {settings.member_id!r}",
        )
    elif own.not_after <= now:
        yield Finding(
            "certificates",
            Severity.FAIL,
            f"the certificate expired on {own.not_after:%Y-%m-%d}; "
            "ask the bureau for a new one (credgate ca issue)",
        )
    elif identity.expires_within(CERT_RENEWAL_WINDOW, now=now):
        yield Finding(
            "certificates", Severity.WARN, f"the certificate expires on {own.not_after:%Y-%m-%d}; renew it"
        )
    else:
        yield Finding(
            "certificates",
            Severity.OK,
            f"{own.role.value} certificate for {own.member_id}, issued by "
            f"the configured CA, valid until {own.not_after:%Y-%m-%d}",
        )


def _check_revocation(settings: Settings, identity: TLSIdentity, now: dt.datetime) -> Finding:
    if settings.tls.crl is None:
        return Finding(
            "revocation", Severity.WARN, "no [tls] crl configured: revoked certificates will be accepted"
        )
    try:
        identity.revocations.check(identity.own.serial)
    except GatewayError as exc:
        return Finding("revocation", Severity.FAIL, f"{exc.message} (CRL {settings.tls.crl})")
    crl = x509.load_pem_x509_crl(settings.tls.crl.read_bytes())
    next_update = crl.next_update_utc
    if next_update is not None and next_update - now <= EXPIRY_WARNING:
        return Finding(
            "revocation",
            Severity.WARN,
            f"the revocation list expires at {next_update:%Y-%m-%d %H:%M}Z, after which this node "
            "refuses every call; have the CA run `credgate ca crl` and copy crl.pem here",
        )
    until = f", valid until {next_update:%Y-%m-%d %H:%M}Z" if next_update is not None else ""
    return Finding(
        "revocation", Severity.OK, f"this certificate is not revoked ({len(crl)} revoked in the CRL{until})"
    )


def _check_store(settings: Settings) -> Finding:
    try:
        store = open_store(settings.store_url)
    except GatewayError as exc:
        return Finding("store", Severity.FAIL, exc.message)
    dialect = store.dialect_name
    store.close()
    return Finding("store", Severity.OK, f"{dialect} store opens and its schema is current")


def _check_policies(settings: Settings, identity: TLSIdentity) -> Finding:
    try:
        PolicyDecisionPoint.from_directory(
            settings.policies_dir, node_id=identity.own.member_id, node_role=identity.own.role
        )
    except GatewayError as exc:
        return Finding("policies", Severity.FAIL, exc.message)
    return Finding("policies", Severity.OK, f"Cedar policies in {settings.policies_dir} validate")


def _check_flower(settings: Settings, environ: Mapping[str, str]) -> Iterator[Finding]:
    try:
        parts = flower_parts(
            settings, environ=environ, force_enabled=environ.get(FEDERATED_ENV, "") in {"1", "true"}
        )
    except GatewayError as exc:
        yield Finding("federation", Severity.FAIL, exc.message)
        return
    for part in parts:
        if part.state is PartState.OFF:
            yield Finding("federation", Severity.OK, f"Flower parts not enabled ({part.detail})")
        else:
            severity = Severity.OK if part.state is PartState.UP else Severity.FAIL
            yield Finding(f"federation: {part.name}", severity, part.detail)


def _check_bureau(
    settings: Settings, identity: TLSIdentity, now: Callable[[], dt.datetime]
) -> Iterator[Finding]:
    try:
        with bureau_client(settings, identity) as client:
            status = client.health()
            before = now()
            # The directory carries the bureau's clock; a heartbeat would overwrite the node's own report.
            bureau_time = client.directory()[1]
            after = now()
    except GatewayError as exc:
        yield Finding("bureau", Severity.FAIL, f"cannot reach the bureau over mTLS: {exc.message}")
        return
    yield Finding(
        "bureau",
        Severity.OK if status == "SERVING" else Severity.FAIL,
        f"bureau at {client.address} answers health checks: {status}",
    )
    skew = abs(bureau_time - (before + (after - before) / 2))
    if skew >= CLOCK_SKEW_FAIL:
        yield Finding(
            "clock",
            Severity.FAIL,
            f"this clock differs from the bureau's by {skew.total_seconds():.1f} s;"
            " fix NTP: query times and contact hours depend on it",
        )
    elif skew >= CLOCK_SKEW_WARN:
        yield Finding(
            "clock", Severity.WARN, f"this clock differs from the bureau's by {skew.total_seconds():.1f} s"
        )
    else:
        yield Finding("clock", Severity.OK, f"clock within {skew.total_seconds():.2f} s of the bureau's")
