"""The bureau's own logic: the consortium directory (later also routing and aggregation)."""

from gateway.bureau.directory import ConsortiumDirectory, MemberView

__all__ = ["ConsortiumDirectory", "MemberView"]
