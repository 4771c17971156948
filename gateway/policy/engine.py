"""The one policy decision point, over the Cedar policies shipped in ``policies/cedar``.

Cedar denies by default: a request is allowed only when some ``permit`` matches
and no ``forbid`` does. Policies are validated against the schema when loaded,
so a typo in a policy stops the node at start-up rather than silently denying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cedarpy

from gateway.errors import ConfigError, PolicyDenied
from gateway.identity.peer import Peer, Role

SCHEMA_FILE = "schema.cedarschema"
ContextValue = str | int | bool

_PLAIN_CACHE = 4096


@dataclass(frozen=True)
class Decision:
    """Outcome of one policy evaluation.

    Attributes
    ----------
    allowed
        Whether a permit matched and no forbid did.
    policy_ids
        The ``@id`` of each policy that determined the outcome (empty for the default deny).

    """

    allowed: bool
    policy_ids: tuple[str, ...]

    @property
    def reason(self) -> str:
        """Plain words for the audit log."""
        if self.policy_ids:
            return ", ".join(self.policy_ids)
        return "no policy permits this" if not self.allowed else "permitted"


class PolicyDecisionPoint:
    """Evaluates requests against a validated Cedar policy set.

    Parameters
    ----------
    node_id, node_role
        The node deciding: every request's resource.
    policy_text, schema_text
        Cedar policies and schema; use :meth:`from_directory` to load the shipped ones.

    """

    def __init__(self, *, node_id: str, node_role: Role, policy_text: str, schema_text: str) -> None:
        validation = cedarpy.validate_policies(policy_text, schema_text)
        if not validation.validation_passed:
            problems = "; ".join(str(error) for error in validation.errors)
            raise ConfigError(f"Cedar policies do not validate against the schema: {problems}")
        self._policies = cedarpy.PolicySet.from_str(policy_text)
        self._schema = cedarpy.Schema.from_str(schema_text)
        self._plain: dict[tuple[str, Role, str], Decision] = {}
        self._node = {
            "uid": {"type": "Node", "id": node_id},
            "attrs": {"role": node_role.value},
            "parents": [],
        }

    @classmethod
    def from_directory(cls, directory: Path, *, node_id: str, node_role: Role) -> PolicyDecisionPoint:
        """Load every ``*.cedar`` file and the schema from ``directory``.

        Raises
        ------
        ConfigError
            When the folder, the schema or the policies are missing or invalid.

        """
        cedar_dir = directory / "cedar"
        policy_files = sorted(cedar_dir.glob("*.cedar"))
        if not policy_files:
            raise ConfigError(f"no Cedar policies (*.cedar) in {cedar_dir}")
        try:
            schema_text = (cedar_dir / SCHEMA_FILE).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read Cedar schema {cedar_dir / SCHEMA_FILE}") from exc
        policy_text = "\n".join(path.read_text(encoding="utf-8") for path in policy_files)
        return cls(node_id=node_id, node_role=node_role, policy_text=policy_text, schema_text=schema_text)

    def decide(self, peer: Peer, action: str, context: Mapping[str, ContextValue] | None = None) -> Decision:
        """Evaluate ``action`` by ``peer`` on this node; never raises for a denial.

        Decisions without a context depend on the caller's id, role and the action only, and
        the policies are immutable once loaded: those are remembered (every RPC asks one).
        """
        if not context:
            key = (peer.member_id, peer.role, action)
            cached = self._plain.get(key)
            if cached is None:
                cached = self._evaluate(peer, action, None)
                if len(self._plain) < _PLAIN_CACHE:
                    self._plain[key] = cached
            return cached
        return self._evaluate(peer, action, context)

    def _evaluate(self, peer: Peer, action: str, context: Mapping[str, ContextValue] | None) -> Decision:
        principal = {"type": "Member", "id": peer.member_id}
        entities = [{"uid": principal, "attrs": {"role": peer.role.value}, "parents": []}, self._node]
        request = {
            "principal": principal,
            "action": {"type": "Action", "id": action},
            "resource": self._node["uid"],
            "context": dict(context or {}),
        }
        result = cedarpy.is_authorized(request, self._policies, entities, schema=self._schema)
        annotations = result.diagnostics.id_annotations_by_reason
        ids = tuple(annotations.get(reason, reason) for reason in result.diagnostics.reasons)
        return Decision(allowed=result.allowed, policy_ids=ids)

    def authorize(
        self, peer: Peer, action: str, context: Mapping[str, ContextValue] | None = None
    ) -> Decision:
        """Like :meth:`decide`, but raise on denial.

        Raises
        ------
        PolicyDenied
            When no policy permits the action, naming the action and the caller's role.

        """
        decision = self.decide(peer, action, context)
        if not decision.allowed:
            raise PolicyDenied(f"{action} is not permitted for role {peer.role.value}")
        return decision
