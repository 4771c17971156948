"""The collection contact rules of ``policies/contact_rules.toml``, validated once at load."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file
from gateway.store.enums import ContactChannel, ContactFlagKind

__all__ = ["CONTACT_RULES_FILE", "CapScope", "ContactRules", "FlagScope"]

CONTACT_RULES_FILE = "contact_rules.toml"


class CapScope(StrEnum):
    """Who the daily caps are counted across."""

    LENDER = "lender"
    CONSORTIUM = "consortium"


class FlagScope(StrEnum):
    """Whose collection a standing flag stops."""

    LENDER = "lender"
    CONSORTIUM = "consortium"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FlagScopes(_Frozen):
    """Scope of each flag kind a member may set (ENTRUSTMENT_ENDED is always the lender's)."""

    dispute: FlagScope
    do_not_contact: FlagScope
    deceased: FlagScope
    third_party_refused: FlagScope

    def of(self, kind: ContactFlagKind) -> FlagScope:
        """The scope of ``kind``."""
        if kind is ContactFlagKind.ENTRUSTMENT_ENDED:
            return FlagScope.LENDER
        scope: FlagScope = getattr(self, kind.value)
        return scope


class BureauContactSettings(_Frozen):
    """How the bureau keeps the clearance state and fails closed on missing flags."""

    retention_days: int = Field(ge=1, le=30)
    flag_padding_minimum: int = Field(ge=0, le=4096)
    flags_fail_closed: bool
    publish_next_day_from_hour: int = Field(ge=0, le=23)


class ContactRules(_Frozen):
    """Quiet hours, daily caps, third parties, visits and flags (REFERENCE.md "Collection conduct")."""

    time_zone: str
    quiet_hours_start: int = Field(ge=0, le=23)
    quiet_hours_end: int = Field(ge=0, le=23)
    connected_calls_per_debtor_per_day: int = Field(ge=1)
    unanswered_attempts_per_number_per_day: int = Field(ge=1)
    call_channels: frozenset[ContactChannel] = Field(min_length=1)
    quiet_hours_channels: frozenset[ContactChannel] = Field(min_length=1)
    cap_scope: CapScope
    reservation_seconds: int = Field(ge=10, le=3600)
    third_party_after_unanswered: int = Field(ge=0, le=100)
    visit_min_collectors: int = Field(ge=1, le=10)
    flag_scopes: FlagScopes
    bureau: BureauContactSettings

    @property
    def zone(self) -> ZoneInfo:
        """The zone the rules are evaluated in."""
        return ZoneInfo(self.time_zone)

    @property
    def number_channels(self) -> frozenset[ContactChannel]:
        """Channels that reach a number (and so name one to the bureau)."""
        return self.call_channels | {ContactChannel.SMS}

    def in_quiet_hours(self, hour: int) -> bool:
        """Whether a local ``hour`` (0–23) falls in the quiet hours (which may wrap midnight)."""
        start, end = self.quiet_hours_start, self.quiet_hours_end
        return start <= hour < end if start < end else hour >= start or hour < end

    def quiet_at(self, instant: dt.datetime) -> bool:
        """Whether ``instant`` (aware) falls in the local quiet hours; the start is quiet, the end is not."""
        return self.in_quiet_hours(instant.astimezone(self.zone).hour)

    def quiet_ends_after(self, instant: dt.datetime) -> dt.datetime:
        """The first local ``quiet_hours_end``:00 strictly after ``instant`` (UTC)."""
        return self._next_local_hour(instant, self.quiet_hours_end)

    def quiet_starts_after(self, instant: dt.datetime) -> dt.datetime:
        """The first local ``quiet_hours_start``:00 strictly after ``instant`` (UTC)."""
        return self._next_local_hour(instant, self.quiet_hours_start)

    def next_day_opening(self, instant: dt.datetime) -> dt.datetime:
        """When contact may resume on the local day after ``instant``'s: its quiet-hours end."""
        tomorrow = instant.astimezone(self.zone).date() + dt.timedelta(days=1)
        opening = dt.datetime.combine(tomorrow, dt.time(self.quiet_hours_end), tzinfo=self.zone)
        return opening.astimezone(dt.UTC)

    def _next_local_hour(self, instant: dt.datetime, hour: int) -> dt.datetime:
        local = instant.astimezone(self.zone)
        candidate = dt.datetime.combine(local.date(), dt.time(hour), tzinfo=self.zone)
        if candidate <= local:
            candidate = dt.datetime.combine(
                local.date() + dt.timedelta(days=1), dt.time(hour), tzinfo=self.zone
            )
        return candidate.astimezone(dt.UTC)

    @classmethod
    def from_directory(cls, policies_dir: Path) -> ContactRules:
        """Load ``<policies_dir>/contact_rules.toml``.

        Raises
        ------
        ConfigError
            When the file is missing or invalid; the message names the key.

        """
        return load_policy_file(cls, policies_dir / CONTACT_RULES_FILE)
