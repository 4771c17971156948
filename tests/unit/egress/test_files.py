"""Outbound files are written only when cleared: the node's own PII or a structured identifier blocks them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit import AuditRecorder
from gateway.clock import system_clock
from gateway.egress.files import OutboundFiles
from gateway.egress.guard import EgressBlocked
from gateway.egress.index import ExactMatchIndex
from gateway.store import Store, open_store
from gateway.store.repositories.audit import AuditLog

SEEDED_MOBILE = "13800138000"
UNKNOWN_RESIDENT_ID = "440304198506123412"  # valid checksum, not in this node's book


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


@pytest.fixture
def files(store: Store) -> OutboundFiles:
    index = ExactMatchIndex(bytes(32))
    index.rebuild([SEEDED_MOBILE])
    audit = AuditRecorder(AuditLog(store), node_id="bank-1", clock=system_clock)
    return OutboundFiles(index, audit, node_id="bank-1", node_role="bank")


def test_a_clean_report_is_written(files: OutboundFiles, tmp_path: Path) -> None:
    path = files.write_text(tmp_path / "out" / "report.html", "<p>北京市 bank 1-30: 412</p>", kind="report")

    assert path.read_text(encoding="utf-8") == "<p>北京市 bank 1-30: 412</p>"


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("note: call 138 0013 8000 tomorrow", "exact-match index"),
        (f"evidence for {UNKNOWN_RESIDENT_ID}", "CN_RESIDENT_ID"),
    ],
)
def test_a_file_holding_pii_is_not_written_and_the_refusal_is_audited_without_the_value(
    files: OutboundFiles, store: Store, tmp_path: Path, text: str, detector: str
) -> None:
    target = tmp_path / "evidence.json"

    with pytest.raises(EgressBlocked, match=detector):
        files.write_json(target, {"summary": text}, kind="evidence")

    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))
    entry = AuditLog(store).entries()[-1]
    assert (entry.action, entry.reason, entry.details) == (
        "egress.file_blocked",
        detector,
        {"kind": "file:evidence"},
    )
    assert SEEDED_MOBILE not in str(entry) and UNKNOWN_RESIDENT_ID not in str(entry)


def test_a_rendering_is_cleared_by_the_text_it_was_rendered_from(
    files: OutboundFiles, tmp_path: Path
) -> None:
    with pytest.raises(EgressBlocked):
        files.write_rendering(tmp_path / "r.pdf", b"%PDF-1.4 compressed", kind="report", text=SEEDED_MOBILE)

    assert not (tmp_path / "r.pdf").exists()
