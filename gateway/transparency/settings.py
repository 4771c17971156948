"""The transparency policy (``policies/transparency.toml``): checkpoint interval and trust threshold."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file

__all__ = ["POLICY_FILE", "TransparencySettings"]

POLICY_FILE = "transparency.toml"


class TransparencySettings(BaseModel):
    """Validated ``transparency.toml``; immutable once loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checkpoint_seconds: float = Field(gt=0, le=3600)
    trusted_cosignatures: int = Field(ge=1, le=1000)
    trust_wait_seconds: float = Field(ge=0, le=600)

    @classmethod
    def from_directory(cls, policies_dir: Path) -> TransparencySettings:
        """Load ``policies_dir/transparency.toml``.

        Raises
        ------
        ConfigError
            When the file is missing or a value is out of range.

        """
        return load_policy_file(cls, policies_dir / POLICY_FILE)
