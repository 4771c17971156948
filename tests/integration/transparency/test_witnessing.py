"""Members witness each other's audit logs and the key log; tampering and equivocation leave evidence."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.clock import LOCAL_ZONE, system_clock
from gateway.crypto.ed25519 import load_or_create_log_key
from gateway.demo.provision import BUREAU_ID
from gateway.store.models import AuditRecord, TlogCheckpoint, TlogNode
from gateway.store.repositories.audit import (
    AUDIT_LOG,
    GENESIS_HASH,
    audit_leaf_data,
    compute_entry_hash,
    hashed_fields,
)
from gateway.tlog.checkpoints import Publication
from gateway.tlog.evidence import verify_evidence
from gateway.tlog.keys import KEY_LOG_ORIGIN, audit_origin
from gateway.tlog.merkle import leaf_hash, root_of_leaves
from gateway.tlog.note import Checkpoint, NoteSigner, sign_checkpoint
from gateway.tlog.tree import SqlTree
from gateway.transparency.bureau import KeyLog
from gateway.transparency.export import verify_export
from tests.integration.transparency.conftest import MEMBERS, Witnessed, add_entries, wait_for

pytestmark = pytest.mark.slow


def credgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def config(world: Witnessed, member_id: str) -> str:
    return str(world.settings[member_id].data_dir.parent / "node.toml")


def test_every_audit_log_is_cosigned_by_the_other_members_verified_and_exported(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    # Prepare
    add_entries(witnessed.members["bank-1"].store, 5)
    names = wait_for(lambda: witnessed.cosigned_by_others("bank-1", 5), "bank-1's checkpoint to be co-signed")
    wait_for(
        lambda: witnessed.cosigned_by_others(BUREAU_ID, 1) or None, "the bureau's audit log to be co-signed"
    )
    bundle = tmp_path / "bank-1.json"
    today = system_clock().astimezone(LOCAL_ZONE).date()

    # Execute
    verified = credgate("audit", "verify", "--config", config(witnessed, "bank-1"))
    exported = credgate(
        "audit",
        "export",
        "--config",
        config(witnessed, "bank-1"),
        # Local days around the clock's today: the window holds the entries even across midnight.
        "--from",
        (today - dt.timedelta(days=1)).isoformat(),
        "--to",
        (today + dt.timedelta(days=1)).isoformat(),
        "--out",
        str(bundle),
    )
    offline = credgate(
        "audit", "verify-export", str(bundle), "--ca-cert", str(witnessed.settings["bank-1"].tls.ca_cert)
    )

    # Assert
    assert sorted(names) == ["credgate/witness/bank-2", "credgate/witness/bank-3"]
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "5 entries verified" in verified.stdout and "co-signed by" in verified.stdout
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "5 audit entries of bank-1" in offline.stdout


def test_any_one_byte_change_of_an_exported_bundle_fails(witnessed: Witnessed, tmp_path: Path) -> None:
    # Prepare
    add_entries(witnessed.members["bank-2"].store, 3)
    wait_for(lambda: witnessed.cosigned_by_others("bank-2", 3), "bank-2's checkpoint to be co-signed")
    bundle = tmp_path / "bank-2.json"
    exported = credgate(
        "audit",
        "export",
        "--config",
        config(witnessed, "bank-2"),
        "--from",
        "2000-01-01T00:00:00+00:00",
        "--to",
        "2999-01-01T00:00:00+00:00",
        "--out",
        str(bundle),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    data = bundle.read_bytes()
    ca = witnessed.settings["bank-2"].tls.ca_cert.read_bytes()
    assert verify_export(data, ca_certificate_pem=ca).entries == 3

    # Execute: flip one bit of every byte in turn (exhaustive: the bundle is a few kilobytes).
    survived = []
    for position in range(len(data)):
        changed = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]
        try:
            verify_export(changed, ca_certificate_pem=ca)
        except Exception:
            continue
        survived.append(position)

    # Assert
    assert survived == []


def _rewrite_history(world: Witnessed, member_id: str) -> None:
    """What an operator with database access does: edit an entry, rebuild tree and chain, drop checkpoints."""
    store = world.members[member_id].store
    with store.transaction() as session:
        session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        session.execute(sa.text("UPDATE audit_log SET reason = 'rewritten' WHERE leaf_index = 1"))
        records = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.leaf_index)).all()
        previous = GENESIS_HASH
        for record in records:  # the local hash chain and the committed leaves, rebuilt
            record.prev_hash = previous
            record.entry_hash = previous = compute_entry_hash(previous, hashed_fields(record))
            record.leaf_hash = leaf_hash(audit_leaf_data(record.leaf_index, hashed_fields(record)))
        session.flush()
        session.execute(sa.delete(TlogNode).where(TlogNode.log == AUDIT_LOG))
        SqlTree(AUDIT_LOG).append(
            session, [leaf_hash(audit_leaf_data(r.leaf_index, hashed_fields(r))) for r in records]
        )
        session.execute(sa.delete(TlogCheckpoint).where(TlogCheckpoint.origin == audit_origin(member_id)))


def test_a_rewritten_history_is_caught_by_audit_verify_and_by_the_witnesses(witnessed: Witnessed) -> None:
    # Prepare
    add_entries(witnessed.members["bank-1"].store, 4)
    wait_for(lambda: witnessed.cosigned_by_others("bank-1", 4), "bank-1's checkpoint to be co-signed")

    # Execute
    _rewrite_history(witnessed, "bank-1")
    local_only = credgate("audit", "verify", "--offline", "--config", config(witnessed, "bank-1"))
    origin = audit_origin("bank-1")
    evidence = {
        m: wait_for(
            lambda m=m: witnessed.checkpoints(m).evidence(origin), f"{m} to keep evidence against bank-1"
        )
        for m in ("bank-2", "bank-3")
    }
    online = credgate("audit", "verify", "--config", config(witnessed, "bank-1"))

    # Assert: the rebuilt log fools only a check that trusts the node's own store.
    assert local_only.returncode == 0, local_only.stdout + local_only.stderr
    assert online.returncode == 80, online.stdout + online.stderr
    assert "history was rewritten" in online.stderr or "two different roots" in online.stderr
    ca = witnessed.settings["bank-2"].tls.ca_cert.read_bytes()
    for items in evidence.values():
        finding = verify_evidence(items[0].evidence, ca_certificate_pem=ca, bureau_member_id=BUREAU_ID)
        assert finding.owner == "bank-1" and finding.kind in ("split_view", "rollback")


def test_an_edited_entry_is_found_by_audit_verify(witnessed: Witnessed) -> None:
    # Prepare
    add_entries(witnessed.members["bank-3"].store, 3)
    store = witnessed.members["bank-3"].store
    with store.transaction() as session:
        session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        session.execute(sa.text("UPDATE audit_log SET reason = 'rewritten' WHERE leaf_index = 2"))

    # Execute
    result = credgate("audit", "verify", "--offline", "--config", config(witnessed, "bank-3"))

    # Assert
    assert result.returncode == 80
    assert "(leaf 2) does not match the leaf the log committed to" in result.stderr


def test_a_bureau_showing_one_member_another_key_log_checkpoint_is_caught_with_offline_proof(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    # Prepare: the bureau signs a second key-log root for the size bank-2 already co-signed.
    head = witnessed.checkpoints("bank-2").witnessed(KEY_LOG_ORIGIN)
    assert head is not None
    bureau_key = load_or_create_log_key(witnessed.bureau_settings.data_dir / "keys")
    entries = KeyLog(witnessed.bureau.store).entries(0, head.size)
    forged_leaves = [leaf_hash(e) for e in entries[:-1]] + [
        leaf_hash(b'{"type":"certificate","forged":true}')
    ]
    forged_root = root_of_leaves(forged_leaves)
    forged = sign_checkpoint(
        Checkpoint(KEY_LOG_ORIGIN, head.size, forged_root), NoteSigner(KEY_LOG_ORIGIN, bureau_key)
    )
    witnessed.equivocator.forged["bank-2"] = [Publication.signed(forged, 0, (), bureau_key).render()]

    # Execute
    kept = wait_for(
        lambda: witnessed.checkpoints("bank-2").evidence(KEY_LOG_ORIGIN), "bank-2 to keep evidence"
    )
    written = credgate("audit", "evidence", "--config", config(witnessed, "bank-2"), "--out", str(tmp_path))
    offline = credgate(
        "audit",
        "verify-evidence",
        str(tmp_path / f"evidence-{kept[0].id}.json"),
        "--ca-cert",
        str(witnessed.settings["bank-2"].tls.ca_cert),
    )

    # Assert
    assert kept[0].kind == "split_view"
    assert written.returncode == 0, written.stderr
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert f"bureau signed two different roots for size {head.size} of credgate/keys" in offline.stdout
    assert witnessed.checkpoints("bank-1").evidence() == []
    for member_id in MEMBERS:  # nobody co-signed the forged view
        assert witnessed.checkpoints(member_id).witnessed(KEY_LOG_ORIGIN).root != forged_root  # type: ignore[union-attr]
    with pytest.raises(Exception, match="two roots"):
        changed = json.loads(json.dumps(kept[0].evidence))
        changed["second"] = changed["first"]
        verify_evidence(
            changed,
            ca_certificate_pem=witnessed.settings["bank-2"].tls.ca_cert.read_bytes(),
            bureau_member_id=BUREAU_ID,
        )
