"""Screening transcripts and notes against the conduct rules.

Text rules match the collector's utterances (a note is screened whole); each flag carries the
rule, the utterance and the character span of the first match. Metadata rules look at when the
call happened and how many connected calls this node made to the debtor that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.conduct.rules import OVER_CAP_RULE, QUIET_HOURS_RULE, ConductRuleSet
from gateway.policy.contact_rules import ContactRules
from gateway.store.enums import ConductSource, ContactParty

__all__ = ["CallFacts", "ConductFinding", "ConductScreener", "Transcript", "Utterance"]


@dataclass(frozen=True)
class Utterance:
    """One turn of a call, or a whole note."""

    speaker: str
    text: str


@dataclass(frozen=True)
class Transcript:
    """A call transcript or a collector's note, as handed to the screener."""

    source_ref: str
    kind: ConductSource
    party: ContactParty
    utterances: tuple[Utterance, ...]
    account_ref: str | None = None
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class CallFacts:
    """What this node knows about the call beyond its words (for the metadata rules)."""

    # Connected calls to the debtor that local day at this node, this one included.
    connected_calls_that_day: int = 0


@dataclass(frozen=True)
class ConductFinding:
    """One flag: the rule, the utterance (-1 for a call-level rule) and the span in it."""

    rule: str
    utterance_index: int
    start: int
    end: int
    excerpt: str


class ConductScreener:
    """Applies the rule set (and the contact rules, for the metadata rules)."""

    def __init__(self, rules: ConductRuleSet, contact_rules: ContactRules) -> None:
        self._rules = rules
        self._contact = contact_rules

    def screen_text(self, text: str, *, party: ContactParty) -> list[ConductFinding]:
        """Flags in one utterance (index 0), one per rule at its first match."""
        found = []
        for rule in self._rules.rules:
            if any(exception.search(text) for exception in rule.exceptions):
                continue
            patterns = rule.patterns + (
                rule.third_party_patterns if party is ContactParty.THIRD_PARTY else ()
            )
            matches = [m for m in (p.search(text) for p in patterns) if m is not None]
            if matches:
                first = min(matches, key=lambda m: m.start())
                found.append(ConductFinding(rule.id, 0, first.start(), first.end(), first.group(0)))
        return found

    def screen(self, transcript: Transcript, facts: CallFacts | None = None) -> list[ConductFinding]:
        """Every flag in a transcript or note, then the call-level ones."""
        found = []
        for index, utterance in enumerate(transcript.utterances):
            if (
                transcript.kind is ConductSource.TRANSCRIPT
                and utterance.speaker not in self._rules.collector_speakers
            ):
                continue
            for finding in self.screen_text(utterance.text, party=transcript.party):
                found.append(ConductFinding(finding.rule, index, finding.start, finding.end, finding.excerpt))
        if transcript.kind is ConductSource.TRANSCRIPT and transcript.occurred_at is not None:
            if self._contact.quiet_at(transcript.occurred_at):
                local = transcript.occurred_at.astimezone(self._contact.zone)
                found.append(ConductFinding(QUIET_HOURS_RULE, -1, 0, 0, f"{local:%H:%M} local"))
            calls = (facts or CallFacts()).connected_calls_that_day
            if calls > self._contact.connected_calls_per_debtor_per_day:
                found.append(ConductFinding(OVER_CAP_RULE, -1, 0, 0, f"connected call {calls} of the day"))
        return found
