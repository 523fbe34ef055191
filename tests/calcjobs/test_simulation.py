"""``SimulationCalcJob`` run for real on localhost through aiida-core's engine and pytest fixtures.

Each run goes the whole way: input validation, ``input.json`` upload, the ``bigmap-sim`` console
script of this environment under the direct scheduler, retrieval and the parser. The failure
tests use real programs too: ``/bin/true`` writes no output file, ``/bin/cp`` copies the input
document to where the output document should be.
"""

import json
import shutil

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory, ParserFactory

from aiida_bigmap_al import simulator
from aiida_bigmap_al.calcjobs import SimulationCalcJob
from aiida_bigmap_al.electrolyte import from_formulation, to_formulation
from aiida_bigmap_al.parsers.simulation import SimulationParser
from aiida_bigmap_al.profile import simulator_executable
from aiida_bigmap_al.schemas import Formulation, Measurement


@pytest.fixture
def simulator_code(aiida_code_installed):
    """The ``bigmap-sim`` of this environment as an installed code on the fixtures' localhost."""
    return aiida_code_installed(
        label="bigmap-sim",
        filepath_executable=str(simulator_executable()),
        default_calc_job_plugin="bigmap.simulation",
    )


def _inputs(code, r=0.3, c=1.0, temperature=298.15, **extra):
    return {"code": code, "formulation": to_formulation(r, c), "temperature": temperature, **extra}


def test_entry_points():
    assert CalculationFactory("bigmap.simulation") is SimulationCalcJob
    assert ParserFactory("bigmap.simulation") is SimulationParser


def test_simulation_in_range(simulator_code):
    """A point inside the model's range gives a validated FINALES measurement with the simulator's value."""
    formulation = to_formulation(0.3, 1.0)
    results, node = run_get_node(SimulationCalcJob, code=simulator_code, formulation=formulation, temperature=298.15)

    assert node.is_finished_ok, node.exit_message
    assert node.process_label == "SimulationCalcJob"
    assert node.inputs.model.value == "flores2022"
    measurement = Measurement.model_validate(results["measurement"].get_dict())
    # AiiDA stores floats to 14 significant digits: the job works on the stored formulation.
    stored = Formulation.model_validate(node.inputs.formulation.get_dict())
    assert stored.ratio == pytest.approx(formulation.ratio, rel=1e-13)
    r, c = from_formulation(stored)
    expected = simulator.conductivity("flores2022", r, c, 298.15).conductivity
    assert measurement.fom_data.value == pytest.approx(expected, rel=1e-12)
    assert measurement.fom_data.unit == "mS/cm"
    assert measurement.fom_data.name == "conductivity"
    assert measurement.fom_data.measurement_id == node.uuid
    assert measurement.kind.origin == measurement.fom_data.origin.origin == "simulation"
    assert measurement.pending is False
    assert measurement.formulation == stored
    assert measurement.temperature.kelvin == 298.15

    # Provenance: the exact input document is stored with the job, the raw output is retrieved.
    sent = json.loads(node.base.repository.get_object_content("input.json"))
    assert sent == {"model": "flores2022", "points": [{"r": r, "c": c, "temperature": 298.15}]}
    raw = json.loads(node.outputs.retrieved.base.repository.get_object_content("output.json"))
    assert raw["results"][0]["conductivity"] == pytest.approx(measurement.fom_data.value, rel=1e-13)


def test_simulation_outside_model_range(simulator_code):
    """A point the chosen model does not cover fails with exit code 450 and says why."""
    inputs = _inputs(simulator_code, temperature=400.0, model=orm.Str("landesfeind2019"))
    results, node = run_get_node(SimulationCalcJob, **inputs)

    assert node.exit_status == SimulationCalcJob.exit_codes.ERROR_OUTSIDE_MODEL_RANGE.status == 450
    assert "landesfeind2019" in node.exit_message
    assert "temperature = 400 K outside the model domain" in node.exit_message
    assert "measurement" not in results


@pytest.mark.parametrize(
    ("executable", "exit_code", "fragment"),
    [
        ("true", "ERROR_OUTPUT_FILE_MISSING", "output.json"),
        ("cp", "ERROR_OUTPUT_FILE_INVALID", "results: Field required"),
    ],
)
def test_simulation_bad_output(aiida_code_installed, executable, exit_code, fragment):
    """No output file, or a file that is not the simulator's output document, each have their exit code."""
    code = aiida_code_installed(label=f"not-a-simulator-{executable}", filepath_executable=shutil.which(executable))
    results, node = run_get_node(SimulationCalcJob, **_inputs(code))

    assert node.exit_status == getattr(SimulationCalcJob.exit_codes, exit_code).status
    assert fragment in node.exit_message
    assert "measurement" not in results


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"formulation": {"compounds": [], "ratio": [], "ratio_method": "gravimetric"}}, ["formulation", "compounds"]),
        (
            {"formulation": to_formulation(0.3, 1.0).model_copy(update={"ratio_method": "molar"})},
            ["formulation", "gravimetric"],
        ),
        ({"temperature": -5.0}, ["temperature", "> 0"]),
        ({"model": "nonexistent"}, ["model", "nonexistent", "flores2022"]),
    ],
)
def test_simulation_invalid_input(simulator_code, overrides, fragments):
    """Invalid inputs are refused before anything runs, with a message naming the port and the problem."""
    with pytest.raises(ValueError) as info:
        run_get_node(SimulationCalcJob, **{**_inputs(simulator_code), **overrides})
    for fragment in fragments:
        assert fragment in str(info.value)
