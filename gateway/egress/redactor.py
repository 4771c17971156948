"""The free-text redactor: Presidio, offline, with the registered Chinese recognizers.

Build one :class:`Redactor` at start-up and share it: it is thread-safe (the
engines keep no per-call state and the NER model loads once under a lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from gateway.egress.charner import CharNER
from gateway.egress.context import CharWindowContextEnhancer
from gateway.egress.declared import DeclaredRecognizers
from gateway.egress.recognizers._base import LANGUAGE
from gateway.egress.recognizers.char_ner import CharNERRecognizer, NerArtifacts
from gateway.egress.recognizers.lac import LacRecognizer
from gateway.egress.registry import ALL_ENTITIES, NER_ENTITIES, STRUCTURED_ENTITIES, registered
from gateway.errors import InvalidInputError

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: where and what, never the value.

    Attributes
    ----------
    entity_type
        For example ``CN_MOBILE``.
    start, end
        Character offsets into the *input* text (end exclusive).
    score
        Confidence after context enhancement.
    recognizer
        Name of the recognizer that found it; ``A+B`` when overlapping findings of several
        recognizers were merged (highest score first).
    detail
        Why the first recognizer fired (never the value), for ``credgate redact --explain``.

    """

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """The redacted text and what was found in the input.

    Attributes
    ----------
    text
        The input with each finding replaced by ``<ENTITY_TYPE>``.
    findings
        Findings sorted by start offset; offsets refer to the input.

    """

    text: str
    findings: tuple[Finding, ...]


class Redactor:
    """Detect and replace PII in Chinese free text.

    Parameters
    ----------
    entities
        Entity types to look for; all registered ones by default. Leaving out
        ``CN_PERSON`` and ``CN_ADDRESS`` means the NER model is never loaded.
    score_threshold
        Minimum score (after context) for a finding.
    batch_size
        Texts per NER batch in :meth:`redact_many`.
    declared
        Recognizers declared in YAML (:mod:`gateway.egress.declared`); by default those of
        ``policies/egress_recognizers.yaml``. Their entity types join the known ones.

    Raises
    ------
    InvalidInputError
        When an entity type is unknown.

    """

    def __init__(
        self,
        *,
        entities: Sequence[str] | None = None,
        score_threshold: float = DEFAULT_THRESHOLD,
        batch_size: int = 64,
        declared: DeclaredRecognizers | None = None,
    ) -> None:
        declared = declared if declared is not None else DeclaredRecognizers.default()
        known = ALL_ENTITIES + tuple(e for e in declared.entities if e not in ALL_ENTITIES)
        wanted = tuple(entities) if entities is not None else known
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise InvalidInputError(
                f"expected entity types among {list(known)}, got {unknown}", field="entities"
            )
        self.entities = wanted
        self.score_threshold = score_threshold
        self._ner = CharNER(batch_size=batch_size)
        self._needs_ner = any(entity in NER_ENTITIES for entity in wanted)
        recognizers: list[EntityRecognizer] = []
        for cls in registered():
            recognizer = cls(self._ner) if cls in (CharNERRecognizer, LacRecognizer) else cls()
            if any(entity in wanted for entity in recognizer.supported_entities):
                recognizers.append(recognizer)
        recognizers += [r for r in declared.recognizers() if r.ENTITY in wanted]
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        self._analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}]),
            supported_languages=[LANGUAGE],
            context_aware_enhancer=CharWindowContextEnhancer(),
            default_score_threshold=score_threshold,
        )
        # presidio-anonymizer leaves this constructor unannotated.
        self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
        self._operators = {"DEFAULT": OperatorConfig("replace")}

    @classmethod
    def structured_only(cls, *, score_threshold: float = DEFAULT_THRESHOLD) -> Redactor:
        """Return a redactor for identifiers only (IDs, phones, cards, USCC, e-mail, plates), without NER.

        Parameters
        ----------
        score_threshold
            Minimum score for a finding.

        Returns
        -------
        Redactor
            A redactor that never loads the NER model.

        """
        declared = DeclaredRecognizers.default()
        entities = STRUCTURED_ENTITIES + tuple(e for e in declared.entities if e not in ALL_ENTITIES)
        return cls(entities=entities, score_threshold=score_threshold, declared=declared)

    @property
    def ner_loaded(self) -> bool:
        """Whether the NER model has been loaded."""
        return self._ner.loaded

    def analyze(self, text: str) -> tuple[Finding, ...]:
        """Return the findings in ``text`` without redacting it.

        Parameters
        ----------
        text
            Free text.

        Returns
        -------
        tuple[Finding, ...]
            Non-overlapping findings, sorted by start.

        """
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[tuple[Finding, ...]]:
        """Return the findings for each text, running NER in batches.

        Parameters
        ----------
        texts
            Free texts.

        Returns
        -------
        list[tuple[Finding, ...]]
            One tuple of non-overlapping findings per text.

        """
        if self._needs_ner:
            artifacts: list[NerArtifacts | None] = [NerArtifacts(r) for r in self._ner.read_many(texts)]
        else:
            artifacts = [None] * len(texts)
        found = []
        for text, artifact in zip(texts, artifacts, strict=True):
            results = self._analyzer.analyze(
                text=text,
                language=LANGUAGE,
                entities=list(self.entities),
                nlp_artifacts=artifact,
                score_threshold=self.score_threshold,
                return_decision_process=True,  # keeps each result's explanation for --explain
            )
            found.append(resolve(results))
        return found

    def redact(self, text: str) -> RedactionResult:
        """Return ``text`` with every finding replaced by its typed placeholder.

        Parameters
        ----------
        text
            Free text.

        Returns
        -------
        RedactionResult
            The redacted text and the findings.

        """
        return self.redact_many([text])[0]

    def redact_many(self, texts: Sequence[str]) -> list[RedactionResult]:
        """Redact many texts; NER runs in batches, so this is faster than a loop over :meth:`redact`.

        Parameters
        ----------
        texts
            Free texts.

        Returns
        -------
        list[RedactionResult]
            One result per text, in order.

        """
        out = []
        for text, findings in zip(texts, self.analyze_many(texts), strict=True):
            if not findings:
                out.append(RedactionResult(text, ()))
                continue
            results = [AnonymizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
            anonymized = self._anonymizer.anonymize(
                text=text, analyzer_results=results, operators=self._operators
            )
            out.append(RedactionResult(anonymized.text, findings))
        return out


def resolve(results: Sequence[RecognizerResult]) -> tuple[Finding, ...]:
    """Merge overlapping results into non-overlapping findings.

    Overlapping results, of one type or of several, become their union: every character some
    detector marked stays masked, and no finding reaches beyond what a detector marked (touching
    spans stay apart, so a placeholder never swallows a neighbouring character). The union takes
    the type and detail of its highest-scoring result and names every recognizer involved.

    Parameters
    ----------
    results
        Analyzer results.

    Returns
    -------
    tuple[Finding, ...]
        Non-overlapping findings sorted by start.

    """
    groups: list[list[RecognizerResult]] = []
    end = -1
    for result in sorted(results, key=lambda r: (r.start, r.end)):
        if groups and result.start < end:
            groups[-1].append(result)
            end = max(end, result.end)
        else:
            groups.append([result])
            end = result.end
    findings = []
    for group in groups:
        ranked = sorted(group, key=lambda r: (-r.score, -(r.end - r.start), r.start))
        names: list[str] = []
        for result in ranked:
            name = str((result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, ""))
            if name not in names:
                names.append(name)
        top = ranked[0]
        detail = top.analysis_explanation.textual_explanation if top.analysis_explanation else ""
        findings.append(
            Finding(
                top.entity_type,
                min(r.start for r in group),
                max(r.end for r in group),
                # Rounded: batching changes model scores in the 10th decimal, never a decision.
                round(top.score, 4),
                "+".join(names),
                str(detail or ""),
            )
        )
    return tuple(findings)
