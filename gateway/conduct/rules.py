"""The conduct rules of ``policies/conduct.toml``, validated and compiled once at load."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway._internal.policy_file import load_policy_file

__all__ = ["CONDUCT_FILE", "METADATA_RULES", "ConductRule", "ConductRuleSet"]

CONDUCT_FILE = "conduct.toml"
QUIET_HOURS_RULE = "quiet_hours_contact"
OVER_CAP_RULE = "over_cap_contact"
METADATA_RULES = (QUIET_HOURS_RULE, OVER_CAP_RULE)
"""Rules decided from when and how often a call happened, not from what was said."""


class _RuleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)
    third_party_patterns: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()

    @field_validator("patterns", "third_party_patterns", "exceptions")
    @classmethod
    def _compiles(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} does not compile: {exc}") from exc
        return values


class _RuleFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    collector_speakers: frozenset[str] = Field(min_length=1)
    rules: tuple[_RuleSpec, ...] = Field(min_length=1)


@dataclass(frozen=True)
class ConductRule:
    """One rule, compiled: any pattern flags an utterance unless an exception matches it."""

    id: str
    title: str
    source: str
    patterns: tuple[re.Pattern[str], ...]
    third_party_patterns: tuple[re.Pattern[str], ...]
    exceptions: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class ConductRuleSet:
    """Every rule of the policy file, in file order."""

    version: int
    collector_speakers: frozenset[str]
    rules: tuple[ConductRule, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Text rules then the metadata rules, as the report counts them."""
        return (*(rule.id for rule in self.rules), *METADATA_RULES)

    @classmethod
    def from_directory(cls, policies_dir: Path) -> ConductRuleSet:
        """Load and compile ``<policies_dir>/conduct.toml``.

        Raises
        ------
        ConfigError
            When the file is missing, invalid, or a pattern does not compile; the message
            names the key.

        """
        spec = load_policy_file(_RuleFile, policies_dir / CONDUCT_FILE)
        return cls(
            spec.version,
            spec.collector_speakers,
            tuple(
                ConductRule(
                    rule.id,
                    rule.title,
                    rule.source,
                    tuple(re.compile(p) for p in rule.patterns),
                    tuple(re.compile(p) for p in rule.third_party_patterns),
                    tuple(re.compile(p) for p in rule.exceptions),
                )
                for rule in spec.rules
            ),
        )
