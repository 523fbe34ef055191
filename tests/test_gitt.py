"""GITT: the diffusion coefficient recovered from voltage curves of Fick's second law with known D.

The curves are exact solutions (Crank, *The Mathematics of Diffusion*, 2nd ed.): the surface
concentration of a slab of thickness L (flux in at one face, none at the other, eq. 4.47 at x = 0
by superposition) or of a sphere of radius a (eq. 6.41 at r = a), for a train of constant-current
pulses each followed by a rest; the voltage is linear in the surface concentration, plus an
ohmic drop. The Weppner-Huggins relation holds for these when tau << L^2/D, with L = V/S (the
slab's thickness, a/3 for a sphere).
"""

import json
import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import brentq

from aiida_bigmap_al.analysis.gitt import COLUMNS, GittError, GittTable, analyse, read_table
from aiida_bigmap_al.cli import main

N_TERMS = 1000


def _sphere_roots(n):
    """The first ``n`` positive roots of a cot(a) = 1 (tan a = a)."""
    return np.array([brentq(lambda a: math.tan(a) - a, k * math.pi + 1e-9, (k + 0.5) * math.pi - 1e-9)
                     for k in range(1, n + 1)])


def unit_flux_response(t, D, size, geometry):
    """Rise of the surface concentration under a unit flux switched on at t = 0 (0 before)."""
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    if geometry == "slab":
        n = np.arange(1, N_TERMS + 1)
        series = np.exp(-np.outer(D * t / size**2, n**2 * math.pi**2)) @ (1.0 / n**2)
        value = size / D * (D * t / size**2 + 1 / 3 - 2 / math.pi**2 * series)
    else:
        alpha = _sphere_roots(N_TERMS)
        series = np.exp(-np.outer(D * t / size**2, alpha**2)) @ (1.0 / alpha**2)
        value = size / D * (3 * D * t / size**2 + 1 / 5 - 2 * series)
    return np.where(t > 0, value, 0.0)


def gitt_curve(D, size, geometry="slab", tau=5.0, rest=None, pulses=3, current=1e-3,
               delta_Es=0.01, resistance=2.0, dt_pulse=0.05, dt_rest=2.0, noise=0.0, seed=0):
    """Time, current and voltage of ``pulses`` pulses of ``tau`` s, each followed by a rest.

    The voltage is linear in the surface concentration, scaled so that each pulse moves the
    relaxed voltage by ``delta_Es`` (V); the ohmic drop is ``resistance`` * current.
    """
    volume_to_area = size if geometry == "slab" else size / 3
    dE_dc = delta_Es * volume_to_area / (current * tau)
    rest = rest if rest is not None else 2.0 * size**2 / D
    times, starts, t0 = [], [], 0.0
    times.append(np.arange(0.0, 20.0, dt_rest))                     # a rest before the first pulse
    t0 = 20.0
    for _ in range(pulses):
        starts.append(t0)
        times.append(t0 + np.arange(0.0, tau, dt_pulse))
        times.append(t0 + tau + np.arange(0.0, rest, dt_rest))
        t0 += tau + rest
    t = np.concatenate(times)
    on = np.zeros_like(t, dtype=bool)
    response = np.zeros_like(t)
    for s in starts:
        on |= (t >= s) & (t < s + tau - 1e-9)
        response += unit_flux_response(t - s, D, size, geometry) - unit_flux_response(t - s - tau, D, size, geometry)
    I = np.where(on, current, 0.0)
    E = 3.7 + dE_dc * current * response + resistance * I
    E += np.random.default_rng(seed).normal(0.0, noise, len(t))
    return GittTable(t, I, E, f"fick-{geometry}")


def write_csv(path, table):
    rows = np.column_stack([table.time, table.current, table.voltage])
    np.savetxt(path, rows, delimiter=",", header=",".join(COLUMNS), comments="", fmt="%.10g")
    return path


SLAB = {"D": 1e-10, "size": 1e-4, "geometry": "slab"}                 # L^2/D = 100 s, tau = 5 s
SPHERE = {"D": 1e-10, "size": 5e-4, "geometry": "sphere", "tau": 2.5, "rest": 1200}


@pytest.mark.parametrize("setup, length", [(SLAB, 1e-4), (SPHERE, 5e-4 / 3)], ids=["slab", "sphere"])
def test_recovers_D_from_the_analytic_solution(setup, length):
    results = analyse(gitt_curve(**setup), length)
    assert len(results) == 3
    for pulse in results:
        assert pulse.D_cm2_s == pytest.approx(setup["D"], rel=0.05)
        assert pulse.linear_fit_r2 > 0.999
        assert not any("not << L^2/D" in warning for warning in pulse.warnings)
    assert [p.pulse for p in results] == [0, 1, 2]
    assert results[0].tau_s == pytest.approx(setup.get("tau", 5.0))


@pytest.mark.parametrize("setup, length, tolerance", [(SLAB, 1e-4, 0.05), (SPHERE, 5e-4 / 3, 0.10)],
                         ids=["slab", "sphere"])
def test_recovers_D_from_noisy_curves(setup, length, tolerance):
    """0.1 mV of noise (dE_s = 10 mV, dE_t = 50-120 mV): D within 5 % on the slab; within 10 %
    on the sphere, whose sqrt(t) region is short and bends (noise hides the bend, biasing D low)."""
    for seed in range(3):
        for pulse in analyse(gitt_curve(**setup, noise=1e-4, seed=seed), length):
            assert pulse.D_cm2_s == pytest.approx(1e-10, rel=tolerance)


def test_long_pulses_are_flagged_and_the_linear_region_is_reported():
    """tau = 100 s on L^2/D = 100 s: E leaves the sqrt(t) line and the short-pulse condition fails."""
    [pulse, *_] = analyse(gitt_curve(**SLAB | {"tau": 100.0, "rest": 400.0}), 1e-4)
    assert any("not << L^2/D" in warning for warning in pulse.warnings)
    low, high = pulse.linear_region_s
    assert high < 60.0                      # the sqrt(t) region ends well before the pulse does
    assert low < high


def test_cli_writes_the_json_of_the_acceptance_interface(tmp_path):
    path = write_csv(tmp_path / "gitt.csv", gitt_curve(**SLAB))
    out = tmp_path / "gitt.json"
    result = CliRunner().invoke(main, ["gitt", str(path), "--volume-to-area", "1e-4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    pulses = json.loads(out.read_text())
    assert [p["pulse"] for p in pulses] == [0, 1, 2]
    assert all({"pulse", "start_s", "tau_s", "D_cm2_s", "linear_fit_r2"} <= set(p) for p in pulses)
    assert [p["start_s"] for p in pulses] == sorted(p["start_s"] for p in pulses)
    assert all(p["D_cm2_s"] == pytest.approx(1e-10, rel=0.05) for p in pulses)


def test_reads_hdf5_datasets_and_instrument_job_logs(tmp_path):
    table = gitt_curve(**SLAB, pulses=1)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        for name, values in zip(("time", "current", "voltage"), (table.time, table.current, table.voltage)):
            f.create_dataset(f"data/{name}", data=values)
    # the instrument server's own job-log writer, with a step whose result holds the columns
    from aiida_bigmap_al.instrument_bridge.server.hdf5log import ActionRecord, JobLog
    from aiida_bigmap_al.instrument_bridge.server.jobs import Job, JobState

    log = tmp_path / "raw.h5"
    writer = JobLog(log)
    writer.begin(Job(method="gitt", parameters={}, workspace="w", state=JobState.DONE), "rig")
    writer.record(ActionRecord(0, "prepare", "wait", {}, {}, "ok", start=0.0, end=1.0))
    writer.record(ActionRecord(1, "titrate", "gitt", {}, {}, "ok", start=1.0, end=2.0, result={
        "time [s]": table.time.tolist(), "current [A]": table.current.tolist(),
        "voltage [V]": table.voltage.tolist()}))
    for path in (plain, log):
        [pulse] = analyse(read_table(path), 1e-4)
        assert pulse.D_cm2_s == pytest.approx(1e-10, rel=0.05)


@pytest.mark.parametrize("content, message", [
    ("time [s],current [A]\n0,0\n", "line 1: missing column(s) ['voltage [V]']"),
    ("time [s],current [A],voltage [V]\n0,0,3.7\n1,abc,3.7\n", "line 3, column 'current [A]': 'abc' is not a number"),
    ("time [s],current [A],voltage [V]\n0,0,3.7\n0,0,3.7\n", "time 0 s does not increase"),
    ("time [s],current [A],voltage [V]\n0,0,3.7\n1,0,3.7\n", "no current pulse"),
])
def test_bad_files_get_one_clear_line_and_exit_1(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(GittError, match=None) as error:
        analyse(read_table(path), 1e-4)
    assert message in str(error.value) and str(path) in str(error.value)
    result = CliRunner().invoke(main, ["gitt", str(path), "--volume-to-area", "1e-4"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert message in result.output


def test_calcfunction_keeps_the_table_and_length_in_its_provenance(aiida_profile, tmp_path):
    from aiida import orm

    from aiida_bigmap_al.workchains.gitt import EXIT_BAD_TABLE, analyse_gitt

    table = orm.SinglefileData(write_csv(tmp_path / "gitt.csv", gitt_curve(**SLAB)))
    result, node = analyse_gitt.run_get_node(table, orm.Float(1e-4))
    assert node.is_finished_ok
    assert [p["D_cm2_s"] for p in result.get_dict()["pulses"]] == pytest.approx([1e-10] * 3, rel=0.05)
    assert {link.node.uuid for link in node.base.links.get_incoming().all()} >= {table.uuid}

    bad = tmp_path / "bad.csv"
    bad.write_text("time [s],current [A]\n0,0\n")
    _, node = analyse_gitt.run_get_node(orm.SinglefileData(bad), orm.Float(1e-4))
    assert node.exit_status == EXIT_BAD_TABLE
    assert "missing column(s) ['voltage [V]']" in node.exit_message


def test_pulses_at_the_edges_of_the_table(tmp_path):
    """A table that starts with a pulse estimates the voltage before it; one that ends in a pulse
    reports that pulse without D. Every detected pulse gets its entry."""
    table = gitt_curve(**SLAB)
    pulse_starts = np.flatnonzero(np.diff(table.current) > 0) + 1
    cut = GittTable(*(column[pulse_starts[0]:] for column in (table.time, table.current, table.voltage)))
    first, *rest = analyse(cut, 1e-4)
    assert first.D_cm2_s == pytest.approx(1e-10, rel=0.05)
    assert "no rest before the pulse" in first.warnings[0]
    end = pulse_starts[-1] + 20
    open_end = GittTable(table.time[:end], table.current[:end], table.voltage[:end])
    *analysed, last = analyse(open_end, 1e-4)
    assert len(analysed) == 2 and last.D_cm2_s is None
    assert "no rest after the pulse" in last.warnings[0]


def test_recovers_D_from_an_independent_simulator(tmp_path, monkeypatch):
    """PyBaMM's single-particle model of its Xu2019 NMC half cell (its own OCP, kinetics and
    finite-volume particle): D within 5 % of the parameter set's. Its log shows each pulse from
    the sample after the switch, so the switch time is estimated, not read."""
    monkeypatch.setenv("PYBAMM_DISABLE_TELEMETRY", "true")
    pybamm = pytest.importorskip("pybamm")
    model = pybamm.lithium_ion.SPM({"working electrode": "positive"})
    parameters = pybamm.ParameterValues("Xu2019")
    experiment = pybamm.Experiment([("Rest for 10 minutes",)] + [
        ("Discharge at C/10 for 20 seconds", "Rest for 40 minutes")] * 2, period="0.2 seconds")
    mesh = dict(model.default_var_pts) | {"r_p": 400}
    solution = pybamm.Simulation(model, parameter_values=parameters, experiment=experiment,
                                 var_pts=mesh).solve(initial_soc=0.5)
    t, I, E = (solution[name].entries for name in ("Time [s]", "Current [A]", "Voltage [V]"))
    keep = np.concatenate(([True], np.diff(t) > 1e-9))      # steps share their boundary time
    path = write_csv(tmp_path / "pybamm.csv", GittTable(t[keep], I[keep], E[keep]))
    D = parameters["Positive particle diffusivity [m2.s-1]"] * 1e4
    length = parameters["Positive particle radius [m]"] * 100 / 3
    pulses = analyse(read_table(path), length)
    assert len(pulses) == 2
    assert [p.D_cm2_s for p in pulses] == pytest.approx([D, D], rel=0.05)
