"""Policy decision point: every request is decided by the Cedar policies in ``policies/``."""

from gateway.policy.engine import Decision, PolicyDecisionPoint

__all__ = ["Decision", "PolicyDecisionPoint"]
