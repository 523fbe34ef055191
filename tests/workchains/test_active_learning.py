"""ActiveLearningWorkChain end to end on replayed FZJ data: decisions, provenance, failures."""

import re

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.datasets import load_fzj
from aiida_bigmap_al.learning import STRATEGIES, initial_picks, pool_campaign
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain
from aiida_bigmap_al.workchains.batch_campaign import BatchCampaignWorkChain

T = 293.15


@pytest.fixture(scope="module")
def pool(fzj_csv):
    X, y, _ = load_fzj(fzj_csv).pool(T)
    return X, y


def inputs(pool, strategy="gp-exploit", budget=6, **extra):
    X, y = pool
    table = orm.ArrayData({"X": np.column_stack([X, np.full(len(X), T)]), "y": y})
    return {
        "space": orm.Dict(fzj_space(temperatures=[T]).to_dict()),
        "strategy": orm.Dict(STRATEGIES[strategy].model_dump(mode="json")),
        "budget": orm.Int(budget),
        "seed": orm.Int(3),
        "candidates": orm.ArrayData({"X": X}),
        "methods": {"replay": {"table": table}},
        **extra,
    }


def measured_rows(node, X):
    rows = node.outputs.dataset["rows"]
    return [int(np.flatnonzero(np.isclose(X, [row["r"], row["c"]]).all(axis=1))[0]) for row in rows]


def test_campaign_makes_the_same_decisions_as_the_pure_python_campaign(aiida_profile, pool):
    X, y = pool
    _, node = run_get_node(ActiveLearningWorkChain, **inputs(pool))
    assert node.is_finished_ok, node.exit_message
    space = fzj_space(temperatures=[T])
    expected = pool_campaign(X, y, STRATEGIES["gp-exploit"], 3, space.bounds, space.names,
                             conditions={"temperature": T}, budget=6)
    assert measured_rows(node, X) == list(expected)
    assert node.outputs.best["value"] == pytest.approx(y[expected].max())
    assert len(node.outputs.history["iterations"]) == 6


def test_provenance_chain_dataset_model_suggestion_measurement_dataset(aiida_profile, pool):
    _, node = run_get_node(ActiveLearningWorkChain, **inputs(pool, budget=3))
    calcfunction = orm.CalcFunctionNode
    qb = orm.QueryBuilder()
    qb.append(orm.WorkChainNode, filters={"id": node.pk}, project="*", tag="campaign")
    qb.append(calcfunction, with_incoming="campaign", project="*", tag="fit",
              filters={"attributes.process_label": "fit_model"})
    qb.append(orm.Dict, with_outgoing="fit", project="*", tag="dataset_n",
              filters={"attributes": {"has_key": "rows"}})
    qb.append(orm.Dict, with_incoming="fit", project="*", tag="model")
    qb.append(calcfunction, with_incoming="model", project="*", tag="suggest",
              filters={"attributes.process_label": "suggest"})
    qb.append(orm.Dict, with_incoming="suggest", project="*", tag="suggestion")
    qb.append(calcfunction, with_incoming="suggestion", project="*", tag="measure",
              filters={"attributes.process_label": "replay_measurement"})
    qb.append(orm.Dict, with_incoming="measure", project="*", tag="measurement")
    qb.append(calcfunction, with_incoming="measurement", project="*", tag="append",
              filters={"attributes.process_label": "append_measurements"})
    qb.append(orm.Dict, with_incoming="append", project="*", tag="dataset_next")
    chains = qb.all(flat=False)
    assert len(chains) == 2  # two model versions after the random start
    for _, _, dataset_n, model, _, suggestion, _, measurement, _, dataset_next in chains:
        assert model["version"] == dataset_n["version"] == dataset_next["version"] - 1
        assert model["training_data"] == dataset_n.uuid
        assert suggestion["model_version"] == model["version"]
        assert dataset_next["rows"][-1]["measurement"] == measurement.uuid
        assert measurement["formulation"] == suggestion["formulation"]
    assert node.outputs.dataset.uuid in {chain[-1].uuid for chain in chains}


def test_invalid_configuration_is_refused_at_launch(aiida_profile, pool):
    bad = inputs(pool, strategy="gp-exploit")
    bad["strategy"] = orm.Dict({"surrogate": {"name": "svm"}, "acquisition": {"name": "ucb"}})
    with pytest.raises(ValueError, match="unknown surrogate 'svm'"):
        run_get_node(ActiveLearningWorkChain, **bad)


def replay_table_without(pool, missing):
    X, y = pool
    keep = ~np.isin(np.arange(len(X)), missing)
    return orm.ArrayData({"X": np.column_stack([X, np.full(len(X), T)])[keep], "y": y[keep]})


@pytest.mark.parametrize("workchain", [ActiveLearningWorkChain, BatchCampaignWorkChain])
def test_a_failed_measurement_is_reported_and_the_campaign_goes_on(aiida_profile, pool, workchain):
    start = initial_picks(len(pool[0]), 2, 3)
    spec = inputs(pool, budget=4, n_initial=orm.Int(2), batch_size=orm.Int(2))
    spec["methods"]["replay"]["table"] = replay_table_without(pool, start[:1])
    _, node = run_get_node(workchain, **spec)
    assert node.is_finished_ok, node.exit_message
    iterations = node.outputs.history["iterations"]
    assert len(iterations[0]["failed"]) == 1
    assert "no row of table" in iterations[0]["failed"][0]["message"]
    assert len(node.outputs.dataset["rows"]) == 4
    assert start[0] not in measured_rows(node, pool[0])
    # The batch campaign's process handler dealt with it, and says so as aiida-core's restart.py does.
    failed = next(c for c in node.called if c.process_label == "replay_measurement" and not c.is_finished_ok)
    assert node.base.extras.get("considered_handlers") == [[failed.pk, ["report_and_go_on", {
        "do_break": True, "exit_status": 0}]]]


def test_a_batch_whose_measurements_all_fail_stops_the_campaign(aiida_profile, pool):
    spec = inputs(pool, budget=4)
    spec["methods"]["replay"]["table"] = replay_table_without(pool, np.arange(len(pool[0])))
    _, node = run_get_node(ActiveLearningWorkChain, **spec)
    assert node.exit_status == ActiveLearningWorkChain.exit_codes.ERROR_ALL_MEASUREMENTS_FAILED.status


def initial_rows(pool, rows, temperature=T):
    X, y = pool
    return orm.Dict({"version": 0, "variables": ["r", "c"], "unit": "mS/cm", "rows": [
        {"r": float(X[i, 0]), "c": float(X[i, 1]), "temperature": temperature, "value": float(y[i]),
         "origin": "experiment", "measurement": None} for i in rows]})


def test_a_campaign_starts_from_initial_data_within_its_budget(aiida_profile, pool):
    X, _ = pool
    _, node = run_get_node(ActiveLearningWorkChain, **inputs(pool, budget=5, initial_data=initial_rows(pool, [0, 1, 2])))
    assert node.is_finished_ok, node.exit_message
    assert measured_rows(node, X)[:3] == [0, 1, 2]
    assert len(set(measured_rows(node, X))) == 5  # two new measurements, none repeated
    first_fit = min((c for c in node.called if c.process_label == "fit_model"), key=lambda c: c.ctime)
    assert len(first_fit.inputs.dataset["rows"]) == 3


@pytest.mark.parametrize("document, message", [
    ({"version": 0}, "`initial_data` needs a list of `rows`"),
    ({"version": 0, "rows": [{"r": 0.5, "c": 1.0, "temperature": 298.15}]}, "'value'"),
])
def test_bad_initial_data_is_refused_at_launch(aiida_profile, pool, document, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_get_node(ActiveLearningWorkChain, **inputs(pool, initial_data=orm.Dict(document)))


def test_initial_data_at_another_temperature_is_refused_naming_the_row(aiida_profile, pool):
    start = initial_rows(pool, [0, 1], temperature=T - 20)
    with pytest.raises(ValueError, match="dataset row 0 is at 273.15 K"):
        run_get_node(ActiveLearningWorkChain, **inputs(pool, initial_data=start))


def test_replay_reads_the_suggestion_by_variable_name_not_key_order(aiida_profile, pool):
    # PostgreSQL's JSONB returns a document's keys sorted ("c" before "r"), not as written.
    from aiida_bigmap_al.workchains.functions import replay_measurement
    from aiida_bigmap_al.workchains.records import suggestion_document

    X, y = pool
    document = suggestion_document({"r": float(X[5, 0]), "c": float(X[5, 1])}, T)
    document["variables"] = {"c": document["variables"]["c"], "r": document["variables"]["r"]}
    table = orm.ArrayData({"X": np.column_stack([X, np.full(len(X), T)]), "y": y})
    result, node = replay_measurement.run_get_node(orm.Dict(document), table)
    assert node.is_finished_ok, node.exit_message
    assert result["fom_data"]["value"] == pytest.approx(y[5])


def test_a_start_larger_than_the_budget_is_refused(aiida_profile, pool):
    with pytest.raises(ValueError, match=re.escape("`n_initial` (4) exceeds the `budget` (2)")):
        run_get_node(ActiveLearningWorkChain, **inputs(pool, budget=2, n_initial=orm.Int(4)))


def test_the_batch_campaign_names_its_own_measurement_methods_only(aiida_profile, pool):
    assert "instruments" not in BatchCampaignWorkChain.spec().inputs["methods"]
    with pytest.raises(ValueError, match="no measurement method") as refusal:
        run_get_node(BatchCampaignWorkChain, **{**inputs(pool), "methods": {}})
    assert "`methods.replay.table`" in str(refusal.value) and "instruments" not in str(refusal.value)
