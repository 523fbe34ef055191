"""OneShotWorkChain on the FZJ data: distinct, ranked, in-space proposals close to the measured best."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.datasets import ConductivityData, load_fzj
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import OneShotWorkChain
from aiida_bigmap_al.workchains.one_shot import distinct_top
from aiida_bigmap_al.workchains.records import dataset_from
from aiida_bigmap_al.workchains.records import formulation_point

#: -20, 20 and 60 °C: the span of the demonstrator's range, and few enough rows (255) that the GP
#: fits in seconds; all ten temperatures take about a minute (see examples/one_shot_fzj.py).
TEMPERATURES = [253.15, 293.15, 333.15]
K = 5


@pytest.fixture(scope="module")
def data(fzj_csv):
    return load_fzj(fzj_csv)


def dataset_at(data, temperatures):
    """The dataset document of ``data`` restricted to ``temperatures``."""
    document = dataset_from(data)
    rows = [row for row in document["rows"] if np.isclose(row["temperature"], temperatures).any()]
    return {**document, "rows": rows}


def run(data, temperatures=TEMPERATURES, **extra):
    inputs = {"dataset": orm.Dict(dataset_at(data, temperatures)),
              "space": orm.Dict(fzj_space(temperatures=temperatures).to_dict()),
              "k": orm.Int(K), **extra}
    return run_get_node(OneShotWorkChain, **inputs)[1]


@pytest.fixture(scope="module")
def campaign(aiida_profile, data):
    node = run(data)
    assert node.is_finished_ok, node.exit_message
    return node


# --- pure helpers ------------------------------------------------------------------------------


def test_dataset_from_averages_replicates_per_formulation_and_temperature(data):
    document = dataset_from(data)
    rows = document["rows"]
    assert sum(row["replicates"] for row in rows) == len(data)
    assert len({(row["r"], row["c"], row["temperature"]) for row in rows}) == len(rows)
    row = max(rows, key=lambda row: row["replicates"])
    same = ((data.r == row["r"]) & (data.c == row["c"])
            & np.isclose(data.temperature, row["temperature"]))
    assert row["replicates"] == same.sum() > 1
    assert row["value"] == pytest.approx(data.conductivity[same].mean())
    assert {row["origin"] for row in rows} == {"experiment"}
    assert document["version"] == 0 and document["unit"] == "mS/cm"
    assert document["source"] == data.source


def test_dataset_from_rejects_bad_origin_and_unit():
    data = ConductivityData([298.15], [0.5], [1.0], [9.0], source="one row")
    with pytest.raises(ValueError, match="origin"):
        dataset_from(data, origin="guess")
    with pytest.raises(ValueError, match="'S/m', expected 'mS/cm'"):
        dataset_from(ConductivityData([298.15], [0.5], [1.0], [0.9], source="si",
                                      units={**data.units, "conductivity": "S/m"}))


def test_distinct_top_keeps_the_best_far_enough_apart():
    points = np.array([[0.0, 0.0], [0.01, 0.0], [0.5, 0.5], [1.0, 1.0], [0.52, 0.5]])
    means = np.array([5.0, 4.9, 4.0, 1.0, 3.9])
    assert distinct_top(points, means, 3, 0.1) == [0, 2, 3]
    assert distinct_top(points, means, 3, 0.0) == [0, 1, 2]
    assert distinct_top(points, means, 5, 1.0) == [0, 3]  # fewer than asked: no more room


# --- the workchain -------------------------------------------------------------------------------


def test_proposals_are_k_distinct_ranked_in_space_and_near_the_measured_best(campaign, data):
    suggestions = campaign.outputs.suggestions
    space = fzj_space(temperatures=TEMPERATURES)
    entries = suggestions["per_temperature"]
    assert [entry["temperature"] for entry in entries] == TEMPERATURES
    for entry in entries:
        ranked = entry["ranked"]
        points = np.array([[s["variables"]["r"], s["variables"]["c"]] for s in ranked])
        means = np.array([s["predicted_mean"] for s in ranked])
        assert len(ranked) == K
        assert space.contains(points).all()
        unit = space.normalise(points)
        gaps = np.linalg.norm(unit[:, None] - unit[None], axis=-1)[np.triu_indices(K, 1)]
        assert suggestions["min_distance"] == 0.1 and gaps.min() >= 0.1  # the default
        assert (np.diff(means) <= 0).all()
        assert all(s["predicted_std"] > 0 and s["acquisition"] == "exploit" for s in ranked)
        assert all(s["temperature"]["value"] == entry["temperature"] for s in ranked)
        np.testing.assert_allclose([formulation_point(s["formulation"]) for s in ranked], points,
                                   atol=1e-6)
        _, measured, _ = data.pool(entry["temperature"])
        assert entry["measured_best"]["value"] == pytest.approx(measured.max())
        # The top proposal is near the best measured value; the k-th distinct one (at least
        # min_distance away from the others) may sit lower on the plateau.
        assert means[0] == pytest.approx(measured.max(), rel=0.10)
        np.testing.assert_allclose(means, measured.max(), rtol=0.15)


def test_provenance_dataset_fit_model_propose_top_suggestions(campaign):
    qb = orm.QueryBuilder()
    qb.append(orm.WorkChainNode, filters={"id": campaign.pk}, tag="one_shot")
    qb.append(orm.CalcFunctionNode, with_incoming="one_shot", tag="fit",
              filters={"attributes.process_label": "fit_model"})
    qb.append(orm.Dict, with_outgoing="fit", project="*", tag="dataset",
              filters={"attributes": {"has_key": "rows"}})
    qb.append(orm.Dict, with_incoming="fit", project="*", tag="model")
    qb.append(orm.CalcFunctionNode, with_incoming="model", tag="propose",
              filters={"attributes.process_label": "propose_top"})
    qb.append(orm.Dict, with_incoming="propose", project="*", tag="suggestions")
    (dataset, model, suggestions), = qb.all()
    assert dataset.uuid == campaign.inputs.dataset.uuid
    assert model.uuid == campaign.outputs.model.uuid
    assert suggestions.uuid == campaign.outputs.suggestions.uuid
    assert model["training_data"] == dataset.uuid
    propose = suggestions.creator
    assert propose.inputs.dataset.uuid == dataset.uuid
    assert suggestions["model_version"] == model["version"] == dataset["version"]


def ucb_strategy():
    return orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json"))


@pytest.mark.parametrize(("change", "message"), [
    ({"strategy": ucb_strategy}, "acquisition must be 'exploit', got 'ucb'"),
    ({"strategy": lambda: orm.Dict({"surrogate": {"name": "svm"}, "acquisition": {"name": "exploit"}})},
     "unknown surrogate 'svm'"),
    ({"space": lambda: orm.Dict(fzj_space(temperature_variable=True).to_dict())},
     "needs a 'temperature' condition"),
    ({"k": lambda: orm.Int(0)}, "`k` must be at least 1"),
    ({"min_distance": lambda: orm.Float(2.0)}, "`min_distance` must be in [0, 1.414)"),
    ({"space": lambda: orm.Dict(fzj_space(temperatures=[293.15]).to_dict())},
     "dataset row 0 is at 253.15 K, outside the space's temperatures [293.15, 293.15] K"),
    ({"dataset": lambda: orm.Dict({"version": 0, "rows": [
        {"r": 0.5, "c": 1.0, "temperature": 293.15, "value": None}]})},
     "dataset row 0 has no finite value"),
])
def test_invalid_configuration_fails_with_its_exit_code(aiida_profile, data, change, message):
    node = run(data, **{name: make() for name, make in change.items()})
    assert node.exit_status == OneShotWorkChain.exit_codes.ERROR_INVALID_CONFIGURATION.status
    assert message in node.exit_message
    assert not node.called  # nothing fitted


def test_empty_dataset_fails_with_its_exit_code(aiida_profile, data):
    node = run(data, dataset=orm.Dict({"version": 0, "variables": ["r", "c"], "rows": []}))
    assert node.exit_status == OneShotWorkChain.exit_codes.ERROR_EMPTY_DATASET.status


def test_too_few_distinct_candidates_fails_after_the_fit(aiida_profile, data):
    # Five points pairwise a unit apart do not fit into the unit square (four corners at most).
    node = run(data, temperatures=[293.15], min_distance=orm.Float(1.0), n_candidates=orm.Int(64),
               strategy=orm.Dict({"surrogate": {"name": "rf", "params": {"n_estimators": 10}},
                                  "acquisition": {"name": "exploit"}}))
    assert node.exit_status == OneShotWorkChain.exit_codes.ERROR_TOO_FEW_CANDIDATES.status
    assert "asked for k = 5" in node.exit_message
    assert "model" in node.outputs  # the fit itself succeeded and is kept
