"""Context words on character windows, for text without word boundaries.

Presidio's default ``LemmaContextAwareEnhancer`` compares context words with the
lemmas of the tokens around a match. Chinese text analysed with the no-op NLP
engine has no tokens or lemmas, so it never fires. This enhancer looks for each
recognizer's context words as substrings of a window of characters before and
after the match instead, stopping at the end of the clause.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts

_CLAUSE_ENDS = "。！？；\n!?;"


def window(text: str, start: int, end: int, *, before: int, after: int) -> tuple[str, str]:
    """Return the characters before and after ``text[start:end]`` within one clause.

    Parameters
    ----------
    text
        The analysed text.
    start, end
        The match offsets.
    before, after
        Window sizes in characters.

    Returns
    -------
    tuple[str, str]
        The prefix and the suffix, each cut at a sentence-ending character.

    """
    prefix = text[max(0, start - before) : start]
    cut = max(prefix.rfind(char) for char in _CLAUSE_ENDS)
    if cut >= 0:
        prefix = prefix[cut + 1 :]
    suffix = text[end : end + after]
    positions = [pos for pos in (suffix.find(char) for char in _CLAUSE_ENDS) if pos >= 0]
    if positions:
        suffix = suffix[: min(positions)]
    return prefix, suffix


def has_context(
    text: str, start: int, end: int, words: tuple[str, ...] | list[str], *, before: int = 12, after: int = 6
) -> bool:
    """Return whether any of ``words`` occurs in the window around a match.

    Parameters
    ----------
    text
        The analysed text.
    start, end
        The match offsets.
    words
        Context words (substrings, no lemmatisation).
    before, after
        Window sizes in characters.

    Returns
    -------
    bool
        ``True`` when one of the words occurs before or after the match.

    """
    prefix, suffix = window(text, start, end, before=before, after=after)
    return any(word in prefix or word in suffix for word in words)


class CharWindowContextEnhancer(ContextAwareEnhancer):
    """Raise the score of a result whose recognizer's context words surround it.

    Parameters
    ----------
    context_similarity_factor
        Amount added to the score when a context word is found.
    min_score_with_context_similarity
        Floor for the score of a result with context.
    before, after
        Window sizes in characters.

    """

    def __init__(
        self,
        *,
        context_similarity_factor: float = 0.35,
        min_score_with_context_similarity: float = 0.55,
        before: int = 12,
        after: int = 6,
    ) -> None:
        super().__init__(
            context_similarity_factor=context_similarity_factor,
            min_score_with_context_similarity=min_score_with_context_similarity,
            context_prefix_count=before,
            context_suffix_count=after,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Return ``raw_results`` with context-supported scores raised.

        Parameters
        ----------
        text
            The analysed text.
        raw_results
            Results of all recognizers.
        nlp_artifacts
            Unused: the window is taken from ``text`` itself.
        recognizers
            The recognizers that ran; their ``context`` lists are used.
        context
            Extra context words given by the caller, applied to every result.

        Returns
        -------
        list[RecognizerResult]
            The same objects, some with a higher ``score``.

        """
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        for result in raw_results:
            if result.recognition_metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            recognizer = by_id.get(
                result.recognition_metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, "")
            )
            words = list(recognizer.context or []) if recognizer is not None else []
            words += context or []
            if not words or not has_context(
                text,
                result.start,
                result.end,
                words,
                before=self.context_prefix_count,
                after=self.context_suffix_count,
            ):
                continue
            result.score = max(
                min(result.score + self.context_similarity_factor, self.MAX_SCORE),
                self.min_score_with_context_similarity,
            )
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_results
