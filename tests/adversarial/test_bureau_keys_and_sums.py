"""The bureau substituting keys (finding 7) and shifting an answer (finding 9)."""

from __future__ import annotations

import contextlib
import ssl
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.clock import system_clock
from gateway.crypto.bundle import KeyBundle, sign_bundle
from gateway.crypto.errors import DecryptionError
from gateway.crypto.hpke import SealedBox, open_sealed
from gateway.crypto.keys import KeyPair
from gateway.errors import GatewayError, VerificationError
from gateway.identity.peer import Role
from gateway.node.bureau_client import BureauClient
from gateway.node.pins import PinStore
from gateway.node.session import member_session
from gateway.queries.subject_check.envelope import chunk_binding, envelope_info
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.queries.subject_check.router import RESPONDER_ROLES
from gateway.store import open_store
from gateway.store.models import Member

from .conftest import People, World


def _issue(world: World, member_id: str, role: Role, folder: Path) -> tuple[bytes, bytes]:
    """The bureau, running the CA, mints a certificate: (DER, key PEM)."""
    issued = world.authority.issue(member_id=member_id, role=role, out_dir=folder, now=system_clock())
    der = ssl.PEM_cert_to_DER_cert(issued.cert_path.read_text(encoding="ascii"))
    return der, issued.key_path.read_bytes()


def test_a_substituted_key_bundle_is_never_sealed_to(world: World, people: People, tmp_path: Path) -> None:
    person, consent, reason = people.take("bank-1")
    der, key_pem = _issue(world, "bank-2", Role.BANK, tmp_path / "minted")
    hpke, mask = KeyPair.generate(), KeyPair.generate()
    created = system_clock()
    bundle = KeyBundle("bank-2", hpke.public_key, mask.public_key, created)
    store = open_store(world.bureau.settings.store_url)
    try:
        with store.transaction() as session:
            row = session.get(Member, "bank-2")
            assert row is not None
            saved = (
                row.certificate_der,
                row.hpke_public_key,
                row.mask_public_key,
                row.keys_created_at,
                row.keys_signature,
            )
            row.certificate_der, row.hpke_public_key, row.mask_public_key = (
                der,
                hpke.public_key,
                mask.public_key,
            )
            row.keys_created_at, row.keys_signature = created, sign_bundle(bundle, key_pem)
        sent_before = len(world.bureau_recorder.messages(method="SubjectCheck", direction="received"))
        try:
            with member_session(world.settings["bank-1"]) as session:
                # With the key-log gate (issue #12) bank-2's unlogged certificate is refused outright and
                # the bureau then refuses a chunk without bank-2; without it, the pin is held. Either way
                # nothing is sealed to the minted keys.
                with contextlib.suppress(GatewayError):
                    session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
                pinned = session.pins().all_members().get("bank-2")
        finally:
            with store.transaction() as session:
                row = session.get(Member, "bank-2")
                assert row is not None
                (
                    row.certificate_der,
                    row.hpke_public_key,
                    row.mask_public_key,
                    row.keys_created_at,
                    row.keys_signature,
                ) = saved
    finally:
        store.close()
    opened = []
    for request in world.bureau_recorder.messages(method="SubjectCheck", direction="received")[sent_before:]:
        binding = chunk_binding(
            request.header.idempotency_key,
            request.chunk_index,
            request.subject_count,
            request.secret_epoch,
            list(request.dedup_tags),
        )
        for box in request.sealed:
            with contextlib.suppress(DecryptionError):
                open_sealed(
                    hpke.private_key,
                    SealedBox(box.enc, box.ciphertext),
                    info=envelope_info(binding, box.recipient_member_id),
                    aad=b"",
                )
                opened.append(box.recipient_member_id)

    assert opened == []
    assert pinned is None or pinned.bundle.hpke_public_key != hpke.public_key


def test_the_role_comes_from_the_certificate_not_the_directory(world: World, tmp_path: Path) -> None:
    der, key_pem = _issue(world, "bank-9", Role.BUREAU, tmp_path / "bureau-as-bank")
    hpke, mask = KeyPair.generate(), KeyPair.generate()
    created = system_clock()
    bundle = KeyBundle("bank-9", hpke.public_key, mask.public_key, created)
    store = open_store(world.bureau.settings.store_url)
    try:
        with store.transaction() as session:
            session.add(
                Member(
                    member_id="bank-9",
                    role=Role.BANK,  # the directory's word
                    address=world.bureau.address,
                    cert_fingerprint="0" * 64,
                    cert_serial="1",
                    registered_at=created,
                    last_seen_at=None,
                    software_version="x",
                    protocol_version="credgate.v1",
                    certificate_der=der,
                    hpke_public_key=hpke.public_key,
                    mask_public_key=mask.public_key,
                    keys_created_at=created,
                    keys_signature=sign_bundle(bundle, key_pem),
                    blacklist_listings=0,
                )
            )
        try:
            with member_session(world.settings["bank-1"]) as session:
                # The pinning rules alone (no key-log gate, which would refuse bank-9 earlier still).
                bureau = BureauClient(
                    session.identity, world.bureau.address, bureau_member_id="bureau", egress=None
                )
                pins = PinStore(
                    session.store,
                    session.identity,
                    lambda: bureau.directory()[0],
                    clock=system_clock,
                    audit=session.audit,
                ).refresh()
                bureau.close()
        finally:
            with store.transaction() as session:
                session.execute(sa.delete(Member).where(Member.member_id == "bank-9"))
    finally:
        store.close()

    assert pins["bank-9"].role is Role.BUREAU
    assert pins["bank-9"].role not in RESPONDER_ROLES


def test_a_shifted_sum_is_detected_by_the_querier(world: World, people: People) -> None:
    person, consent, reason = people.take("bank-1")
    world.tamper.shift_sums = True
    try:
        with member_session(world.settings["bank-1"]) as session, pytest.raises(VerificationError):
            session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
    finally:
        world.tamper.shift_sums = False
