"""The bureau's side of a report's state: streamed holders vectors and the round journal.

``HoldersBoard`` receives members' masked holders-count vectors (phase 3) while a round is
open, only from that round's participants, and serves the opened sum back to the members of
the set it was opened over. Every vector it holds is masked: pairwise masks and self-masks
until the round is opened, and the members-only mask after.

``RoundJournal`` keeps, per request, what each phase reached — the last attempt asked and its
set, and once opened its noisy result — so that a retry of the same request (the regulator's
same signed order) after a failure or a restart resumes: a phase already opened is reused,
never re-run or re-noised (issue #13: phase-1 results are reused across phase-2 re-runs), and
a phase collected but not opened is asked again with the same attempt, which members answer
from their stored shares.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.aggregation.words import Words
from gateway.errors import InvalidInputError, NotFoundError
from gateway.reports._files import locked, write_lines

__all__ = ["HoldersBoard", "PhaseState", "RoundJournal"]


class HoldersBoard:
    """Masked holders-count vectors of open rounds, and the opened sums (in memory and journalled)."""

    def __init__(self, journal: RoundJournal) -> None:
        self._lock = threading.Lock()
        self._journal = journal
        self._rounds: dict[tuple[bytes, int], frozenset[str]] = {}
        self._chunks: dict[tuple[bytes, int], dict[str, list[bytes]]] = {}

    def open_round(self, request_hash: bytes, attempt: int, participants: Sequence[str]) -> None:
        """Accept vectors from ``participants`` for this attempt."""
        with self._lock:
            self._rounds[(request_hash, attempt)] = frozenset(participants)
            self._chunks[(request_hash, attempt)] = {}

    def add(self, member_id: str, request_hash: bytes, attempt: int, chunk_index: int, words: bytes) -> int:
        """Keep one chunk of a member's vector; returns the words held from it so far.

        Raises
        ------
        InvalidInputError
            When no such round is open, the member is not a participant, or the chunk is out of order.

        """
        key = (request_hash, attempt)
        with self._lock:
            if member_id not in self._rounds.get(key, frozenset()):
                raise InvalidInputError(
                    "no open report round names this member for this request and attempt",
                    field="request_hash",
                )
            chunks = self._chunks[key].setdefault(member_id, [])
            if chunk_index == 0:
                chunks.clear()  # a member re-sending its vector (a retry) starts again
            if chunk_index != len(chunks):
                raise InvalidInputError(
                    f"expected chunk {len(chunks)}, received {chunk_index}", field="chunk_index"
                )
            chunks.append(words)
            return sum(len(c) for c in chunks) // 2

    def total(self, request_hash: bytes, attempt: int, members: Sequence[str], *, words: int) -> Words:
        """The sum of the members' vectors (mod 2^16).

        Raises
        ------
        InvalidInputError
            When a member's vector is missing or has the wrong length.

        """
        total: Words = np.zeros(words, dtype=np.uint16)
        with self._lock:
            received = self._chunks.get((request_hash, attempt), {})
            for member in members:
                data = b"".join(received.get(member, []))
                if len(data) != 2 * words:
                    raise InvalidInputError(
                        f"member {member} sent {len(data) // 2} of {words} words", field="words"
                    )
                total += np.frombuffer(data, dtype="<u2").astype(np.uint16)
        return total

    def close_round(self, request_hash: bytes, attempt: int) -> None:
        """Forget a round's vectors."""
        with self._lock:
            self._rounds.pop((request_hash, attempt), None)
            self._chunks.pop((request_hash, attempt), None)

    def publish(self, request_hash: bytes, opened: Words, check: int, members: Sequence[str]) -> None:
        """Keep the opened (members-masked) sum for the members of the set it was opened over."""
        self._journal.save_holders(request_hash, opened, check, members)

    def fetch(self, member_id: str, request_hash: bytes) -> tuple[bytes, int]:
        """The opened sum for a member of its set.

        Raises
        ------
        NotFoundError
            When no sum was opened for the request, or the member was not in its set.

        """
        words, check, members = self._journal.holders(request_hash)
        if member_id not in members:
            raise NotFoundError("no holders count was opened for this member in this request")
        return words, check


@dataclass(frozen=True)
class PhaseState:
    """How far a phase of a request got: its last attempt and set, and its result once opened."""

    attempt: int
    participants: tuple[str, ...]
    opened: tuple[int, ...] | None = None


class RoundJournal:
    """``<bureau data>/reports/rounds/<request hash>.json`` (and ``.holders`` for phase 3)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> RoundJournal:
        """The journal kept under the bureau's data dir."""
        return cls(data_dir / "reports" / "rounds")

    def phase(self, request_hash: bytes, phase: int) -> PhaseState | None:
        """What phase ``phase`` of the request reached, if anything."""
        record = self._read(request_hash).get(str(phase))
        if record is None:
            return None
        attempt, participants, opened = (
            record.get("attempt"),
            record.get("participants"),
            record.get("opened"),
        )
        if not isinstance(attempt, int) or not isinstance(participants, list):
            raise InvalidInputError("malformed round journal", field="journal")
        if opened is not None and not isinstance(opened, list):
            raise InvalidInputError("malformed round journal", field="journal")
        return PhaseState(
            attempt,
            tuple(str(m) for m in participants),
            None if opened is None else tuple(int(v) for v in opened),
        )

    def save_phase(self, request_hash: bytes, phase: int, state: PhaseState) -> None:
        """Record a phase's attempt (and its opened result)."""
        path = self._path(request_hash, ".json")
        with locked(path):
            record = self._read(request_hash)
            record[str(phase)] = {
                "attempt": state.attempt,
                "participants": list(state.participants),
                "opened": None if state.opened is None else list(state.opened),
            }
            write_lines(path, [record])

    def save_holders(self, request_hash: bytes, opened: Words, check: int, members: Sequence[str]) -> None:
        """Keep phase 3's opened sum (members-masked) for the members to fetch."""
        path = self._path(request_hash, ".holders")
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps({"check": check, "members": list(members)}).encode() + b"\n"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(header + opened.astype("<u2").tobytes())
        temporary.replace(path)

    def holders(self, request_hash: bytes) -> tuple[bytes, int, tuple[str, ...]]:
        """Phase 3's opened sum, its check value and the members it was opened over.

        Raises
        ------
        NotFoundError
            When no sum was opened for the request.

        """
        path = self._path(request_hash, ".holders")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("no holders count was opened for this request") from None
        header, _, words = data.partition(b"\n")
        record = json.loads(header)
        return words, int(record["check"]), tuple(str(m) for m in record["members"])

    def _read(self, request_hash: bytes) -> dict[str, dict[str, object]]:
        path = self._path(request_hash, ".json")
        if not path.exists():
            return {}
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise InvalidInputError("malformed round journal", field="journal")
        return record

    def _path(self, request_hash: bytes, suffix: str) -> Path:
        if len(request_hash) != 32:
            raise InvalidInputError("expected 32 bytes", field="request_hash")
        return self._folder / f"{request_hash.hex()}{suffix}"
