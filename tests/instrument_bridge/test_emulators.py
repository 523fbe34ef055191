"""Device emulators: their line protocol, their physics on the shared bench, their faults."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from aiida_bigmap_al.instrument_bridge.emulators import (
    Bench,
    ConductivityCellEmulator,
    DropletCellEmulator,
    SyringePumpEmulator,
    ThermostatEmulator,
    XYZStageEmulator,
    load_model,
    schwefel,
)
from aiida_bigmap_al.instrument_bridge.emulators.conductivity_cell import composition
from aiida_bigmap_al.instrument_bridge.emulators.conductivity_model import replicate_deviations

FAST = 1e-4


def pump(bench, address="PUMP1", fractions=None, density=1.0):
    return SyringePumpEmulator(address, bench, density_g_ml=density, mass_fractions=fractions or {"EMC": 1.0}, time_scale=FAST)


def test_protocol_basics():
    device = pump(Bench())
    assert device.handle("PUMP1 ID") == "ID SYRINGE-PUMP PUMP1"
    assert device.handle("pump1 id\r") == "ID SYRINGE-PUMP PUMP1"  # case and CR tolerated
    assert device.handle("PUMP2 ID").startswith("ERR unknown address PUMP2")
    assert device.handle("PUMP1 FLY").startswith("ERR unknown command FLY")
    assert device.handle("PUMP1").startswith("ERR expected")
    assert device.handle("PUMP1 DISPENSE abc") == "ERR volume_ml must be a number, got 'abc'"
    assert device.handle("PUMP1 DISPENSE") == "ERR expected 1 argument(s) volume_ml, got 0"
    assert device.handle("PUMP1 DISPENSE 50").startswith("ERR volume 50.000 mL outside")
    assert device.handle("PUMP1 DISPENSE nan") == "ERR volume_ml must be finite, got 'nan'"


def test_an_emulator_bug_is_answered_as_an_error():
    device = pump(Bench())
    device.do_explode = lambda: 1 / 0
    assert device.handle("PUMP1 EXPLODE") == "ERR internal emulator error: ZeroDivisionError: division by zero"


def test_pump_dispenses_its_stock_into_the_vial():
    bench = Bench()
    salt = pump(bench, fractions={"LiPF6": 0.35, "EMC": 0.65}, density=1.25)
    assert salt.handle("PUMP1 DISPENSE 0.40049") == "OK 0.400"  # the pump's resolution is 1 uL
    assert bench.vial.volume_ml == pytest.approx(0.4)
    assert bench.vial.grams["LiPF6"] == pytest.approx(0.4 * 1.25 * 0.35)
    assert bench.vial.grams["EMC"] == pytest.approx(0.4 * 1.25 * 0.65)


def test_dispensing_takes_volume_over_rate():
    """A 1 mL dose at 60 mL/min takes 1 s of device time: 0.05 s at time_scale 0.05."""
    import time

    device = SyringePumpEmulator("P1", Bench(), density_g_ml=1.0, mass_fractions={"EMC": 1.0},
                                 rate_ml_min=60.0, time_scale=0.05)
    start = time.monotonic()
    device.handle("P1 DISPENSE 1.0")
    assert 0.045 <= time.monotonic() - start < 2.0


@pytest.mark.parametrize("mode", ["garbage", "silent"])
def test_faults_on_demand_for_one_verb_and_count(mode):
    device = pump(Bench())
    assert device.handle(f"PUMP1 FAULT {mode.upper()} DISPENSE 2") == "OK"
    assert device.handle("PUMP1 ID") == "ID SYRINGE-PUMP PUMP1"  # other verbs unaffected
    for _ in range(2):
        reply = device.handle("PUMP1 DISPENSE 0.1")
        if mode == "silent":
            assert reply is None
        else:
            assert reply and not reply.startswith(("OK", "ERR", "ID"))
    assert device.handle("PUMP1 DISPENSE 0.1") == "OK 0.100"  # recovered after 2
    device.misbehave("silent")
    assert device.handle("PUMP1 ID") is None
    assert device.handle("PUMP1 FAULT NONE") == "OK"
    assert device.handle("PUMP1 ID") == "ID SYRINGE-PUMP PUMP1"
    assert device.handle("PUMP1 FAULT LOUD").startswith("ERR fault mode must be one of")


def test_thermostat_approaches_its_setpoint_first_order():
    bench = Bench()
    thermostat = ThermostatEmulator("T", bench, initial_k=298.15, tau_s=100.0, noise_k=0.0, time_scale=1.0)
    now = [0.0]
    thermostat.now = lambda: now[0]  # drive the device clock by hand
    thermostat._start_time = 0.0
    assert thermostat.handle("T SET 318.15") == "OK"
    now[0] = 100.0  # one time constant later: 1 - 1/e of the way
    expected = 318.15 - 20.0 * math.exp(-1.0)
    assert thermostat.handle("T GET") == f"T {expected:.3f}"
    assert bench.temperature() == pytest.approx(expected)  # what the cell sees
    assert thermostat.handle("T SET 400").startswith("ERR setpoint 400 K outside")


def test_composition_of_a_mixture():
    bench = Bench()
    bench.vial.add(1.0, 1.0, {"EC": 0.15, "PC": 0.15, "EMC": 0.7})
    r, c = composition(bench.vial)
    assert (r, c) == (pytest.approx(0.5), 0.0)
    bench.vial.add(1.0, 0.151905, {"LiPF6": 1.0})  # 1 mmol of salt in 1 g of solvent
    assert composition(bench.vial)[1] == pytest.approx(1.0)


def test_cell_measures_what_is_in_it_at_the_bath_temperature():
    model = load_model(None)
    bench = Bench()
    bench.temperature = lambda: 313.15
    cell = ConductivityCellEmulator("CELL", bench, model, time_scale=FAST, seed=3)
    assert cell.handle("CELL FILL") == "ERR vial is empty"
    assert cell.handle("CELL MEASURE").startswith("ERR cell holds 0.000 mL")
    bench.vial.add(2.0, 1.0, {"EC": 0.15 * 0.8, "PC": 0.15 * 0.8, "EMC": 0.7 * 0.8, "LiPF6": 0.2})
    r, c = composition(bench.vial)
    assert cell.handle("CELL FILL") == "OK 2.000"
    assert bench.vial.volume_ml == 0
    assert cell.handle("CELL FILL") == "ERR vial is empty"
    readings = []
    for _ in range(20):
        reply = cell.handle("CELL MEASURE")
        word, value, t_word, temperature = reply.split()
        assert (word, t_word, temperature) == ("K", "T", "313.15")
        readings.append(float(value))
    mean = model.mean(r, c, 313.15)
    assert np.mean(readings) == pytest.approx(mean, rel=0.05)
    assert np.std(readings) > 0  # replicate noise
    assert cell.handle("CELL RINSE") == "OK"
    assert bench.cell.volume_ml == 0


def test_cell_readings_are_seeded():
    def readings(seed):
        bench = Bench()
        bench.vial.add(2.0, 1.0, {"EC": 0.2, "PC": 0.1, "EMC": 0.6, "LiPF6": 0.1})
        cell = ConductivityCellEmulator("CELL", bench, load_model(None), time_scale=FAST, seed=seed)
        cell.handle("CELL FILL")
        return [cell.handle("CELL MEASURE") for _ in range(3)]

    assert readings(1) == readings(1)
    assert readings(1) != readings(2)


def test_model_fitted_to_fzj_data(fzj_csv):
    """The fitted mean explains the data nearly as well as the replicate scatter allows."""
    from aiida_bigmap_al.datasets import load_fzj

    data = load_fzj(fzj_csv)
    model = load_model(str(fzj_csv))
    assert model.source.startswith("fit:")
    predicted = model.means(data.r, data.c, data.temperature)
    assert predicted[:5] == pytest.approx([model.mean(r, c, t) for r, c, t in zip(data.r, data.c, data.temperature)][:5])
    residual = data.conductivity - predicted
    r2 = 1 - np.sum(residual**2) / np.sum((data.conductivity - data.conductivity.mean()) ** 2)
    assert r2 > 0.97
    # the best formulation at 333.15 K in the data reaches 15.4 mS/cm (README); the model agrees
    assert 13.0 < max(model.mean(r, c, 333.15) for r in (0.1, 0.5, 1.0) for c in np.linspace(0.6, 1.6, 11)) < 18.0
    assert model.mean(0.5, 0.0, 298.15) == 0.0
    # noise: the data's own replicate deviations (a few per cent)
    assert 0.01 < np.median(np.abs(model.deviations)) < 0.05


def test_without_data_the_simulator_is_used(tmp_path):
    from aiida_bigmap_al import simulator

    model = load_model(str(tmp_path / "absent.csv"))
    assert model.source.startswith("simulator:flores2022")
    assert model.mean(0.3, 1.1, 303.15) == pytest.approx(float(simulator.flores2022(0.3, 1.1, 303.15)))
    assert math.isnan(model.sample(0.3, 1.1, 100.0, random.Random(0)))  # outside the law's range


def test_replicate_deviations_of_a_tiny_set():
    t = np.array([300.0, 300.0, 300.0, 310.0])
    r = np.array([0.5, 0.5, 0.5, 0.5])
    c = np.array([1.0, 1.0, 1.0, 1.0])
    k = np.array([9.0, 10.0, 11.0, 12.0])  # the single 310 K reading carries no scatter
    deviations = replicate_deviations(t, r, c, k)
    assert deviations == pytest.approx(np.array([-0.1, 0.0, 0.1]) * math.sqrt(3 / 2))


def test_stage_moves_take_distance_over_speed_and_respect_travel():
    import time

    bench = Bench()
    stage = XYZStageEmulator("STAGE", bench, speed_mm_s=100.0, time_scale=0.5)
    assert stage.handle("STAGE POS") == "POS 0.000 0.000 10.000"  # parked, lifted
    start = time.monotonic()
    assert stage.handle("STAGE MOVE 30 40 10") == "OK 30.000 40.000 10.000"  # 50 mm: 0.5 s * 0.5
    assert 0.24 <= time.monotonic() - start < 2.0
    assert bench.stage_position == (30.0, 40.0, 10.0)
    assert stage.handle("STAGE MOVE 30 140 10") == "ERR y = 140 outside travel [0, 100] mm"
    assert stage.handle("STAGE MOVE 30 40") == "ERR expected 3 argument(s) x y z, got 2"


def test_droplet_cell_needs_contact_and_returns_scaled_schwefel():
    bench = Bench()
    stage = XYZStageEmulator("STAGE", bench, time_scale=FAST)
    sdc = DropletCellEmulator("SDC", bench, scale=0.5, time_scale=FAST)
    assert sdc.handle("SDC MEASURE") == "ERR no contact with the substrate (z = 10.000 mm)"
    stage.handle("STAGE MOVE 25 75 0")
    u, v = -250.0, 250.0  # (25, 75) mm on a 0..100 mm substrate
    assert sdc.handle("SDC MEASURE") == f"V {0.5 * schwefel(u, v):.6f}"
    assert schwefel(420.9687, 420.9687) == pytest.approx(0.0, abs=1e-3)  # the global minimum
