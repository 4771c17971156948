"""Shared machinery for the regex-plus-validator recognizers."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.egress.context import has_context

LANGUAGE = "zh"
# One digit, ASCII or full-width; one optional separator between digits.
D = "[0-9\uff10-\uff19]"
SEP = "[ \\-\u3000\uff0d\u2010\u2011\u2013\u2014]"
NOT_DIGIT_BEFORE = "(?<![0-9\uff10-\uff19])"
NOT_DIGIT_AFTER = "(?![0-9\uff10-\uff19])"


def digits(count: str) -> str:
    """Return a pattern for ``count`` further digits, each optionally preceded by one separator.

    Parameters
    ----------
    count
        A regex quantifier body such as ``"16"`` or ``"15,18"``.

    Returns
    -------
    str
        The pattern fragment.

    """
    return f"(?:{SEP}?{D}){{{count}}}"


class ValidatedRecognizer(EntityRecognizer, ABC):
    """A recognizer made of candidate patterns, a scoring validator and context words.

    Subclasses set :attr:`ENTITY`, :attr:`PATTERNS` (each with a named group
    ``v``, usually inside a look-ahead so that overlapping candidates are all
    tried), optional :attr:`CONTEXT` and :attr:`NEGATIVE_CONTEXT`, and
    implement :meth:`score`. Overlapping candidates are resolved by score,
    then by length.
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[re.Pattern[str], ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()
    NEEDS_NER: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY],
            supported_language=LANGUAGE,
            name=type(self).__name__,
            context=list(self.CONTEXT),
        )

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    @abstractmethod
    def score(self, candidate: str) -> float | None:
        """Return the confidence for a candidate, or ``None`` to reject it.

        Parameters
        ----------
        candidate
            The matched text exactly as it appears (full-width digits, separators).

        Returns
        -------
        float | None
            The score before context enhancement; ``None`` when a check fails.

        """

    def score_at(self, text: str, start: int, end: int) -> float | None:
        """Return the score of ``text[start:end]`` where it stands; by default :meth:`score` of the candidate.

        Parameters
        ----------
        text
            The analysed text.
        start, end
            The candidate's offsets.

        Returns
        -------
        float | None
            The score, or ``None`` to reject the candidate.

        """
        return self.score(text[start:end])

    def explain(self, candidate: str) -> str:
        """Return why a candidate was accepted (shown by ``credgate redact --explain``).

        Parameters
        ----------
        candidate
            The accepted text; the explanation must never contain it.

        Returns
        -------
        str
            A short reason.

        """
        return "pattern and validator"

    def adjust(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Return the span to keep for a raw match; by default the match itself.

        Parameters
        ----------
        text
            The analysed text.
        start, end
            The raw match offsets.

        Returns
        -------
        tuple[int, int]
            Adjusted offsets (``end <= start`` drops the candidate).

        """
        return start, end

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the validated, non-overlapping matches in ``text``.

        Parameters
        ----------
        text
            Text to scan.
        entities
            Requested entity types; nothing is returned when ours is not among them.
        nlp_artifacts
            Unused.

        Returns
        -------
        list[RecognizerResult]
            One result per accepted candidate.

        """
        if entities and self.ENTITY not in entities:
            return []
        candidates: list[tuple[float, int, int]] = []
        for pattern in self.PATTERNS:
            for match in pattern.finditer(text):
                start, end = self.adjust(text, *match.span("v"))
                if end <= start:
                    continue
                value = self.score_at(text, start, end)
                if value is None:
                    continue
                if self.NEGATIVE_CONTEXT and has_context(
                    text, start, end, self.NEGATIVE_CONTEXT, before=8, after=0
                ):
                    continue
                candidates.append((value, start, end))
        candidates.sort(key=lambda c: (-c[0], -(c[2] - c[1]), c[1]))
        chosen: list[tuple[float, int, int]] = []
        for value, start, end in candidates:
            if all(end <= s or start >= e for _, s, e in chosen):
                chosen.append((value, start, end))
        return [
            self._result(value, start, end, self.explain(text[start:end]))
            for value, start, end in sorted(chosen, key=lambda c: c[1])
        ]

    def _result(self, value: float, start: int, end: int, reason: str) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=type(self).__name__, original_score=value, textual_explanation=reason
        )
        return RecognizerResult(
            entity_type=self.ENTITY,
            start=start,
            end=end,
            score=value,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )
