"""CN_PERSON and CN_ADDRESS from the character NER model (:mod:`gateway.egress.charner`).

The model gives every character a probability of being part of a name or an address; runs of
such characters become findings (:func:`gateway.egress.charner.personal_spans`). Other detectors
(LAC, rules, cues) only ever add to what the model finds: nothing removes or trims a model
finding.
"""

from __future__ import annotations

from gateway.egress.charner import Reading, personal_spans
from gateway.egress.recognizers._model import ModelRecognizer, NerArtifacts
from gateway.egress.registry import register

__all__ = ["CharNERRecognizer", "NerArtifacts"]


@register
class CharNERRecognizer(ModelRecognizer):
    """Person names and addresses from the character NER model."""

    def spans(self, reading: Reading, text: str) -> list[tuple[str, int, int, float]]:
        """Return the model's runs of personal characters (hysteresis thresholds, repeated mentions).

        Parameters
        ----------
        reading
            The models' reading of ``text``.
        text
            The text.

        Returns
        -------
        list[tuple[str, int, int, float]]
            ``(entity, start, end, score)``.

        """
        return personal_spans(reading.probabilities, self.ner.config, text)

    def reason(self, entity: str, score: float) -> str:
        """Return the explanation: the model and its highest probability in the span."""
        return f"character NER model, p(personal) up to {score:.2f}"
