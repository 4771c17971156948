"""CN_PERSON and CN_ADDRESS from Baidu LAC's ``PER`` and ``LOC`` tags, in an ensemble with the char model.

LAC knows bare places and names from a large news corpus; the character model knows which of
them stand inside an organisation, a company or a title. A LAC word is added unless the model
claims it for such a type (:func:`gateway.egress.charner.lac_spans`): the model vetoes LAC's
additions, never the other way round, and neither removes a finding of the other.
"""

from __future__ import annotations

from gateway.egress.charner import Reading, lac_spans
from gateway.egress.recognizers._model import ModelRecognizer
from gateway.egress.registry import register

_TAG = {"CN_PERSON": "PER", "CN_ADDRESS": "LOC"}


@register
class LacRecognizer(ModelRecognizer):
    """LAC person and place words not vetoed by the character model."""

    def spans(self, reading: Reading, text: str) -> list[tuple[str, int, int, float]]:
        """Return LAC's names and places that the character model does not claim for another type.

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
        return lac_spans(reading.lac_tokens, reading.probabilities, self.ner.config, text)

    def reason(self, entity: str, score: float) -> str:
        """Return the explanation: the LAC tag, kept because the model did not veto it."""
        return f"LAC {_TAG[entity]} tag, not vetoed by the character model"
