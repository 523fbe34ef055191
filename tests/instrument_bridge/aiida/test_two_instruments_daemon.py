"""End to end: one campaign on the daemon keeps two emulated instruments busy, and is timed afterwards.

Everything is real except the hardware: two instrument servers (uvicorn on 127.0.0.1, the example
conductivity rig with its devices emulated behind pty/socket serial links driven by pyserial), each
registered as an AiiDA computer with the ``bigmap.instrument`` transport and scheduler, and an
``ActiveLearningWorkChain`` with ``methods.instruments`` = both codes submitted to the daemon
(ZeroMQ broker). The test checks what the issue asks of such a campaign: both instruments measured,
the measurements, the HDF5 logs, the provenance of what the shared learner saw; then it runs
``bigmap-al campaign timing`` on it. A lighter campaign in batch mode (``methods.experiment``, run
in this process) is timed as well.
"""

from __future__ import annotations

import csv
import io
import json
import time

import h5py
import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.analysis.timing import BETWEEN_ACTIONS, action_table, format_tables, instrument_table
from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.export import campaign_timing_record
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain
from aiida_bigmap_al.workchains.lane import InstrumentLaneWorkChain

from ..conftest import LiveServer, rig_config, rig_dict
from .test_experiment import STEPS

#: The example rig at 100x speed (as in examples/rigs): a job takes about 2 s of device time.
TIME_SCALE = 0.01
TEMPERATURE = 298.15
BUDGET = 6
ACTIONS = {"prepare_formulation", "move_to_cell", "equilibrate_temperature", "measure_conductivity", "clean"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def two_rigs(tmp_path, instrument):
    """Two live conductivity rigs (different instruments, different emulator seeds), registered in AiiDA."""
    servers, registrations = [], []
    for index, name in enumerate(("a", "b")):
        raw = rig_dict("conductivity", tmp_path / f"rig-{name}", time_scale=TIME_SCALE, timeout=2.0)
        raw["instrument"] = f"conductivity-rig-{name}"
        for device in raw["devices"].values():
            device["emulator"]["seed"] += 100 * index
        servers.append(LiveServer(rig_config(raw)).start())
    try:
        registrations = [instrument(server.url) for server in servers]
        yield list(zip(servers, registrations))
    finally:
        for server in servers:
            server.stop()


def fzj_range(csv_path, temperature, window=10.0):
    """Lowest and highest conductivity (mS/cm) in the FZJ data within ``window`` K of ``temperature``."""
    with open(csv_path, newline="") as handle:
        values = [float(row["k [mS/cm]"]) for row in csv.DictReader(handle, delimiter="\t")
                  if abs(float(row["T [K]"]) - temperature) <= window]
    return min(values), max(values)


def campaign_inputs(codes):
    return {
        "space": orm.Dict(fzj_space(temperatures=[TEMPERATURE]).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(BUDGET),
        "n_candidates": orm.Int(128),
        "seed": orm.Int(3),
        "methods": {"instruments": codes},
    }


def raw_log(job):
    return h5py.File(io.BytesIO(job.outputs.raw_data.get_content(mode="rb")), "r")


def test_a_daemon_campaign_keeps_two_instruments_busy_and_is_timed(two_rigs, submit_and_await, fzj_csv, tmp_path):
    codes = {f"rig_{name}": registration.code for name, (_, registration) in zip("ab", two_rigs)}
    started = time.monotonic()
    node = submit_and_await(ActiveLearningWorkChain, timeout=150, **campaign_inputs(codes))
    print(f"\ncampaign on the daemon: {time.monotonic() - started:.1f} s")
    assert node.is_finished_ok, node.exit_message

    # --- both instruments measured, each in its own lane, every job once ----------------------
    lanes = [call for call in node.called if call.process_class is InstrumentLaneWorkChain]
    assert len(lanes) == 2 and all(lane.is_finished_ok for lane in lanes)
    jobs_of_lane = {lane.inputs.code.computer.label: [c for c in lane.called if c.process_class is ExperimentCalcJob]
                    for lane in lanes}
    computers = {registration.computer.label for _, registration in two_rigs}
    assert set(jobs_of_lane) == computers
    jobs = [job for lane_jobs in jobs_of_lane.values() for job in lane_jobs]
    assert len(jobs) == BUDGET and all(job.is_finished_ok for job in jobs)
    for label, lane_jobs in jobs_of_lane.items():
        assert lane_jobs and {job.computer.label for job in lane_jobs} == {label}
    for server, registration in two_rigs:  # the server ran exactly the jobs of its computer
        with server.client() as client:
            on_server = {job["workspace"]: job for job in client.get("/jobs").json()}
        assert set(on_server) == {job.uuid for job in jobs_of_lane[registration.computer.label]}
        assert {job["state"] for job in on_server.values()} == {"done"}

    # --- the measurements: experiments, FZJ-like values, exactly the campaign's dataset -------
    low, high = fzj_range(fzj_csv, TEMPERATURE)
    rows = node.outputs.dataset["rows"]
    assert len(rows) == BUDGET and {row["origin"] for row in rows} == {"experiment"}
    for job in jobs:
        fom = job.outputs.measurement["fom_data"]
        assert fom["origin"]["origin"] == "experiment" and fom["measurement_id"] == job.uuid
        assert fom["unit"] == "mS/cm" and 0.8 * low <= fom["value"] <= 1.2 * high, fom
    assert {row["measurement"] for row in rows} == {job.outputs.measurement.uuid for job in jobs}

    # --- the HDF5 logs: every action with its times and the serial traffic of its devices -----
    for job in jobs:
        with raw_log(job) as raw:
            assert raw.attrs["job_id"] == job.get_job_id() and raw.attrs["state"] == "done"
            assert list(raw["actions"]) == STEPS
            for step in STEPS:
                group = raw[f"actions/{step}"]
                assert group.attrs["status"] == "ok" and group.attrs["duration_s"] > 0
                traffic = [line.decode() for line in group["traffic"][()]]
                assert traffic and all(len(line.split("\t")) == 4 for line in traffic)
            measure = [line.decode() for line in raw["actions/003_measure/traffic"][()]]
            assert any("\tcell\tTX\tCELL MEASURE" in line for line in measure)
            assert any("\tcell\tRX\tK " in line for line in measure)

    # --- provenance: what asked for each measurement, and what each suggestion saw -----------
    for job in jobs:
        assert job.inputs.suggestion.creator.process_label in {"initial_design", "suggest"}
    suggests = [call for lane in lanes for call in lane.called if call.process_label == "suggest"]
    assert len(suggests) == BUDGET - 2  # the two first points come from the campaign's initial design
    measuring = {job.inputs.suggestion.uuid: job for job in jobs}
    for call in suggests:  # it saw measurements that existed, and suggestions not yet recorded as measured
        seen = {row["measurement"] for row in call.inputs.dataset["rows"]}
        assert seen and all(orm.load_node(uuid).ctime < call.ctime for uuid in seen)
        for label in (label for label in call.inputs if label.startswith("pending_")):
            pending = call.inputs[label]
            assert pending.creator.process_label in {"initial_design", "suggest"} and pending.ctime < call.ctime
            assert measuring[pending.uuid].outputs.measurement.uuid not in seen  # never both pending and measured
    assert any(label.startswith("pending_") for call in suggests for label in call.inputs)

    # --- the timing of the campaign --------------------------------------------------------
    record = campaign_timing_record(node)
    json.dumps(record)  # plain JSON
    assert sorted(record["instruments"]) == sorted(computers)
    actions = {row["action"]: row for row in action_table(record)}
    assert set(actions) == ACTIONS | {BETWEEN_ACTIONS}
    assert all(actions[action]["steps"] == BUDGET for action in ACTIONS)
    assert sum(row["share"] for row in actions.values()) == pytest.approx(1.0)
    for action in ACTIONS:  # result.json and raw.h5 tell the same durations
        from_hdf5 = 0.0
        for job in jobs:
            with raw_log(job) as raw:
                from_hdf5 += sum(raw[f"actions/{s}"].attrs["duration_s"] for s in STEPS
                                 if raw[f"actions/{s}"].attrs["action"] == action)
        assert actions[action]["total_s"] == pytest.approx(from_hdf5, abs=1e-5 * BUDGET)
    wall = record["campaign"]["end"] - record["campaign"]["start"]
    by_instrument = {row["instrument"]: row for row in instrument_table(record)}
    assert set(by_instrument) == computers
    for label, row in by_instrument.items():
        assert row["jobs"] == len(jobs_of_lane[label]) and row["failed"] == 0
        assert 0 < row["busy_s"] < wall and row["overhead_s"] == pytest.approx(wall - row["busy_s"])
        assert row["idle_s"] >= 0 and row["busy_s"] + row["idle_s"] <= wall
        assert row["in_calcjobs_s"] > 0 and row["between_calcjobs_s"] > 0  # uploads/polls, and the learner
        assert row["in_calcjobs_s"] + row["between_calcjobs_s"] == pytest.approx(row["overhead_s"])
    print(format_tables(record))

    plot = tmp_path / "timing.png"
    result = CliRunner().invoke(main, ["campaign", "timing", str(node.pk), "--plot", str(plot)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ActiveLearningWorkChain<{node.pk}>: wall time")
    assert all(action in result.output for action in ACTIONS) and all(c in result.output for c in computers)
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_a_batch_campaign_on_one_instrument_is_timed_too(instrument, server):
    """``methods.experiment``: the campaign's own CalcJobs (no lanes), two at once queued on one rig."""
    inputs = {**campaign_inputs({}), "budget": orm.Int(2), "n_initial": orm.Int(2),
              "methods": {"experiment": {"code": instrument(server.url).code}}}
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    record = campaign_timing_record(node)
    jobs = [call for call in node.called if call.process_class is ExperimentCalcJob]
    assert [job["pk"] for job in record["jobs"]] == sorted(job.pk for job in jobs) and len(jobs) == 2
    [row] = instrument_table(record)
    assert row["instrument"] == record["instruments"][0] and (row["jobs"], row["failed"]) == (2, 0)
    assert row["in_calcjobs_s"] + row["between_calcjobs_s"] == pytest.approx(row["overhead_s"])
    steps = {r["action"]: r["steps"] for r in action_table(record)}
    assert steps == {**dict.fromkeys(ACTIONS, 2), BETWEEN_ACTIONS: None}
