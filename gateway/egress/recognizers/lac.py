"""CN_PERSON and CN_ADDRESS from Baidu LAC's ``PER`` and ``LOC`` tags, in an ensemble with the char model.

LAC knows bare places and names from a large news corpus; the character model knows which of
them stand inside an organisation, a company or a title. A LAC word is added unless the model
claims it for such a type (:func:`gateway.egress.charner.lac_spans`): the model vetoes LAC's
additions, never the other way round, and neither removes a finding of the other.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from gateway.egress.charner import CharNER, lac_spans
from gateway.egress.recognizers._base import LANGUAGE
from gateway.egress.recognizers.char_ner import NerArtifacts
from gateway.egress.registry import register

_TAG = {"CN_PERSON": "PER", "CN_ADDRESS": "LOC"}


@register
class LacRecognizer(EntityRecognizer):
    """LAC person and place words not vetoed by the character model.

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
            supported_entities=list(self.ENTITIES), supported_language=LANGUAGE, name="LacRecognizer"
        )

    def load(self) -> None:
        """Nothing here: the models are loaded on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return LAC's names and places in ``text`` that the character model does not veto.

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
            One result per word.

        """
        wanted = [entity for entity in self.ENTITIES if not entities or entity in entities]
        if not wanted or not text:
            return []
        reading = (
            nlp_artifacts.reading
            if isinstance(nlp_artifacts, NerArtifacts)
            else self.ner.read_many([text])[0]
        )
        results = []
        for entity, start, end, score in lac_spans(
            reading.lac_tokens, reading.probabilities, self.ner.config, text
        ):
            if entity not in wanted:
                continue
            results.append(
                RecognizerResult(
                    entity_type=entity,
                    start=start,
                    end=end,
                    score=max(score, 0.5),
                    analysis_explanation=AnalysisExplanation(
                        recognizer=type(self).__name__,
                        original_score=score,
                        textual_explanation=f"LAC {_TAG[entity]} tag, not vetoed by the character model",
                    ),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results
