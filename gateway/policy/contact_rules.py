"""The collection contact rules of ``policies/contact_rules.toml``, validated once at load."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file
from gateway.store.enums import ContactChannel

__all__ = ["CONTACT_RULES_FILE", "ContactRules"]

CONTACT_RULES_FILE = "contact_rules.toml"


class ContactRules(BaseModel):
    """Quiet hours and daily caps (REFERENCE.md "Collection conduct")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str
    quiet_hours_start: int = Field(ge=0, le=23)
    quiet_hours_end: int = Field(ge=0, le=23)
    connected_calls_per_debtor_per_day: int = Field(ge=1)
    unanswered_attempts_per_number_per_day: int = Field(ge=1)
    call_channels: frozenset[ContactChannel] = Field(min_length=1)

    @property
    def zone(self) -> ZoneInfo:
        """The zone the rules are evaluated in."""
        return ZoneInfo(self.time_zone)

    def in_quiet_hours(self, hour: int) -> bool:
        """Whether a local ``hour`` (0–23) falls in the quiet hours (which may wrap midnight)."""
        start, end = self.quiet_hours_start, self.quiet_hours_end
        return start <= hour < end if start < end else hour >= start or hour < end

    @classmethod
    def from_directory(cls, policies_dir: Path) -> ContactRules:
        """Load ``<policies_dir>/contact_rules.toml``.

        Raises
        ------
        ConfigError
            When the file is missing or invalid; the message names the key.

        """
        return load_policy_file(cls, policies_dir / CONTACT_RULES_FILE)
