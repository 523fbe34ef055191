"""OneShotWorkChain on the FZJ data: distinct, ranked, in-space proposals close to the measured best,
each a suggestion node that a SimulationCalcJob can measure."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs import SimulationCalcJob
from aiida_bigmap_al.datasets import ConductivityData, load_fzj
from aiida_bigmap_al.conductivity_models import CANDIDATES
from aiida_bigmap_al.learning import STRATEGIES, Strategy
from aiida_bigmap_al.learning.calibration import MeasurementNoise
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import OneShotWorkChain
from aiida_bigmap_al.workchains.one_shot import distinct_top, proposal_label
from aiida_bigmap_al.workchains.records import dataset_from
from aiida_bigmap_al.workchains.records import formulation_point

from .test_simulation_campaign import simulator_code  # noqa: F401 (fixture)

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


def test_proposal_label_names_temperature_to_a_hundredth_and_rank_from_one():
    assert proposal_label(298.15, 1) == "T_298_15_rank_1"
    assert proposal_label(253.149999, 10) == "T_253_15_rank_10"
    assert proposal_label(300, 2) == "T_300_00_rank_2"


def ranked_documents(campaign, entry):
    """The suggestion documents of one temperature's summary entry, best first, found by label."""
    return [campaign.outputs.proposals[item["label"]].get_dict() for item in entry["ranked"]]


# --- the workchain -------------------------------------------------------------------------------


def test_proposals_are_k_distinct_ranked_in_space_and_near_the_measured_best(campaign, data):
    suggestions = campaign.outputs.suggestions
    space = fzj_space(temperatures=TEMPERATURES)
    entries = suggestions["per_temperature"]
    assert [entry["temperature"] for entry in entries] == TEMPERATURES
    for entry in entries:
        ranked = ranked_documents(campaign, entry)
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
    qb.append(orm.Dict, with_incoming="propose", project="*", tag="suggestions",
              edge_filters={"label": "suggestions"})
    (dataset, model, suggestions), = qb.all()
    assert dataset.uuid == campaign.inputs.dataset.uuid
    assert model.uuid == campaign.outputs.model.uuid
    assert suggestions.uuid == campaign.outputs.suggestions.uuid
    assert model["training_data"] == dataset.uuid
    propose = suggestions.creator
    assert propose.inputs.dataset.uuid == dataset.uuid
    assert suggestions["model_version"] == model["version"] == dataset["version"]


def test_each_proposal_is_a_labelled_suggestion_node_made_by_propose_top_from_the_model(campaign):
    proposals, model = campaign.outputs.proposals, campaign.outputs.model
    summary = campaign.outputs.suggestions
    expected = [proposal_label(T, rank) for T in TEMPERATURES for rank in range(1, K + 1)]
    assert sorted(proposals) == sorted(expected)
    propose = summary.creator
    assert propose.process_label == "propose_top" and propose.inputs.model.uuid == model.uuid
    made = propose.base.links.get_outgoing(link_label_filter="proposals__%").all()
    assert {link.link_label for link in made} == {f"proposals__{label}" for label in expected}
    for entry in summary["per_temperature"]:
        # The summary ranks the nodes by label and UUID and copies none of their documents.
        assert [item["label"] for item in entry["ranked"]] == [
            proposal_label(entry["temperature"], rank) for rank in range(1, K + 1)]
        assert all(set(item) == {"label", "uuid"} for item in entry["ranked"])
        nodes = [proposals[item["label"]] for item in entry["ranked"]]
        assert [node.uuid for node in nodes] == [item["uuid"] for item in entry["ranked"]]
        assert [node.label for node in nodes] == [item["label"] for item in entry["ranked"]]
        assert all(node.creator.uuid == propose.uuid for node in nodes)
        means = [node["predicted_mean"] for node in nodes]
        assert means == sorted(means, reverse=True)
        for node in nodes:
            assert node["temperature"] == {"value": entry["temperature"], "unit": "K"}
            assert node["acquisition"] == "exploit" and node["model_version"] == model["version"]
            assert node["acquisition_score"] == node["predicted_mean"]
            assert node["predicted_std"] > 0 and node["unit"] == "mS/cm"


def test_a_proposal_is_measured_by_a_simulation_whose_provenance_reaches_the_model(
        campaign, simulator_code):  # noqa: F811
    label = proposal_label(293.15, 1)
    suggestion = campaign.outputs.proposals[label]
    results, job = run_get_node(SimulationCalcJob, code=simulator_code, suggestion=suggestion)
    assert job.is_finished_ok, job.exit_message
    measurement = results["measurement"]
    assert measurement["formulation"] == suggestion["formulation"]
    assert measurement["temperature"] == suggestion["temperature"]
    assert measurement["fom_data"]["value"] > 0
    assert measurement["fom_data"]["origin"] == {"origin": "simulation"}
    # measurement <- job <- suggestion <- propose_top <- model, recorded in the graph:
    assert measurement.creator.uuid == job.uuid and job.inputs.suggestion.uuid == suggestion.uuid
    assert suggestion.creator.inputs.model.uuid == campaign.outputs.model.uuid
    qb = orm.QueryBuilder()
    qb.append(orm.Dict, filters={"uuid": measurement.uuid}, tag="measurement")
    qb.append(orm.Dict, with_descendants="measurement", filters={"uuid": campaign.outputs.model.uuid})
    assert qb.count() == 1


def ucb_strategy():
    return orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json"))


@pytest.mark.parametrize(("change", "message"), [
    ({"strategy": ucb_strategy}, "acquisition must be 'exploit', got 'ucb'"),
    ({"strategy": lambda: orm.Dict({"surrogate": {"name": "svm"}, "acquisition": {"name": "exploit"}})},
     "unknown surrogate 'svm'"),
    ({"space": lambda: orm.Dict(fzj_space(temperature_variable=True).to_dict())},
     "needs a 'temperature' condition"),
    ({"k": lambda: orm.Int(0)}, "`k` must be at least 1"),
    ({"space": lambda: orm.Dict(fzj_space(temperatures=[293.15, 293.151]).to_dict())},
     "temperatures 293.15 and 293.151 K are the same to 0.01 K: their proposals would share the "
     "label 'T_293_15_rank_1'"),
    ({"space": lambda: orm.Dict(fzj_space(temperatures=[0.0, 293.15]).to_dict())},
     "temperatures are in K and must be above 0, got 0.0"),
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


def test_the_model_is_chosen_by_cross_validation_and_its_scores_are_in_the_graph(campaign):
    scores = campaign.outputs.scores
    assert [m["name"] for m in scores["models"]] == list(CANDIDATES)
    best = min(scores["models"], key=lambda m: m["rmse"])
    assert scores["chosen"] == best["name"]
    assert len(best["by_condition"]) == len(TEMPERATURES)
    # dataset --choose_model--> scores, strategy, noise --fit_model--> model --propose_top-->
    choose = scores.creator
    assert choose.process_label == "choose_model"
    assert choose.inputs.dataset.uuid == campaign.inputs.dataset.uuid
    fit = campaign.outputs.model.creator
    assert fit.inputs.strategy.creator.uuid == choose.uuid == fit.inputs.noise.creator.uuid
    assert Strategy.model_validate(fit.inputs.strategy.get_dict()) == CANDIDATES[best["name"]]
    assert campaign.outputs.suggestions.creator.inputs.scores.uuid == scores.uuid
    # no model explains the data more closely than they were measured
    for model in scores["models"]:
        assert model["training_rmse"] >= model["noise_rmse"], model["name"]


def test_a_proposal_s_std_is_that_of_a_future_measurement(campaign):
    noise = MeasurementNoise(**campaign.outputs.scores["noise"])
    assert 0.03 < noise.replicate < 0.06 and noise.between_batch == 0.03
    for label, proposal in campaign.outputs.proposals.items():
        assert proposal["predicted_std"] > noise.std(proposal["predicted_mean"]), label
