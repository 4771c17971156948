"""Entrustment grants between a lender and its agencies: issued by the lender, kept by the agency.

The lender records which accounts it entrusted to which agency, on what terms and until when
(``Entrustments``), and issues, for every entrusted debtor and every day ahead, a grant signed
with its certificate key (``gateway.contact.grants``). The grants travel to the agency in a file
with the rest of the entrustment (the grants file holds member ids, days, keyed tags and
signatures: no identifier). The agency verifies and keeps them; its dialer library presents
the day's grant with each clearance.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.contact.grants import GrantInvalid, sign_grant, verify_grant
from gateway.contact.keys import DailyKeyProvider, debtor_tag, local_day_number
from gateway.contact.messages import EntrustmentGrant
from gateway.contact.tokens import Tokeniser, debtor_tokens
from gateway.errors import ImportFileError, InvalidInputError
from gateway.identity.peer import Peer
from gateway.store.database import Store
from gateway.store.enums import ContactChannel
from gateway.store.repositories.contact_member import Entrustments, GrantRecord, Grants

__all__ = ["GRANTS_FILE_VERSION", "grants_payload", "import_grants", "issue_grants", "read_grants_file"]

GRANTS_FILE_VERSION = 1


def issue_grants(
    store: Store,
    me: Peer,
    *,
    agency: str,
    days: Sequence[dt.date],
    day_keys: DailyKeyProvider,
    tokeniser: Tokeniser,
    certificate_pem: bytes,
    key_pem: bytes,
    now: dt.datetime,
) -> list[EntrustmentGrant]:
    """Sign a grant for every debtor entrusted to ``agency`` on each of ``days``.

    Raises
    ------
    InvalidInputError
        When this member is not a lender.

    """
    if not me.role.is_lender:
        raise InvalidInputError("only a lender entrusts accounts", field="role")
    registry = Entrustments(store)
    epoch = day_keys.current_epoch()
    grants: list[EntrustmentGrant] = []
    for day in days:
        live = registry.live(day, agency=agency)
        tokens = debtor_tokens(store, tokeniser, [e.borrower_id for e in live], now=now)[1]
        day_key = day_keys.key_for(day, epoch=epoch)
        # One grant per debtor and day: two accounts of one debtor merge their terms.
        terms: dict[int, tuple[frozenset[ContactChannel], bool]] = {}
        for entrustment in live:
            channels, third = terms.get(entrustment.borrower_id, (frozenset(), False))
            terms[entrustment.borrower_id] = (
                channels | entrustment.channels,
                third or entrustment.third_party_allowed,
            )
        for borrower_id, (channels, third) in sorted(terms.items()):
            grants.append(
                sign_grant(
                    lender_member_id=me.member_id,
                    agency_member_id=agency,
                    local_day=local_day_number(day),
                    tag_key_epoch=epoch,
                    debtor_tag=debtor_tag(day_key, tokens[borrower_id]),
                    channels=channels,
                    third_party_allowed=third,
                    certificate_pem=certificate_pem,
                    key_pem=key_pem,
                )
            )
    return grants


def grants_payload(grants: Sequence[EntrustmentGrant], *, lender: str, agency: str) -> dict[str, Any]:
    """The grants file's JSON content (base64 values: no long digit runs for the file guard)."""
    certificate = grants[0].lender_certificate_der if grants else b""
    return {
        "version": GRANTS_FILE_VERSION,
        "lender": lender,
        "agency": agency,
        "certificate": _b64(certificate),
        "grants": [
            {
                "day": g.local_day,
                "epoch": g.tag_key_epoch,
                "tag": _b64(g.debtor_tag),
                "channels": sorted(c.value for c in g.channels),
                "third_party": g.third_party_allowed,
                "signature": _b64(g.signature),
            }
            for g in grants
        ],
    }


def read_grants_file(path: Path) -> list[EntrustmentGrant]:
    """Parse a grants file written by ``credgate contact entrust``.

    Raises
    ------
    ImportFileError
        When the file is unreadable or not a grants file of a known version.

    """
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["version"] != GRANTS_FILE_VERSION:
            raise ValueError(f"unknown version {payload['version']}")
        certificate = base64.b64decode(payload["certificate"], validate=True)
        return [
            EntrustmentGrant(
                lender_member_id=str(payload["lender"]),
                agency_member_id=str(payload["agency"]),
                local_day=int(item["day"]),
                tag_key_epoch=int(item["epoch"]),
                debtor_tag=base64.b64decode(item["tag"], validate=True),
                channels=frozenset(ContactChannel(c) for c in item["channels"]),
                third_party_allowed=bool(item["third_party"]),
                lender_certificate_der=certificate,
                signature=base64.b64decode(item["signature"], validate=True),
            )
            for item in payload["grants"]
        ]
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ImportFileError(f"{path} is not a grants file from `credgate contact entrust`: {exc}") from exc


def import_grants(
    store: Store,
    me: Peer,
    grants: Sequence[EntrustmentGrant],
    *,
    ca_certificate_pem: bytes,
    now: dt.datetime,
) -> int:
    """Verify and keep grants addressed to this agency; returns how many were kept.

    Raises
    ------
    InvalidInputError
        When a grant names another agency or does not verify against the consortium CA;
        nothing is kept then.

    """
    records: list[GrantRecord] = []
    for index, grant in enumerate(grants):
        if grant.agency_member_id != me.member_id:
            raise InvalidInputError(
                f"grant for {grant.agency_member_id!r}, not this agency", field=f"grants[{index}]"
            )
        try:
            verify_grant(grant, ca_certificate_pem=ca_certificate_pem, now=now, revocations=None)
        except GrantInvalid as exc:
            raise InvalidInputError(str(exc), field=f"grants[{index}]") from exc
        records.append(
            GrantRecord(
                grant.local_day,
                grant.debtor_tag,
                grant.lender_member_id,
                grant.agency_member_id,
                grant.tag_key_epoch,
                grant.channels,
                grant.third_party_allowed,
                grant.version,
                grant.lender_certificate_der,
                grant.signature,
            )
        )
    return Grants(store).save(records)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
