"""The witness walk: honest chains co-signed; split views, failing proofs, rollbacks become evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.clock import system_clock
from gateway.crypto.ed25519 import Ed25519Key
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.tlog.checkpoints import Publication
from gateway.tlog.errors import NoteError
from gateway.tlog.evidence import verify_evidence
from gateway.tlog.keys import LogKeyStatement, audit_origin
from gateway.tlog.merkle import Node, consistency_ranges, leaf_hash, proof_hashes, root_of_leaves
from gateway.tlog.note import Checkpoint, NoteSigner, sign_checkpoint
from gateway.tlog.witness import witness_log

ORIGIN = audit_origin("bank-1")
LOG_KEY = Ed25519Key(bytes(range(32)))
WITNESS_KEY = Ed25519Key(bytes(range(1, 33)))


def leaves(n: int, *, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def nodes_of(values: list[bytes]) -> dict[Node, bytes]:
    nodes: dict[Node, bytes] = {(0, i): v for i, v in enumerate(values)}
    level = 0
    while True:
        row = [(i, nodes[(level, i)]) for i in range(len(values) >> level) if (level, i) in nodes]
        pairs = [(i // 2, row[i][1], row[i + 1][1]) for i in range(0, len(row) - 1, 2)]
        if not pairs:
            return nodes
        from gateway.tlog.merkle import node_hash

        for idx, left, right in pairs:
            nodes[(level + 1, idx)] = node_hash(left, right)
        level += 1


def publication(values: list[bytes], size: int, old: int) -> Publication:
    note = sign_checkpoint(
        Checkpoint(ORIGIN, size, root_of_leaves(values[:size])), NoteSigner(ORIGIN, LOG_KEY)
    )
    nodes = nodes_of(values[:size])
    proof = tuple(proof_hashes(consistency_ranges(old, size), lambda wanted: nodes)) if old else ()  # type: ignore[arg-type,return-value]
    return Publication.signed(note, old, proof, LOG_KEY)


@pytest.fixture
def statement(authority: CertificateAuthority, tmp_path: Path) -> LogKeyStatement:
    issued = authority.issue(
        member_id="bank-1", role=Role.BANK, out_dir=tmp_path / "bank-1", now=system_clock()
    )
    return LogKeyStatement.create(
        "bank-1",
        LOG_KEY.public_key,
        certificate_pem=issued.cert_path.read_bytes(),
        tls_private_key_pem=issued.key_path.read_bytes(),
    )


def walk(held, publications, statement):  # type: ignore[no-untyped-def]
    return witness_log(
        held,
        publications,
        log=NoteSigner(ORIGIN, LOG_KEY).verifier,
        statement=statement,
        witness="credgate/witness/bank-2",
        key=WITNESS_KEY,
        timestamp=1_700_000_000,
    )


def test_an_honest_chain_is_walked_to_its_end_and_cosigned(statement: LogKeyStatement) -> None:
    values = leaves(20)
    first = walk(None, [publication(values, 3, 0)], statement)

    result = walk(first.head, [publication(values, 9, 3), publication(values, 20, 9)], statement)

    assert result.evidence == []
    assert result.head is not None and result.head.size == 20 and result.cosignature is not None


def test_a_second_root_for_a_cosigned_size_is_a_split_view_that_verifies_offline(
    statement: LogKeyStatement, authority: CertificateAuthority
) -> None:
    held = walk(None, [publication(leaves(5), 5, 0)], statement).head

    result = walk(held, [publication(leaves(5, salt=b"x"), 5, 0)], statement)

    assert [e["kind"] for e in result.evidence] == ["split_view"]
    pem = (Path(authority.directory) / "ca.cert.pem").read_bytes()
    finding = verify_evidence(result.evidence[0], ca_certificate_pem=pem, bureau_member_id="bureau")
    assert finding.owner == "bank-1"


def test_a_failing_signed_proof_is_inconsistency_evidence(
    statement: LogKeyStatement, authority: CertificateAuthority
) -> None:
    held = walk(None, [publication(leaves(4), 4, 0)], statement).head
    rewritten = leaves(8, salt=b"y")  # a different history, published as if it extended the first

    result = walk(held, [publication(rewritten, 8, 4)], statement)

    assert [e["kind"] for e in result.evidence] == ["inconsistent"]
    assert result.head == held
    pem = (Path(authority.directory) / "ca.cert.pem").read_bytes()
    assert (
        "that fails"
        in verify_evidence(result.evidence[0], ca_certificate_pem=pem, bureau_member_id="bureau").description
    )


def test_a_larger_checkpoint_that_disowns_a_cosigned_one_is_rollback_evidence(
    statement: LogKeyStatement, authority: CertificateAuthority
) -> None:
    held = walk(None, [publication(leaves(4), 4, 0)], statement).head

    result = walk(held, [publication(leaves(6, salt=b"z"), 6, 0)], statement)

    assert [e["kind"] for e in result.evidence] == ["rollback"]
    pem = (Path(authority.directory) / "ca.cert.pem").read_bytes()
    verify_evidence(result.evidence[0], ca_certificate_pem=pem, bureau_member_id="bureau")


def test_evidence_that_shows_nothing_is_refused(
    statement: LogKeyStatement, authority: CertificateAuthority
) -> None:
    held = walk(None, [publication(leaves(5), 5, 0)], statement).head
    result = walk(held, [publication(leaves(5, salt=b"x"), 5, 0)], statement)
    honest = dict(result.evidence[0])
    honest["second"] = honest["first"]
    pem = (Path(authority.directory) / "ca.cert.pem").read_bytes()

    with pytest.raises(NoteError, match="two roots"):
        verify_evidence(honest, ca_certificate_pem=pem, bureau_member_id="bureau")


def test_publications_not_signed_by_the_log_are_skipped_not_held_against_it(
    statement: LogKeyStatement,
) -> None:
    held = walk(None, [publication(leaves(5), 5, 0)], statement).head
    other_key = Ed25519Key(bytes(range(2, 34)))
    forged = Publication(
        sign_checkpoint(
            Checkpoint(ORIGIN, 5, root_of_leaves(leaves(5, salt=b"f"))), NoteSigner(ORIGIN, other_key)
        ),
        0,
        (),
    )

    result = walk(held, [forged], statement)

    assert result.evidence == [] and result.skipped
