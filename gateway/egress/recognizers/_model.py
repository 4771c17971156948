"""Shared machinery of the recognizers that read the NER models (character model, LAC)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc
from spacy.vocab import Vocab

from gateway.egress.charner import CharNER, Reading
from gateway.egress.recognizers._base import LANGUAGE

_EMPTY_DOC = Doc(Vocab(), words=[])


class NerArtifacts(NlpArtifacts):
    """NLP artifacts carrying what the models read, computed ahead for a batch.

    Parameters
    ----------
    reading
        From :meth:`CharNER.read_many`.

    """

    def __init__(self, reading: Reading) -> None:
        super().__init__(
            entities=[], tokens=_EMPTY_DOC, tokens_indices=[], lemmas=[], nlp_engine=None, language=LANGUAGE
        )
        self.reading = reading


class ModelRecognizer(EntityRecognizer, ABC):
    """A recognizer of names and addresses from a :class:`Reading` of the text.

    Parameters
    ----------
    ner
        The models to use; a new lazily loaded pair by default.

    """

    ENTITIES: ClassVar[tuple[str, ...]] = ("CN_PERSON", "CN_ADDRESS")
    NEEDS_NER: ClassVar[bool] = True

    def __init__(self, ner: CharNER | None = None) -> None:
        self.ner = ner or CharNER()
        super().__init__(
            supported_entities=list(self.ENTITIES), supported_language=LANGUAGE, name=type(self).__name__
        )

    def load(self) -> None:
        """Nothing here: the models are loaded on first use."""

    @abstractmethod
    def spans(self, reading: Reading, text: str) -> list[tuple[str, int, int, float]]:
        """Return ``(entity, start, end, score)`` found in the reading of ``text``."""

    @abstractmethod
    def reason(self, entity: str, score: float) -> str:
        """Return the explanation of one finding (never its value)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the names and addresses this recognizer finds in ``text``.

        Parameters
        ----------
        text
            Text to analyse.
        entities
            Requested entity types.
        nlp_artifacts
            A :class:`NerArtifacts` with a precomputed reading, or anything else to read now.

        Returns
        -------
        list[RecognizerResult]
            One result per span; scores below 0.5 are raised to 0.5 (the thresholds decided).

        """
        wanted = [entity for entity in self.ENTITIES if not entities or entity in entities]
        if not wanted or not text:
            return []
        if isinstance(nlp_artifacts, NerArtifacts):
            reading = nlp_artifacts.reading
        else:
            reading = self.ner.read_many([text])[0]
        return [
            RecognizerResult(
                entity_type=entity,
                start=start,
                end=end,
                score=max(score, 0.5),
                analysis_explanation=AnalysisExplanation(
                    recognizer=type(self).__name__,
                    original_score=score,
                    textual_explanation=self.reason(entity, score),
                ),
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )
            for entity, start, end, score in self.spans(reading, text)
            if entity in wanted
        ]
