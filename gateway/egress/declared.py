"""Recognizers declared in YAML, so that a member adds a pattern without writing code.

Presidio lets a deployment declare pattern recognizers in YAML; ours follow the same idea with
the checks the built-in recognizers use. ``policies/egress_recognizers.yaml``::

    version: 1
    recognizers:
      - name: PassportRecognizer            # a class name, unique
        entity: CN_PASSPORT                  # upper-case entity type; becomes <CN_PASSPORT>
        patterns:
          - name: passport
            regex: "(?<![A-Z0-9])(?P<v>[EG][0-9]{8})(?![0-9])"   # group v is the span (else the match)
            score: 0.3
        context: [护照]                      # +0.35 when one of these is near the match
        negative_context: [订单]             # dropped when one of these precedes the match
        validator: none                      # or luhn, resident_id, uscc

The file is validated by pydantic when it is loaded: an unknown key, a regex that does not
compile, a score outside (0, 1], a duplicate name or a lower-case entity raises
:class:`~gateway.errors.ConfigError` naming the field; then the recognizers are immutable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.config import default_policies_dir
from gateway.egress.checksums import luhn_valid, uscc_valid
from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.errors import ConfigError, InvalidInputError
from gateway.identifiers import normalise_resident_id
from gateway.identifiers.text import fold_digits

FILE_NAME = "egress_recognizers.yaml"
Validator = Literal["none", "luhn", "resident_id", "uscc"]


class PatternSpec(BaseModel):
    """One regular expression and its base score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64)]
    regex: Annotated[str, Field(min_length=1, max_length=2000)]
    score: Annotated[float, Field(gt=0.0, le=1.0)]

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"expected a Python regular expression, got one that fails: {exc}") from None
        return value


class RecognizerSpec(BaseModel):
    """One declared recognizer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]{2,63}$")]
    entity: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")]
    patterns: Annotated[tuple[PatternSpec, ...], Field(min_length=1)]
    context: tuple[str, ...] = ()
    negative_context: tuple[str, ...] = ()
    validator: Validator = "none"


class RecognizersFile(BaseModel):
    """The whole YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    recognizers: tuple[RecognizerSpec, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> RecognizersFile:
        names = [spec.name for spec in self.recognizers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"expected unique recognizer names, got duplicates {duplicates}")
        return self


def _valid(validator: Validator, candidate: str) -> bool:
    folded = re.sub(r"[\s\-\u3000\uff0d]", "", fold_digits(candidate)).upper()
    if validator == "luhn":
        return luhn_valid(folded)
    if validator == "uscc":
        return uscc_valid(folded)
    if validator == "resident_id":
        try:
            normalise_resident_id(folded)
        except InvalidInputError:
            return False
    return True


class DeclaredRecognizer(ValidatedRecognizer):
    """Base of the classes built from :class:`RecognizerSpec` (one class per declared recognizer)."""

    ENTITY = "DECLARED"
    PATTERNS: ClassVar[tuple[re.Pattern[str], ...]] = ()
    SPEC: ClassVar[RecognizerSpec]
    SCORES: ClassVar[tuple[float, ...]] = ()

    def score(self, candidate: str) -> float | None:
        """Return the best base score of the patterns that match ``candidate``, if its validator passes.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        if not _valid(self.SPEC.validator, candidate):
            return None
        scores = [
            score
            for pattern, score in zip(self.PATTERNS, self.SCORES, strict=True)
            if pattern.search(candidate)
        ]
        return max(scores) if scores else max(self.SCORES)

    def explain(self, candidate: str) -> str:
        """Name the declaring file and validator.

        Parameters
        ----------
        candidate
            The accepted text (not shown).

        Returns
        -------
        str
            The reason.

        """
        return f"declared in {FILE_NAME}, validator {self.SPEC.validator}"


def _build(spec: RecognizerSpec) -> type[DeclaredRecognizer]:
    patterns = []
    for pattern in spec.patterns:
        compiled = re.compile(pattern.regex)
        if "v" not in compiled.groupindex:
            compiled = re.compile(f"(?P<v>{pattern.regex})")
        patterns.append(compiled)
    attributes = {
        "ENTITY": spec.entity,
        "PATTERNS": tuple(patterns),
        "SCORES": tuple(p.score for p in spec.patterns),
        "CONTEXT": spec.context,
        "NEGATIVE_CONTEXT": spec.negative_context,
        "SPEC": spec,
        "__doc__": f"Declared in {FILE_NAME}: {spec.entity}.",
    }
    return type(spec.name, (DeclaredRecognizer,), attributes)


class DeclaredRecognizers:
    """The validated recognizers of one YAML file; immutable once loaded.

    Parameters
    ----------
    specs
        Validated specifications.

    """

    def __init__(self, specs: Sequence[RecognizerSpec] = ()) -> None:
        self.specs = tuple(specs)
        self._classes = tuple(_build(spec) for spec in self.specs)

    @property
    def entities(self) -> tuple[str, ...]:
        """Entity types declared, in file order, without repeats."""
        return tuple(dict.fromkeys(spec.entity for spec in self.specs))

    def recognizers(self) -> list[DeclaredRecognizer]:
        """Return a new instance of every declared recognizer."""
        return [cls() for cls in self._classes]

    @classmethod
    def from_yaml(cls, text: str, *, source: str = FILE_NAME) -> DeclaredRecognizers:
        """Validate YAML text.

        Parameters
        ----------
        text
            The YAML document.
        source
            Name used in error messages.

        Returns
        -------
        DeclaredRecognizers
            The recognizers.

        Raises
        ------
        ConfigError
            When the YAML does not parse or does not fit the schema; the message names the field.

        """
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: expected YAML, got a parse error: {exc}") from exc
        try:
            parsed = RecognizersFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ConfigError(f"{source}: {problems}") from exc
        return cls(parsed.recognizers)

    @classmethod
    def from_file(cls, path: Path) -> DeclaredRecognizers:
        """Validate a YAML file; a missing file declares nothing.

        Parameters
        ----------
        path
            The file.

        Returns
        -------
        DeclaredRecognizers
            The recognizers.

        Raises
        ------
        ConfigError
            When the file does not fit the schema.

        """
        if not path.exists():
            return cls()
        return cls.from_yaml(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def default(cls) -> DeclaredRecognizers:
        """Return the recognizers of ``policies/egress_recognizers.yaml`` (read once)."""
        return _default()


@lru_cache(maxsize=1)
def _default() -> DeclaredRecognizers:
    return DeclaredRecognizers.from_file(default_policies_dir() / FILE_NAME)
