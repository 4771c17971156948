"""A member's witness agent: publish, mirror, watch, co-sign — once per checkpoint interval.

Each tick, in order:

1. sign a checkpoint of the member's audit log if it grew, and hand the bureau every own
   publication it has not acknowledged yet;
2. fetch the publications of every log after the sizes this member co-signed;
3. mirror the key log up to its newest checkpoint: fetch the new leaves, append them to the
   mirror and require the mirror to reproduce the signed root (else roll back);
4. witness the key log and every other node's audit log (:func:`gateway.tlog.witness.witness_log`)
   with keys taken from the mirror; keep what was co-signed; keep and report evidence;
5. watch its own entries: a certificate or log key for its member id that it does not hold
   raises an alert (log, audit); its own new certificate it confirms itself;
6. collect the co-signatures others made on its own checkpoints; hand in its own.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.clock import Clock
from gateway.crypto.ed25519 import Ed25519Key
from gateway.identity.tls import TLSIdentity
from gateway.store.database import Store
from gateway.store.repositories.audit import AUDIT_LOG, build_tree
from gateway.tlog.checkpoints import CheckpointStore, Publication
from gateway.tlog.errors import LogIntegrityError, NoteError
from gateway.tlog.evidence import split_view
from gateway.tlog.keys import KEY_LOG_ORIGIN, LogKeyStatement, audit_origin, member_of_origin, witness_name
from gateway.tlog.note import ED25519_TYPE, NoteVerifier, verify_checkpoint
from gateway.tlog.tree import SqlTree
from gateway.tlog.witness import witness_log
from gateway.transparency.bureau import KeyLog
from gateway.transparency.client import TransparencyClient
from gateway.transparency.keylog import (
    ACCEPTED,
    KEY_LOG,
    MemberKeyState,
    confirmation_entry,
    decode_entry,
    encode_entry,
    replay,
)
from gateway.transparency.publisher import LogPublisher

__all__ = ["MemberWitness", "TickReport"]

_LOG = logging.getLogger(__name__)
ALERT_ACTION = "transparency.key_alert"
EVIDENCE_ACTION = "transparency.misbehaviour"
_ENTRIES_PER_CALL = 500


@dataclass
class TickReport:
    """What one tick did (for logs, tests and ``credgate status``)."""

    published: int = 0
    mirrored: int = 0
    cosigned: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class MemberWitness:
    """The transparency duties of one member node (see module docstring).

    Parameters
    ----------
    store
        The member's store.
    identity
        Its TLS identity (own certificate, CA).
    log_key
        Its Ed25519 log key.
    client
        The bureau's transparency RPCs.
    audit
        Where alerts and evidence are recorded (the member's own witnessed log).
    bureau_member_id
        The key log's owner.
    clock
        Current UTC time.

    """

    def __init__(
        self,
        store: Store,
        *,
        identity: TLSIdentity,
        log_key: Ed25519Key,
        client: TransparencyClient,
        audit: AuditRecorder,
        bureau_member_id: str,
        clock: Clock,
    ) -> None:
        self._store = store
        self._identity = identity
        self._member_id = identity.own.member_id
        self._key = log_key
        self._client = client
        self._audit = audit
        self._bureau = bureau_member_id
        self._clock = clock
        self.checkpoints = CheckpointStore(store, clock=clock)
        self._origin = audit_origin(self._member_id)
        self._publisher = LogPublisher(
            store,
            SqlTree(AUDIT_LOG),
            origin=self._origin,
            key=log_key,
            checkpoints=self.checkpoints,
            prepare=build_tree,
        )
        self._mirror = KeyLog(store)
        self._alerted: set[tuple[int, str]] = set()
        # What each fetched publication was when last settled (see _settle).
        self._settled: dict[tuple[str, int], tuple[object, ...]] = {}
        self._confirmed: set[str] = set()
        self._lock = threading.Lock()

    def tick(self) -> TickReport:
        """Run one round of every duty; a failing bureau call ends the round (the next one retries)."""
        report = TickReport()
        with self._lock:
            self._publisher.publish()
            publications = self._fetch()
            self._send_own(publications.get(self._origin, []), report)
            states = self._mirror_key_log(publications.get(KEY_LOG_ORIGIN, []), report)
            cosignatures = self._witness_all(publications, states, report)
            self._collect_own(publications.get(self._origin, []))
            if cosignatures:
                self._client.add_cosignatures(cosignatures)
        return report

    # 1. Publish: hand the bureau what it lacks of this node's checkpoints.
    def _send_own(self, relayed: list[Publication], report: TickReport) -> None:
        latest = self.checkpoints.latest(self._origin)
        if latest is None:
            return
        held = {p.checkpoint.size: p.checkpoint.root for p in relayed if _is_checkpoint(p)}
        if held.get(latest.checkpoint.size) == latest.checkpoint.root:
            return
        agreed = [size for size, root in held.items() if self._own_root(size) == root]
        pending = self.checkpoints.after(self._origin, max(agreed)) if agreed else [latest]
        for publication in pending:
            self._client.publish(publication)
            report.published += 1

    def _own_root(self, size: int) -> bytes | None:
        own = self.checkpoints.get(self._origin, size)
        return None if own is None else own.checkpoint.root

    # 2. Fetch.
    def _fetch(self) -> dict[str, list[Publication]]:
        after: dict[str, int] = {}
        for origin in self.checkpoints.origins():
            head = self.checkpoints.witnessed(origin)
            if head is not None:
                # From just below the head: its newest co-signatures by others come along.
                after[origin] = max(0, head.size - 1)
        latest_own = self.checkpoints.latest(self._origin)
        after[self._origin] = max(0, latest_own.checkpoint.size - 1) if latest_own is not None else 0
        grouped: dict[str, list[Publication]] = defaultdict(list)
        for publication in self._client.checkpoints(after):
            try:
                grouped[publication.checkpoint.origin].append(publication)
            except NoteError:
                continue
        return grouped

    # 3. Mirror the key log.
    def _mirror_key_log(
        self, publications: list[Publication], report: TickReport
    ) -> dict[str, MemberKeyState]:
        mirrored = self._mirror.size()
        target = max((p.checkpoint.size for p in publications), default=0)
        if target > mirrored:
            fresh: list[bytes] = []
            while mirrored + len(fresh) < target:
                batch = self._client.key_log_entries(
                    mirrored + len(fresh), min(target, mirrored + len(fresh) + _ENTRIES_PER_CALL)
                )
                if not batch:
                    break
                fresh += batch
            try:
                self._append_checked(fresh, publications, mirrored + len(fresh))
            except (LogIntegrityError, NoteError) as exc:
                report.problems.append(f"key log not mirrored: {exc.message}")
                _LOG.error("key log mirror refused %d leaves: %s", len(fresh), exc.message)
            else:
                report.mirrored = len(fresh)
                self._watch_own(fresh, mirrored, report)
        states = replay(self._mirror.entries(), ca_certificate_pem=self._identity.ca_pem)
        self._confirm_own_rotation(states)
        return states

    def _append_checked(self, fresh: list[bytes], publications: list[Publication], size: int) -> None:
        """Append to the mirror only if the bureau's signed checkpoint of that size agrees."""
        claimed = [p for p in publications if p.checkpoint.size == size]
        if not claimed:
            raise LogIntegrityError(f"the bureau sent leaves up to {size} but no checkpoint of that size")
        states = replay(self._mirror.entries() + fresh, ca_certificate_pem=self._identity.ca_pem)
        bureau = states.get(self._bureau)
        if bureau is None or bureau.statement is None:
            raise LogIntegrityError("the key log holds no log key of the bureau")
        checkpoint = verify_checkpoint(claimed[0].note, _log_verifier(bureau.statement, KEY_LOG_ORIGIN))
        with self._store.transaction() as session:
            self._mirror.append_raw(fresh)
            root = SqlTree(KEY_LOG).root(session, size)
            if root != checkpoint.root:
                raise LogIntegrityError(
                    f"the key log's leaves do not reproduce the bureau's signed root of size {size}"
                )

    # 5. Watch own entries.
    def _watch_own(self, fresh: list[bytes], first_index: int, report: TickReport) -> None:
        own_fp = self._identity.own.fingerprint
        own_key = base64.b64encode(self._key.public_key).decode("ascii")
        for offset, data in enumerate(fresh):
            index = first_index + offset
            entry = decode_entry(data)
            if entry.get("member_id") != self._member_id:
                continue
            problem = None
            if entry["type"] == "certificate" and entry["fingerprint"] != own_fp:
                problem = (
                    f"a certificate for {self._member_id} this node does not hold (serial {entry['serial']})"
                )
            elif entry["type"] == "keys" and entry["log_key"] != own_key:
                problem = f"keys for {self._member_id} under a log key this node does not hold"
            if problem is not None and (index, problem) not in self._alerted:
                self._alerted.add((index, problem))
                report.alerts.append(problem)
                _LOG.error("KEY LOG ALERT (leaf %d): %s", index, problem)
                self._audit.record(
                    AuditEvent(
                        self._member_id,
                        self._identity.own.role.value,
                        ALERT_ACTION,
                        Outcome.DENY,
                        "unexpected_own_key",
                        f"keylog-{index}",
                        {
                            "leaf_index": index,
                            "entry_type": str(entry["type"]),
                            "fingerprint": str(
                                entry.get("fingerprint", entry.get("certificate_fingerprint", ""))
                            ),
                        },
                    )
                )

    def _confirm_own_rotation(self, states: dict[str, MemberKeyState]) -> None:
        """Confirm this node's own current certificate when the log holds it as pending."""
        state = states.get(self._member_id)
        own_fp = self._identity.own.fingerprint
        if state is None or state.log_key != self._key.public_key or own_fp in self._confirmed:
            return
        certificate = state.certificate(own_fp)
        if certificate is None or certificate.status == ACCEPTED:
            return
        entry = confirmation_entry(self._member_id, own_fp, self._key.public_key, previous_key=self._key)
        self._client.confirm_rotation(encode_entry(entry))
        self._confirmed.add(own_fp)
        _LOG.info("confirmed this node's own new certificate %s in the key log", certificate.serial)

    # 4. Witness.
    def _witness_all(
        self,
        publications: dict[str, list[Publication]],
        states: dict[str, MemberKeyState],
        report: TickReport,
    ) -> list[tuple[str, int, str]]:
        cosignatures: list[tuple[str, int, str]] = []
        settled: dict[tuple[str, int], tuple[object, ...]] = {}
        for origin, group in sorted(publications.items()):
            if origin == self._origin:
                continue
            owner = self._bureau if origin == KEY_LOG_ORIGIN else member_of_origin(origin)
            state = None if owner is None else states.get(owner)
            if state is None or state.statement is None:
                continue
            if origin == KEY_LOG_ORIGIN:
                # Co-sign only what the mirror holds: the witness then vouches for the leaves too.
                group = [p for p in group if p.checkpoint.size <= self._mirror.size()]
            result = witness_log(
                self.checkpoints.witnessed(origin),
                group,
                log=_log_verifier(state.statement, origin),
                statement=state.statement,
                witness=witness_name(self._member_id),
                key=self._key,
                timestamp=int(self._clock().timestamp()),
            )
            report.problems += result.skipped
            for evidence in result.evidence:
                self._keep_evidence(origin, evidence, report)
            if result.head is not None and result.cosignature is not None:
                held = self.checkpoints.add(Publication(result.head.note, 0, ()))
                if held.checkpoint.root != result.head.root:
                    continue
                self.checkpoints.set_witnessed(result.head)
                cosignatures.append((origin, result.head.size, result.cosignature.render()))
                report.cosigned.append(f"{origin}@{result.head.size}")
            for publication in group:
                self._settle(origin, publication, state.statement, report, settled)
        self._settled = settled
        return cosignatures

    def _settle(
        self,
        origin: str,
        publication: Publication,
        statement: LogKeyStatement,
        report: TickReport,
        settled: dict[tuple[str, int], tuple[object, ...]],
    ) -> None:
        """Check a fetched publication against the held one and keep its co-signatures.

        The bureau sends each head again on the next round (for its newest co-signatures); a
        publication whose text, held root and log key are all as when last settled is skipped:
        both checks would find what they found then.
        """
        key = (origin, publication.checkpoint.size)
        held = self.checkpoints.get(*key)
        seen = (publication.render(), None if held is None else held.checkpoint.root, statement)
        settled[key] = seen
        if self._settled.get(key) == seen or held is None:
            return
        self._check_held(origin, publication, statement, held, report)
        self._merge_cosignatures(origin, publication, held)

    def _check_held(
        self,
        origin: str,
        publication: Publication,
        statement: LogKeyStatement,
        held: Publication,
        report: TickReport,
    ) -> None:
        """A second signed root for a size this member holds is a split view, whoever sees it."""
        try:
            checkpoint = verify_checkpoint(publication.note, _log_verifier(statement, origin))
        except NoteError:
            return
        if held.checkpoint.root != checkpoint.root:
            self._keep_evidence(origin, split_view(origin, statement, held.note, publication.note), report)

    def _merge_cosignatures(self, origin: str, publication: Publication, held: Publication) -> None:
        """Keep others' co-signatures on a checkpoint this member holds (the log's own line stays)."""
        checkpoint = publication.checkpoint
        if held.checkpoint.root != checkpoint.root:
            return
        lines = [
            line
            for line in publication.note.signatures
            if line.name not in (origin, witness_name(self._member_id))
        ]
        if lines:
            self.checkpoints.add_signatures(origin, checkpoint.size, lines)

    def _keep_evidence(self, origin: str, evidence: dict[str, object], report: TickReport) -> None:
        kind = str(evidence["kind"])
        key = _evidence_key(evidence)
        if any(_evidence_key(held.evidence) == key for held in self.checkpoints.evidence(origin)):
            return
        evidence_id = self.checkpoints.add_evidence(origin, kind, evidence)
        report.evidence.append(f"{kind} by {origin}")
        _LOG.error("TRANSPARENCY EVIDENCE #%d: %s by %s", evidence_id, kind, origin)
        self._audit.record(
            AuditEvent(
                self._member_id,
                self._identity.own.role.value,
                EVIDENCE_ACTION,
                Outcome.DENY,
                kind,
                f"evidence-{evidence_id}",
                {"origin": origin, "evidence_id": evidence_id},
            )
        )

    # 6. Co-signatures on own checkpoints.
    def _collect_own(self, publications: list[Publication]) -> None:
        for publication in publications:
            try:
                checkpoint = publication.checkpoint
            except NoteError:
                continue
            held = self.checkpoints.get(self._origin, checkpoint.size)
            if held is not None and held.checkpoint.root == checkpoint.root:
                lines = [line for line in publication.note.signatures if line.name != self._origin]
                self.checkpoints.add_signatures(self._origin, checkpoint.size, lines)


def _evidence_key(evidence: dict[str, object]) -> tuple[str, ...]:
    """Kind and the checkpoint texts involved: one piece of evidence per contradiction, however co-signed."""
    texts = []
    for field_name in ("first", "second", "earlier", "later"):
        value = evidence.get(field_name)
        if isinstance(value, str):
            texts.append(value.split("\n\n")[-2] if field_name == "later" else value.split("\n\n")[0])
    return (str(evidence.get("kind")), *sorted(texts))


def _is_checkpoint(publication: Publication) -> bool:
    try:
        _ = publication.checkpoint
    except NoteError:
        return False
    return True


def _log_verifier(statement: LogKeyStatement, origin: str) -> NoteVerifier:
    return NoteVerifier(origin, statement.public_key, ED25519_TYPE)
