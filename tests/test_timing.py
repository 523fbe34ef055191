"""``analysis.timing`` on a record with known numbers, on the instrument server's own files, and
``bigmap-al campaign timing`` on PKs it must refuse (a daemon campaign on two instruments is timed in
``tests/instrument_bridge/aiida/test_two_instruments_daemon.py``)."""

import json

import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.analysis.timing import (BETWEEN_ACTIONS, TimingError, action_table, format_tables,
                                             instrument_table, steps_from_hdf5, steps_from_result, summary,
                                             write_plot)
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.instrument_bridge.server.hdf5log import ActionRecord, JobLog
from aiida_bigmap_al.instrument_bridge.server.jobs import Job, JobState
from aiida_bigmap_al.instrument_bridge.server.orchestrator import Outcome, write_result
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from test_export import replay_campaign  # noqa: I001  (tests/ is on sys.path: no package)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = 1_700_000_000.0  # any UNIX time: only differences matter


def step(action, start, end, status="ok"):
    return {"step": action, "action": action, "status": status,
            "start": None if start is None else T0 + start, "end": None if end is None else T0 + end}


def job(instrument, state, *steps, aiida=(None, None)):
    """A job record; ``aiida`` is its CalcJob's (creation, end) in s after T0, if known."""
    start, end = (None if t is None else T0 + t for t in aiida)
    return {"pk": 1, "uuid": "u", "instrument": instrument, "state": state, "exit_status": 0,
            "source": "result.json", "steps": list(steps), "aiida_start": start, "aiida_end": end}


@pytest.fixture
def record():
    """A campaign of 100 s: rig-a ran two jobs (31 s and 15 s, 9 s apart; their CalcJobs overlap and
    were open 65 s together), rig-b one failed job of 8 s and one refused before any step, rig-c nothing."""
    return {
        "campaign": {"pk": 7, "uuid": "c", "process_label": "ActiveLearningWorkChain", "start": T0, "end": T0 + 100},
        "instruments": ["rig-a", "rig-b", "rig-c"],
        "jobs": [
            job("rig-a", "done", step("move", 10, 30), step("measure", 31, 41), aiida=(5, 45)),
            job("rig-a", "done", step("move", 50, 60), step("measure", 60, 65), step("clean", None, None, "skipped"),
                aiida=(40, 70)),
            job("rig-b", "failed", step("move", 20, 25), step("measure", 25, 26, "error"), step("clean", 26, 28),
                aiida=(15, 30)),
            job("rig-b", "failed"),
        ],
    }


def test_actions_are_totalled_over_instruments_with_shares_of_the_busy_time(record):
    rows = action_table(record)
    assert [row["action"] for row in rows] == ["move", "measure", "clean", BETWEEN_ACTIONS]
    move, measure, clean, between = rows
    assert (move["steps"], move["total_s"], move["mean_s"]) == (3, pytest.approx(35), pytest.approx(35 / 3))
    assert (measure["steps"], measure["total_s"]) == (3, pytest.approx(16))  # the failed step ran too
    assert (clean["steps"], clean["total_s"]) == (1, pytest.approx(2))  # the skipped one did not
    assert between["total_s"] == pytest.approx(1) and between["steps"] is None  # 30 -> 31 on rig-a
    assert move["share"] == pytest.approx(35 / 54) and sum(row["share"] for row in rows) == pytest.approx(1)


def test_instruments_busy_idle_and_aiida_overhead(record):
    a, b, c = instrument_table(record)
    assert (a["instrument"], a["jobs"], a["failed"]) == ("rig-a", 2, 0)
    assert a["busy_s"] == pytest.approx(31 + 15) and a["idle_s"] == pytest.approx(50 - 41)
    assert a["overhead_s"] == pytest.approx(100 - 46) and a["utilisation"] == pytest.approx(0.46)
    assert a["actions"] == {"move": pytest.approx(30), "measure": pytest.approx(15)}
    assert a["in_calcjobs_s"] == pytest.approx(65 - 46) and a["between_calcjobs_s"] == pytest.approx(100 - 65)
    assert (b["jobs"], b["failed"], b["busy_s"], b["idle_s"]) == (2, 2, pytest.approx(8), 0)
    assert b["in_calcjobs_s"] is None and b["between_calcjobs_s"] is None  # one CalcJob's life is unknown
    assert (c["instrument"], c["jobs"], c["busy_s"], c["overhead_s"]) == ("rig-c", 0, 0, pytest.approx(100))
    assert (c["in_calcjobs_s"], c["between_calcjobs_s"]) == (0, pytest.approx(100))
    assert summary(record) == {"pk": 7, "process_label": "ActiveLearningWorkChain", "wall_s": pytest.approx(100),
                               "jobs": 4, "timed_jobs": 3, "instruments": 3, "busy_s": pytest.approx(54)}


def test_an_instrument_that_is_not_configured_still_appears(record):
    record["instruments"] = ["rig-a"]
    assert [row["instrument"] for row in instrument_table(record)] == ["rig-a", "rig-b"]


def test_tables_as_text_and_the_plot(record, tmp_path):
    text = format_tables(record).splitlines()
    assert text[0] == ("ActiveLearningWorkChain<7>: wall time 100.00 s, 4 experiments on 3 instruments, "
                       "instruments busy 54.00 s in total")
    assert "move                         3    35.000   11.667   64.8%" in text
    assert f"{BETWEEN_ACTIONS:<24} {'':>5}     1.000 {'':>8}    1.9%" in text
    rows = {line.split()[0]: line.split()[1:] for line in text if line.startswith("rig-")}
    assert rows == {"rig-a": ["2", "0", "46.000", "9.000", "54.000", "19.000", "35.000", "46.0%"],
                    "rig-b": ["2", "2", "8.000", "0.000", "92.000", "-", "-", "8.0%"],
                    "rig-c": ["0", "0", "0.000", "0.000", "100.000", "0.000", "100.000", "0.0%"]}
    assert write_plot(record, tmp_path / "timing.png").read_bytes()[:8] == PNG_MAGIC
    del record["jobs"][3]  # every CalcJob's life known: the plot splits AiiDA's overhead
    assert write_plot(record, tmp_path / "split.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(jobs=[]), "campaign 7 has no experiment jobs"),
    (lambda r: r.update(jobs=[r["jobs"][3]]), "none of the 1 experiment jobs of campaign 7 recorded a timed step"),
    (lambda r: r["campaign"].update(end=T0), "is not after its start"),
])
def test_nothing_to_time_is_a_clear_error(record, change, message):
    change(record)
    with pytest.raises(TimingError, match=message):
        format_tables(record)


def test_result_json_and_raw_h5_of_the_server_give_the_same_steps(tmp_path):
    """The server's own writers (result.json, raw.h5) for a job whose last step was skipped."""
    records = [ActionRecord(0, "prepare", "prepare_formulation", {}, {}, "ok", start=T0, end=T0 + 1.25),
               ActionRecord(1, "measure", "measure_conductivity", {}, {}, "error", "device 'cell'",
                            start=T0 + 1.5, end=T0 + 4.0),
               ActionRecord(2, "dry", "wait", {}, {}, "skipped")]
    job = Job(method="conductivity", parameters={"r": 0.5}, workspace="w", state=JobState.FAILED)
    log = JobLog(tmp_path / "raw.h5")
    log.begin(job, "rig")
    for action in records:
        log.record(action)
    write_result(job, "rig", tmp_path, Outcome(JobState.FAILED, "failed", None, records))

    from_json = steps_from_result(json.loads((tmp_path / "result.json").read_text()))
    from_hdf5 = steps_from_hdf5(tmp_path / "raw.h5")
    assert [s["action"] for s in from_json] == ["prepare_formulation", "measure_conductivity", "wait"]
    assert [s["status"] for s in from_json] == ["ok", "error", "skipped"]
    assert from_json[0]["end"] - from_json[0]["start"] == pytest.approx(1.25, abs=1e-6)
    assert from_json[2]["start"] is None and from_json[2]["end"] is None
    for a, b in zip(from_json, from_hdf5):
        assert a.keys() == b.keys() and (a["step"], a["action"], a["status"]) == (b["step"], b["action"], b["status"])
        for key in ("start", "end"):
            assert (a[key] is None and b[key] is None) or a[key] == pytest.approx(b[key], abs=1e-6)


def test_files_that_are_not_job_records_are_refused(tmp_path):
    with pytest.raises(TimingError, match="result.json has no valid `steps` list"):
        steps_from_result({"state": "done"})
    with pytest.raises(TimingError, match="result.json has no valid `steps` list"):
        steps_from_result({"steps": [{"step": "a", "action": "b", "status": "ok", "start": "yesterday"}]})
    (tmp_path / "raw.h5").write_text("not HDF5")
    with pytest.raises(TimingError, match="not an instrument job log"):
        steps_from_hdf5(tmp_path / "raw.h5")


# --- the command on PKs it must refuse ---------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(main, ["campaign", "timing", *map(str, args)], catch_exceptions=False)


def test_timing_of_a_node_that_is_not_a_campaign(aiida_profile, tmp_path):
    node = orm.Int(3).store()
    result = invoke(node.pk, "--plot", tmp_path / "t.png")
    assert result.exit_code == 1 and f"node {node.pk} is a Int, not an ActiveLearningWorkChain" in result.output
    assert not (tmp_path / "t.png").exists()


def test_timing_of_a_campaign_without_experiments(aiida_profile, fzj_csv, tmp_path):
    _, node = run_get_node(ActiveLearningWorkChain, **replay_campaign(fzj_csv, budget=2, missing_first=False))
    assert node.is_finished_ok, node.exit_message
    result = invoke(node.pk, "--plot", tmp_path / "t.png")
    assert result.exit_code == 1
    assert f"campaign {node.pk} ran no experiments (ExperimentCalcJob)" in result.output
