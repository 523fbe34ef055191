"""Exporting a campaign: its record from the graph, an AiiDA archive that imports into a fresh
profile with the graph intact, and an HDF5 file that h5py alone can read."""

import json
import secrets

import h5py
import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node
from aiida.tools.archive import import_archive

from aiida_bigmap_al.datasets import load_fzj
from aiida_bigmap_al.export import CampaignError, campaign_record, load_campaign, write_archive, write_hdf5
from aiida_bigmap_al.learning import STRATEGIES, initial_picks
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

T = 293.15
SEED = 3


def replay_campaign(csv, budget=5, missing_first=True, missing_all=False):
    """Inputs of a short campaign replaying the FZJ pool at 20 °C, batches of two.

    With ``missing_first`` the replay table lacks the first pick of the random start, so that one
    measurement fails (and the campaign goes on); with ``missing_all`` every measurement fails.
    """
    X, y, _ = load_fzj(csv).pool(T)
    keep = np.ones(len(X), dtype=bool)
    if missing_all:
        keep[:] = False
    elif missing_first:
        keep[initial_picks(len(X), 2, SEED)[0]] = False
    table = orm.ArrayData({"X": np.column_stack([X, np.full(len(X), T)])[keep], "y": y[keep]})
    return {
        "space": orm.Dict(fzj_space(temperatures=[T]).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(budget),
        "seed": orm.Int(SEED),
        "n_initial": orm.Int(2),
        "batch_size": orm.Int(2),
        "candidates": orm.ArrayData({"X": X}),
        "methods": {"replay": {"table": table}},
    }


def graph():
    """Every node (by UUID) and every link (source, target, type, label) of the loaded profile."""
    nodes = {uuid for uuid, in orm.QueryBuilder().append(orm.Node, project="uuid").iterall()}
    qb = orm.QueryBuilder().append(orm.Node, project="uuid", tag="source")
    qb.append(orm.Node, with_incoming="source", project="uuid", edge_project=["type", "label"])
    links = [tuple(row) for row in qb.iterall()]
    return nodes, links


@pytest.fixture(scope="module")
def source(aiida_config, aiida_profile_factory, fzj_csv):
    """A profile holding nothing but one finished campaign; yields the campaign's pk."""
    with aiida_profile_factory(aiida_config, name=f"export-source-{secrets.token_hex(4)}") as profile:
        _, node = run_get_node(ActiveLearningWorkChain, **replay_campaign(fzj_csv))
        assert node.is_finished_ok, node.exit_message
        yield profile, node.pk


def test_record_traces_every_suggestion_to_what_measured_it(source):
    record = campaign_record(load_campaign(source[1]))
    suggestions = [s for it in record["iterations"] for s in it["suggestions"]]
    rows = {row["measurement"]: row for row in record["dataset"]}
    assert [s["status"] for s in suggestions].count("failed") == 1
    failed = next(s for s in suggestions if s["status"] == "failed")
    assert failed["iteration"] == 1 and failed["exit_status"] == 300
    assert "no row of table" in failed["message"]
    measured = [s for s in suggestions if s["status"] == "measured"]
    assert len(measured) == len(rows) == 5
    for s in measured:
        row = rows[s["measurement"]]
        assert (row["value"], row["iteration"]) == (s["value"], s["iteration"])
        assert row["r"] == pytest.approx(s["variables"]["r"]) and row["c"] == pytest.approx(s["variables"]["c"])
    assert [m["version"] for m in record["models"]] == [it["model_version"] for it in record["iterations"][1:]]
    assert record["best"]["value"] == max(row["value"] for row in record["dataset"])
    assert record["units"] == {"r": "g/g", "c": "mol/kg", "temperature": "K", "value": "mS/cm"}


def test_archive_imports_into_a_fresh_profile_with_the_graph_intact(
        source, tmp_path, aiida_config, aiida_profile_factory):
    nodes, links = graph()  # the source profile holds only the campaign
    assert len(nodes) > 40 and len(links) > 80
    path = write_archive(load_campaign(source[1]), tmp_path / "campaign.aiida")
    with pytest.raises(FileExistsError, match="campaign.aiida exists"):
        write_archive(load_campaign(source[1]), path)
    expected = campaign_record(load_campaign(source[1]))
    with aiida_profile_factory(aiida_config, name=f"export-target-{secrets.token_hex(4)}"):
        assert graph() == (set(), [])
        import_archive(path)
        imported_nodes, imported_links = graph()
        assert imported_nodes == nodes
        assert sorted(imported_links) == sorted(links)
        campaign = orm.load_node(expected["campaign"]["uuid"])
        imported = campaign_record(load_campaign(campaign.pk))
        assert imported["dataset"] == expected["dataset"]
        assert imported["models"] == expected["models"]
        assert _uuids_of_suggestions(imported) == _uuids_of_suggestions(expected)


def _uuids_of_suggestions(record):
    return [(s["uuid"], s["status"], s["measurement"]) for it in record["iterations"] for s in it["suggestions"]]


def test_hdf5_holds_the_data_table_models_and_suggestions(source, tmp_path):
    node = load_campaign(source[1])
    record = campaign_record(node)
    path = write_hdf5(record, tmp_path / "campaign.h5")
    rows = node.outputs.dataset["rows"]
    fits = sorted((c for c in node.called if c.process_label == "fit_model"), key=lambda c: c.pk)
    with h5py.File(path, "r") as h5:  # nothing but h5py from here on
        assert h5.attrs["campaign_uuid"] == node.uuid
        assert json.loads(h5.attrs["best"]) == node.outputs.best.get_dict()
        table = h5["dataset"]
        for column, unit in [("r", "g/g"), ("c", "mol/kg"), ("temperature", "K"), ("value", "mS/cm")]:
            assert table[column][()].tolist() == [row[column] for row in rows]
            assert table[column].attrs["units"] == unit
        assert table["origin"].asstr()[()].tolist() == [row["origin"] for row in rows]
        assert table["measurement_uuid"].asstr()[()].tolist() == [row["measurement"] for row in rows]
        models = h5["models"]
        assert models["version"][()].tolist() == [fit.outputs.result["version"] for fit in fits]
        for i, fit in enumerate(fits):
            model = fit.outputs.result.get_dict()
            assert json.loads(models["strategy"].asstr()[i]) == model["strategy"]
            assert json.loads(models["hyperparameters"].asstr()[i]) == model["hyperparameters"]
            assert models["n_observations"][i] == model["n_observations"]
            assert models["training_rmse"][i] == model["training_rmse"]
        suggestions = h5["suggestions"]
        status = suggestions["status"].asstr()[()].tolist()
        assert status.count("measured") == len(rows) and status.count("failed") == 1
        from_model = suggestions["model_version"][()] > 0
        assert np.isfinite(suggestions["predicted_mean"][()][from_model]).all()
        assert np.isnan(suggestions["predicted_mean"][()][~from_model]).all()  # the random start
        formulation = json.loads(suggestions["formulation"].asstr()[0])
        assert [c["name"] for c in formulation["compounds"]] == ["EC", "PC", "EMC", "LiPF6"]
    with pytest.raises(FileExistsError):
        write_hdf5(record, path)


def test_load_campaign_names_what_is_wrong(source, fzj_csv):
    with pytest.raises(CampaignError, match="no node with pk 987654"):
        load_campaign(987654)
    dict_pk = orm.Dict({"a": 1}).store().pk
    with pytest.raises(CampaignError, match=f"node {dict_pk} is a Dict, not an ActiveLearningWorkChain"):
        load_campaign(dict_pk)
    fit = next(c for c in orm.load_node(source[1]).called if c.process_label == "fit_model")
    with pytest.raises(CampaignError, match="is a fit_model, not an ActiveLearningWorkChain"):
        load_campaign(fit.pk)
    _, failed = run_get_node(ActiveLearningWorkChain, **replay_campaign(fzj_csv, missing_all=True))
    with pytest.raises(CampaignError, match=f"campaign {failed.pk} did not finish successfully "
                                            r"\(exit status 320: All 2 measurements of iteration 1 failed"):
        load_campaign(failed.pk)


def test_a_campaign_still_running_cannot_be_exported_yet(source):
    from plumpy import ProcessState

    from aiida_bigmap_al.export import CAMPAIGN_PROCESS_TYPE

    running = orm.WorkChainNode()
    running.set_process_type(CAMPAIGN_PROCESS_TYPE)
    running.set_process_state(ProcessState.RUNNING)
    running.store()
    with pytest.raises(CampaignError, match=f"campaign {running.pk} has not finished yet \\(process state: running\\)"):
        load_campaign(running.pk)
