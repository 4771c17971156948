"""Per-day keyed tags and entrustment grants, without servers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

from gateway.clock import local_date, system_clock
from gateway.contact.grants import GrantInvalid, sign_grant, verify_grant
from gateway.contact.keys import (
    MembersSecretDailyKeys,
    day_from_number,
    debtor_tag,
    local_day_number,
    number_tag,
)
from gateway.crypto.members_secret import MembersSecret, MembersSecretStore
from gateway.demo.provision import provision_ca
from gateway.errors import ConfigError, NotFoundError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.store.enums import ContactChannel

TOKEN = os.urandom(64)


def day_keys(folder: Path, *epochs: int) -> MembersSecretDailyKeys:
    """A member's day keys over a members'-secret store holding random ``epochs``."""
    store = MembersSecretStore(folder)
    for epoch in epochs:
        store.install(MembersSecret(epoch, os.urandom(32)))
    return MembersSecretDailyKeys(store)


def test_tags_depend_on_the_secret_the_epoch_the_day_and_what_they_name(tmp_path: Path) -> None:
    keys = day_keys(tmp_path / "a", 1, 2)
    today = local_date(system_clock())
    k1, k2 = keys.key_for(today, epoch=1), keys.key_for(today + dt.timedelta(days=1), epoch=1)

    assert keys.current_epoch() == 2 and keys.holds(1) and not keys.holds(3)
    assert debtor_tag(k1, TOKEN) == debtor_tag(keys.key_for(today, epoch=1), TOKEN)
    assert debtor_tag(k1, TOKEN) != debtor_tag(k2, TOKEN)
    assert debtor_tag(k1, TOKEN) != debtor_tag(keys.key_for(today, epoch=2), TOKEN)
    assert debtor_tag(k1, TOKEN) != number_tag(k1, TOKEN)
    assert debtor_tag(k1, TOKEN) != debtor_tag(day_keys(tmp_path / "b", 1).key_for(today, epoch=1), TOKEN)
    assert day_from_number(local_day_number(today)) == today
    with pytest.raises(NotFoundError):
        keys.key_for(today, epoch=3)


def test_the_day_key_is_the_members_secret_derived_for_contact_clearance(tmp_path: Path) -> None:
    # The key every member derives for a day: purpose "contact-clearance", the day as context.
    secret = MembersSecret(4, os.urandom(32))
    store = MembersSecretStore(tmp_path)
    store.install(secret)
    today = local_date(system_clock())

    key = MembersSecretDailyKeys(store).key_for(today, epoch=4)

    assert key == secret.derive("contact-clearance", today.isoformat().encode("ascii"))
    assert key != secret.derive("report-pseudonym", today.isoformat().encode("ascii"))


def test_a_member_without_the_members_secret_cannot_clear(tmp_path: Path) -> None:
    keys = MembersSecretDailyKeys(MembersSecretStore(tmp_path / "empty"))

    assert not keys.holds(1)
    with pytest.raises(ConfigError, match="members-secret create"):
        keys.current_epoch()


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return provision_ca(tmp_path / "ca", now=system_clock())


def issue(authority: CertificateAuthority, tmp_path: Path, member: str, role: Role) -> tuple[bytes, bytes]:
    issued = authority.issue(member_id=member, role=role, out_dir=tmp_path / member, now=system_clock())
    return issued.cert_path.read_bytes(), issued.key_path.read_bytes()


def test_a_lenders_grant_verifies_and_any_change_breaks_it(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    cert, key = issue(authority, tmp_path, "bank-1", Role.BANK)
    grant = sign_grant(
        lender_member_id="bank-1",
        agency_member_id="agency-1",
        local_day=local_day_number(local_date(system_clock())),
        tag_key_epoch=1,
        debtor_tag=os.urandom(32),
        channels=frozenset({ContactChannel.PHONE}),
        third_party_allowed=False,
        certificate_pem=cert,
        key_pem=key,
    )
    ca = issued_ca(tmp_path, "bank-1")

    assert (
        verify_grant(grant, ca_certificate_pem=ca, now=system_clock(), revocations=None).member_id == "bank-1"
    )
    for change in (
        {"agency_member_id": "agency-2"},
        {"local_day": grant.local_day + 1},
        {"debtor_tag": os.urandom(32)},
        {"third_party_allowed": True},
        {"channels": frozenset({ContactChannel.PHONE, ContactChannel.VISIT})},
        {"lender_member_id": "bank-2"},
    ):
        with pytest.raises(GrantInvalid):
            verify_grant(
                dataclasses.replace(grant, **change),
                ca_certificate_pem=ca,
                now=system_clock(),
                revocations=None,
            )


def test_an_agency_cannot_sign_a_grant(authority: CertificateAuthority, tmp_path: Path) -> None:
    cert, key = issue(authority, tmp_path, "agency-1", Role.AGENCY)
    grant = sign_grant(
        lender_member_id="agency-1",
        agency_member_id="agency-1",
        local_day=1,
        tag_key_epoch=1,
        debtor_tag=os.urandom(32),
        channels=frozenset({ContactChannel.PHONE}),
        third_party_allowed=False,
        certificate_pem=cert,
        key_pem=key,
    )

    with pytest.raises(GrantInvalid, match="not signed by the lender"):
        verify_grant(
            grant, ca_certificate_pem=issued_ca(tmp_path, "agency-1"), now=system_clock(), revocations=None
        )


def issued_ca(tmp_path: Path, member: str) -> bytes:
    return next((tmp_path / member).glob("ca*.pem")).read_bytes()
