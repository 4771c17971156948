"""A member answers each computation of a run once: the bureau cannot re-ask to average the noise away.

Every phase vector a member sends is one release of its rows (with DP noise when the run
has ε). The run's ε covers the releases the run plans: one profile, the normalisation
statistics, ``rounds`` training updates, ``rounds × tree-depth`` tree levels and at most
``rounds + 1`` evaluations. A bureau that asked the same computation again would get
fresh noise each time and could average it away (the re-ask of issue #13, finding 1, in
training). So the member keeps, in the run's context state, the key of every computation
it answered (phase, round, level; an evaluation by the model it scores) and refuses a key
it already answered or one outside the run's plan.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context

from federated.policy import RunRefused
from federated.protocol import Phase
from federated.settings import RunSettings

__all__ = ["RELEASES_RECORD", "ReleaseRefused", "record_release", "release_keys"]

#: The context-state record holding the keys answered in this run.
RELEASES_RECORD = "credgate_releases"
_KEYS = "keys"


class ReleaseRefused(RunRefused):
    """The bureau asked again for a computation this member already answered, or one outside the plan."""

    reason = "release_refused"


def release_keys(
    phase: Phase, settings: RunSettings, *, round_number: int, level: int = 0, evaluates: int | None = None
) -> list[str]:
    """The keys of the releases one request makes (a tree level may carry an evaluation too).

    ``evaluates`` is the round (lr/mlp) or number of trees (gbt) of the model an evaluation
    scores.

    Raises
    ------
    ReleaseRefused
        When the round, level or evaluated model lies outside the run's plan.

    """
    last_round = 0 if phase in (Phase.PROFILE, Phase.STATS_MEAN, Phase.STATS_VAR) else settings.rounds
    if not 0 <= round_number <= last_round:
        raise ReleaseRefused(f"round: {round_number} is outside the run's plan (0 to {last_round})")
    if phase is Phase.TREE_LEVEL and not 0 <= level < settings.tree_depth:
        raise ReleaseRefused(f"level: {level} is outside the run's plan (0 to {settings.tree_depth - 1})")
    keys = [f"{phase.value}:{round_number}:{level}"] if phase is not Phase.EVALUATE else []
    if evaluates is not None:
        if not 0 <= evaluates <= settings.rounds:
            raise ReleaseRefused(
                f"evaluate: model {evaluates} is outside the run's plan (0 to {settings.rounds})"
            )
        keys.append(f"evaluate:{evaluates}")
    return keys


def record_release(context: Context, keys: list[str]) -> None:
    """Refuse if any key was answered before in this run; otherwise remember them all.

    Raises
    ------
    ReleaseRefused
        Naming the key already answered.

    """
    record = context.state.config_records.get(RELEASES_RECORD)
    stored = record.get(_KEYS, []) if record is not None else []
    answered = [str(key) for key in stored] if isinstance(stored, list) else []
    repeated = [key for key in keys if key in answered]
    if repeated:
        raise ReleaseRefused(f"{repeated[0]}: already answered in this run; the bureau may not ask again")
    context.state.config_records[RELEASES_RECORD] = ConfigRecord({_KEYS: [*answered, *keys]})
