"""The complaint-handling figures of ``policies/complaints.toml``, validated once at load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file

__all__ = ["COMPLAINTS_FILE", "ComplaintPolicy"]

COMPLAINTS_FILE = "complaints.toml"


class ComplaintPolicy(BaseModel):
    """SLA clocks and escalation targets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response_hours: float = Field(gt=0, le=720)
    resolution_plan_hours: float = Field(gt=0, le=2160)
    serious_escalate_to: str = Field(min_length=1, max_length=64)
    overdue_escalate_to: str = Field(min_length=1, max_length=64)

    @property
    def first_response(self) -> dt.timedelta:
        """Time allowed for the first response."""
        return dt.timedelta(hours=self.first_response_hours)

    @property
    def resolution_plan(self) -> dt.timedelta:
        """Time allowed for the resolution plan."""
        return dt.timedelta(hours=self.resolution_plan_hours)

    @classmethod
    def from_directory(cls, policies_dir: Path) -> ComplaintPolicy:
        """Load ``<policies_dir>/complaints.toml``.

        Raises
        ------
        ConfigError
            When the file is missing or invalid; the message names the key.

        """
        return load_policy_file(cls, policies_dir / COMPLAINTS_FILE)
