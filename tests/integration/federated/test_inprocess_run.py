"""An in-process run of the real ServerApp and ClientApp: it learns, and the server sees only sums."""

from __future__ import annotations

import numpy as np
import pytest

from federated.features.sources import csv_rows, load_table
from federated.features.spec import load_spec
from federated.features.splits import split_book
from federated.features.table import stratified_split
from federated.lanes import ENVELOPE, replies_of
from federated.policy import shipped_policy
from federated.settings import DEFAULT_SPEC
from gateway.clock import local_date, system_clock

from .conftest import DATA, MEMBERS, SEGMENT, RecordedRun

# "cert" and "sig": the member's certificate and its signature over pk1/pk2 (federated.key_binding).
SECAGG_KEYS = {"pk1", "pk2", "cert", "sig", "dsts", "ctxts", "masked_params", "nids", "shares"}


def test_run_improves_auc_over_the_initial_model(recorded_run: RecordedRun) -> None:
    rounds = recorded_run.results["rounds"]
    assert recorded_run.results["status"] == "finished"
    assert [r["round"] for r in rounds] == [0, 1, 2, 3]
    assert all(r["members"] == MEMBERS for r in rounds[1:])
    assert rounds[-1]["auc"] > rounds[0]["auc"] + 0.1
    assert rounds[-1]["auc"] > 0.72


def test_server_receives_no_individual_member_figure(recorded_run: RecordedRun) -> None:
    replies = [m for m in recorded_run.received if not m.has_error()]
    # profile, stats-mean, stats-var, evaluate, then train + evaluate per round: 10 aggregations, two
    # exchanges each (the next one's SecAgg+ key stages in the same messages) plus the first's keys.
    assert recorded_run.results["timing"]["aggregations"] == {
        "profile": 1, "stats-mean": 1, "stats-var": 1, "evaluate": 4, "train": 3,
    }  # fmt: skip
    assert len(replies) == MEMBERS * (2 + 2 * 10) == MEMBERS * recorded_run.results["timing"]["exchanges"]
    for reply in replies:
        # Every record is inside the envelope of one or two SecAgg+ instances (federated.lanes).
        assert set(reply.content) == {ENVELOPE}
        lanes = replies_of(reply)
        assert 1 <= len(lanes) <= 2
        for content in lanes.values():
            # No array leaves a member in clear: SecAgg+ cleared the parameters record.
            assert all(len(record) == 0 for record in content.array_records.values())
            # num_examples is the constant 1 and there are no metrics.
            for name, record in content.metric_records.items():
                assert name == "fitres.num_examples"
                assert dict(record) == {"num_examples": 1}
            for name, record in content.config_records.items():
                if name == "fitres.metrics":
                    assert len(record) == 0
                elif name == "fitres.status":
                    assert dict(record) == {"code": 0, "message": "Success"}
                else:
                    assert name == "secaggplus_configs"
                    assert set(record) <= SECAGG_KEYS
                    # What is left are keys, ciphertexts, masked vectors, node ids and shares: no floats.
                    for value in record.values():
                        items = value if isinstance(value, list) else [value]
                        assert all(isinstance(v, bytes | int) and not isinstance(v, bool) for v in items)


def test_normalisation_equals_the_pooled_statistics(recorded_run: RecordedRun) -> None:
    # The masked sums give the same means and deviations as pooling the members' rows would.
    import json
    from pathlib import Path

    spec = load_spec(DEFAULT_SPEC)
    split = split_book(csv_rows(DATA, spec), target=spec.target, by=SEGMENT, parts=MEMBERS)
    train_rows = []
    for part in split.members:
        member = load_table(part, spec, as_of=local_date(system_clock()))
        rest, _ = stratified_split(member.labels, fraction=0.2, seed=7)
        train_rows.append(member.matrix(spec, {})[rest].astype(np.float64))
    pooled = np.concatenate(train_rows)
    model = json.loads(Path(recorded_run.results["model"]).read_text())
    assert recorded_run.results["training_rows"] == pooled.shape[0]
    assert np.asarray(model["mean"]) == pytest.approx(pooled.mean(axis=0), abs=1e-4)
    # SecAgg+ quantises each scaled sum with stochastic rounding (step ≈ ¼ row per member), so a
    # feature with a small variance carries a relative error of about 1e-3 in its deviation.
    assert np.asarray(model["std"]) == pytest.approx(pooled.std(axis=0, ddof=1), rel=1e-2)


def test_model_card_embeds_plots_and_aggregate_summary(recorded_run: RecordedRun) -> None:
    from pathlib import Path

    card = Path(recorded_run.results["model_card"]).read_text(encoding="utf-8")
    assert card.count("data:image/png;base64,") == 2
    assert f"{MEMBERS} members" in card
    # On by default: the run config states no dp-epsilon, so the policy's default applies.
    assert f"(target {shipped_policy().privacy.default_epsilon})" in card
    assert "record-level DP-SGD at every member" in card
