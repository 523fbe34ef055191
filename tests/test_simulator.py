"""The empirical conductivity models, their range checks, the JSON interface and the CLI."""

import json
import math
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pydantic
import pytest

from aiida_bigmap_al import simulator
from aiida_bigmap_al.simulator import MODELS, UnknownModelError, conductivity, flores2022, landesfeind2019


def flores_by_hand(r, c, T):
    """Flores et al. (2022), written out independently of the module."""
    return -5.11 * c - 0.04 * T - 0.35 * c ** 2.5 * r ** 0.5 + 2.73e-4 * T ** 2 * c ** 0.25


def landesfeind_by_hand(c_molar, T):
    """Landesfeind & Gasteiger (2019), EC:EMC 3:7, c in mol/L."""
    x = math.exp(1000 / T)
    a = 0.521 * (1 + (T - 228))
    b = 1 - 1.06 * math.sqrt(c_molar) + 0.353 * (1 - 0.00359 * x) * c_molar
    return a * c_molar * b / (1 + c_molar ** 4 * 0.00148 * x)


# --- the models ------------------------------------------------------------------------------


def test_registry():
    assert set(MODELS) == {"flores2022", "landesfeind2019"}
    assert "10.1039/D2DD00027J" in MODELS["flores2022"].citation
    assert "10.1149/2.0571912jes" in MODELS["landesfeind2019"].citation


def test_flores_value():
    # by hand: -5.11 - 0.04*298.15 - 0.35*0.5 + 2.73e-4*298.15**2 = 7.0569
    result = conductivity("flores2022", 0.25, 1.0, 298.15)
    assert result.in_range and result.message == "ok"
    assert result.conductivity == pytest.approx(7.0569, abs=1e-4)
    assert result.conductivity == pytest.approx(flores_by_hand(0.25, 1.0, 298.15), rel=1e-12)
    assert conductivity("flores2022", 0.9, 1.5, 323.15).conductivity == pytest.approx(
        flores_by_hand(0.9, 1.5, 323.15), rel=1e-12
    )


def test_molality_to_molarity():
    # 1 mol in 1 kg solvent: 1.151905 kg of solution at 1.2 kg/L
    assert simulator.molality_to_molarity(1.0) == pytest.approx(1.2 / 1.151905)
    assert simulator.molality_to_molarity(0.0) == 0.0


def test_landesfeind_value():
    c_molar = 1.0 * 1.2 / (1 + 1.0 * 0.151905)
    expected = landesfeind_by_hand(c_molar, 298.15)
    assert 8.5 < expected < 10.0  # LP57-like electrolyte at 25 °C: about 9 mS/cm
    result = conductivity("landesfeind2019", 0.3, 1.0, 298.15)
    assert result.in_range and result.conductivity == pytest.approx(expected, rel=1e-12)
    assert "r not used" in result.message
    # no PC dependence
    assert conductivity("landesfeind2019", 1.0, 1.0, 298.15).conductivity == result.conductivity
    cold = landesfeind_by_hand(2.0 * 1.2 / (1 + 2.0 * 0.151905), 253.15)
    assert float(landesfeind2019(2.0, 253.15)) == pytest.approx(cold, rel=1e-12)


def test_flores_negative_point_is_out_of_range():
    assert flores_by_hand(0.5, 2.1, 243.15) < 0  # the law itself goes negative here
    result = conductivity("flores2022", 0.5, 2.1, 243.15)
    assert not result.in_range and result.conductivity is None
    assert "< 0" in result.message
    assert np.isnan(flores2022(0.5, 2.1, 243.15))


def test_outside_domain_is_out_of_range():
    result = conductivity("flores2022", 0.5, 1.0, 200.0)
    assert not result.in_range and result.conductivity is None
    assert "temperature = 200 K outside" in result.message
    assert not conductivity("landesfeind2019", 0.5, 5.0, 298.15).in_range


@pytest.mark.parametrize(
    "r, c, T", [(0.5, 1.0, 0.0), (0.5, -0.1, 298.15), (1.5, 1.0, 298.15), (0.5, math.nan, 298.15)]
)
def test_impossible_input_raises(r, c, T):
    with pytest.raises(ValueError):
        conductivity("flores2022", r, c, T)


def test_unknown_model():
    with pytest.raises(UnknownModelError, match="known models: flores2022, landesfeind2019"):
        conductivity("nernst", 0.5, 1.0, 298.15)


def test_vectorised_matches_scalar():
    r = np.array([0.1, 0.5, 1.0])[:, None]
    T = np.array([243.15, 298.15, 333.15])[None, :]
    values = flores2022(r, 2.1, T)
    assert values.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            single = conductivity("flores2022", r[i, 0], 2.1, T[0, j])
            assert (single.conductivity is None) == np.isnan(values[i, j])
            if single.in_range:
                assert values[i, j] == pytest.approx(single.conductivity)
    assert np.isnan(values[:, 0]).all() and not np.isnan(values[:, 1:]).any()
    lg = landesfeind2019([0.5, 1.0, 10.0], 298.15)
    assert np.isfinite(lg[:2]).all() and np.isnan(lg[2])


# --- JSON interface --------------------------------------------------------------------------


def test_simulate_points_and_single_point_agree():
    point = {"r": 0.3, "c": 1.0, "temperature": 298.15}
    cold = {"r": 1.0, "c": 2.1, "temperature": 243.15}
    many = simulator.simulate({"model": "flores2022", "points": [point, cold]})
    one = simulator.simulate({"model": "flores2022", **point})
    assert many["unit"] == "mS/cm" and many["model"] == "flores2022" and "Flores" in many["citation"]
    assert one["results"] == many["results"][:1]
    assert many["results"][1] == {
        "r": 1.0, "c": 2.1, "temperature": 243.15, "conductivity": None, "in_range": False,
        "message": many["results"][1]["message"],
    }
    json.dumps(many)  # JSON-serialisable as it is


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"model": "nernst", "points": [{"r": 0.3, "c": 1.0, "temperature": 298.15}]}, "model"),
        ({"model": "flores2022", "points": [{"r": 1.3, "c": 1.0, "temperature": 298.15}]}, "points.0.r"),
        ({"model": "flores2022", "points": [{"r": 0.3, "c": "1", "temperature": 298.15}]}, "points.0.c"),
        ({"model": "flores2022", "points": [{"r": 0.3, "c": 1.0, "temperature": -5}]}, "points.0.temperature"),
        ({"model": "flores2022", "points": [{"r": 0.3, "c": 1.0}]}, "points.0.temperature"),
        ({"model": "flores2022", "points": [{"r": True, "c": 1.0, "temperature": 298.15}]}, "points.0.r"),
        ({"model": "flores2022", "points": [{"r": 0.3, "c": 1.0, "T": 298.15}]}, "points.0.T"),
        ({"model": "flores2022", "points": []}, "points"),
        ({"points": [{"r": 0.3, "c": 1.0, "temperature": 298.15}]}, "model"),
    ],
)
def test_simulate_rejects_invalid_input(payload, field):
    with pytest.raises(pydantic.ValidationError) as caught:
        simulator.simulate(payload)
    assert field in {".".join(map(str, e["loc"])) for e in caught.value.errors()}


# --- command line ----------------------------------------------------------------------------


def _executable(name):
    path = pathlib.Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name} is not installed (pip install -e .)")
    return found


def _run(args, tmp_path, stdin=None):
    env = {**os.environ, "AIIDA_PATH": str(tmp_path)}  # never touch ~/.aiida
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )


def test_cli_bigmap_sim_files(tmp_path):
    points = [{"r": 0.25, "c": 1.0, "temperature": 298.15}, {"r": 0.5, "c": 2.1, "temperature": 243.15}]
    request = {"model": "flores2022", "points": points}
    (tmp_path / "in.json").write_text(json.dumps(request))
    done = _run([_executable("bigmap-sim"), "in.json", "out.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    output = json.loads((tmp_path / "out.json").read_text())
    assert output["unit"] == "mS/cm"
    first, second = output["results"]
    assert first["in_range"] and first["conductivity"] == pytest.approx(flores_by_hand(0.25, 1.0, 298.15))
    assert second["in_range"] is False and second["conductivity"] is None


def test_cli_bigmap_al_simulate_stdin_stdout(tmp_path):
    request = {"model": "landesfeind2019", "r": 0.2, "c": 1.0, "temperature": 298.15}
    done = _run([_executable("bigmap-al"), "simulate", "-", "-"], tmp_path, stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["conductivity"] == pytest.approx(landesfeind_by_hand(1.2 / 1.151905, 298.15))


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"model": "flores2022", "points": [{"r": 2, "c": 1.0, "temperature": 298.15}]}', "points.0.r"),
        ('{"model": "nernst", "r": 0.3, "c": 1.0, "temperature": 298.15}', "unknown model 'nernst'"),
        ('{"model": "flores2022", ', "not valid JSON"),
    ],
)
def test_cli_invalid_input(tmp_path, content, expected):
    (tmp_path / "bad.json").write_text(content)
    done = _run([_executable("bigmap-sim"), "bad.json", "out.json"], tmp_path)
    assert done.returncode != 0
    assert expected in done.stderr and "bad.json" in done.stderr
    assert not (tmp_path / "out.json").exists()


def test_cli_missing_file(tmp_path):
    done = _run([_executable("bigmap-al"), "simulate", "absent.json", "out.json"], tmp_path)
    assert done.returncode != 0 and "absent.json" in done.stderr
