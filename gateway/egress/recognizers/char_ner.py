"""CN_PERSON and CN_ADDRESS from the character NER model (:mod:`gateway.egress.charner`).

The model gives every character a probability of being part of a name or an address; runs of
such characters become findings (:func:`gateway.egress.charner.personal_spans`). Other detectors
(rules, cues, the gazetteer) only ever add to what the model finds: nothing removes or trims a
model finding.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc
from spacy.vocab import Vocab

from gateway.egress.charner import CharNER, Reading, personal_spans
from gateway.egress.recognizers._base import LANGUAGE
from gateway.egress.registry import register

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


@register
class CharNERRecognizer(EntityRecognizer):
    """Person names and addresses from the character NER model.

    Parameters
    ----------
    ner
        The model to use; a new lazily loaded one by default.

    """

    ENTITIES: ClassVar[tuple[str, ...]] = ("CN_PERSON", "CN_ADDRESS")
    NEEDS_NER: ClassVar[bool] = True

    def __init__(self, ner: CharNER | None = None) -> None:
        self.ner = ner or CharNER()
        super().__init__(
            supported_entities=list(self.ENTITIES), supported_language=LANGUAGE, name="CharNERRecognizer"
        )

    def load(self) -> None:
        """Nothing here: the model is loaded on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the name and address spans of ``text``.

        Parameters
        ----------
        text
            Text to analyse.
        entities
            Requested entity types.
        nlp_artifacts
            A :class:`NerArtifacts` with precomputed probabilities, or anything else to run the model now.

        Returns
        -------
        list[RecognizerResult]
            One result per span, scored with the span's highest probability.

        """
        wanted = [entity for entity in self.ENTITIES if not entities or entity in entities]
        if not wanted or not text:
            return []
        if isinstance(nlp_artifacts, NerArtifacts):
            probabilities = nlp_artifacts.reading.probabilities
        else:
            probabilities = self.ner.probabilities_many([text])[0]
        results = []
        for entity, start, end, score in personal_spans(probabilities, self.ner.config, text):
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
                        textual_explanation=f"character NER model, p(personal) up to {score:.2f}",
                    ),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results
