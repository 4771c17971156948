"""The subject check's figures, read once from ``policies/subject_check.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.errors import ConfigError

POLICY_FILE = "subject_check.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Buckets(_Frozen):
    """Half-open buckets given by their lower bounds; the last is unbounded."""

    lower_bounds: tuple[int, ...] = Field(min_length=1)
    labels: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Buckets:
        if len(self.labels) != len(self.lower_bounds):
            raise ValueError("labels and lower_bounds must have the same length")
        if list(self.lower_bounds) != sorted(set(self.lower_bounds)):
            raise ValueError("lower_bounds must be strictly increasing")
        return self

    def index(self, value: float) -> int:
        """The bucket holding ``value`` (values below the first bound fall in the first)."""
        position = 0
        for number, bound in enumerate(self.lower_bounds):
            if value >= bound:
                position = number
        return position


class Aggregation(_Frozen):
    """Coverage and round rules."""

    min_answering_members: int = Field(ge=3)
    min_members_per_segment: int = Field(ge=1)
    max_attempts: int = Field(ge=1, le=5)
    member_deadline_seconds: float = Field(gt=0)
    max_subjects_per_chunk: int = Field(ge=1, le=2000)


class RateLimits(_Frozen):
    """Per-querier and per-member limits enforced at the bureau."""

    subjects_per_minute: int = Field(ge=1)
    subjects_per_day: int = Field(ge=1)
    oprf_evaluations_per_minute: int = Field(ge=1)


class SubjectAccess(_Frozen):
    """Limits responders apply to relayed subject-access requests."""

    max_per_relayer_per_day: int = Field(ge=1)


class OPRFCaps(_Frozen):
    """Per-member caps on OPRF evaluations, sized to each member's book."""

    default_book_size: int = Field(ge=1)
    daily_book_multiple: float = Field(gt=0)
    monthly_book_multiple: float = Field(gt=0)
    alert_fraction: float = Field(gt=0, lt=1)
    book_size: dict[str, int] = Field(default_factory=dict)

    def daily(self, member_id: str) -> int:
        """The member's daily cap."""
        return int(self.book_size.get(member_id, self.default_book_size) * self.daily_book_multiple)

    def monthly(self, member_id: str) -> int:
        """The member's monthly cap."""
        return int(self.book_size.get(member_id, self.default_book_size) * self.monthly_book_multiple)


class KeyRotation(_Frozen):
    """How long both OPRF epochs answer after a rotation."""

    grace_hours: float = Field(ge=0)


class Reciprocity(_Frozen):
    """Whether a member must contribute blacklist listings to search."""

    required: bool


class SubjectCheckSettings(_Frozen):
    """Everything in ``policies/subject_check.toml``, validated."""

    layout_version: int = Field(ge=1)
    time_zone: str
    window_days: tuple[int, ...] = Field(min_length=1)
    count_buckets: Buckets
    outstanding_buckets: Buckets
    dpd_buckets: Buckets
    aggregation: Aggregation
    rate_limits: RateLimits
    reciprocity: Reciprocity
    subject_access: SubjectAccess
    oprf_caps: OPRFCaps
    key_rotation: KeyRotation

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone rules are evaluated in."""
        return ZoneInfo(self.time_zone)

    @classmethod
    def from_directory(cls, policies_dir: Path) -> SubjectCheckSettings:
        """Load and validate the policy file.

        Raises
        ------
        ConfigError
            Naming the file and the offending key.

        """
        path = policies_dir / POLICY_FILE
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            settings = cls.model_validate(raw)
            settings.zone  # noqa: B018 - validates the zone name at load time
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise ConfigError(f"{path}: {key}: {first['msg']}") from exc
        except ZoneInfoNotFoundError as exc:
            raise ConfigError(f"{path}: time_zone: unknown zone {raw.get('time_zone')!r}") from exc
        return settings
