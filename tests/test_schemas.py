"""The FINALES schemas accept good data, round-trip through JSON and reject what a lab gets wrong."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from aiida_bigmap_al.schemas import (
    Amount,
    Chemical,
    Compound,
    FomData,
    Formulation,
    Measurement,
    Origin,
    Temperature,
)


def chemical(smiles="C1COC(=O)O1", name="ethylene carbonate", **extra):
    return {"smiles": smiles, "name": name, **extra}


def compound(name="EC", chemicals=None, amounts=None):
    return {
        "chemicals": chemicals if chemicals is not None else [chemical()],
        "amounts": amounts if amounts is not None else [{"value": 300.0, "unit": "g"}],
        "name": name,
    }


def formulation(ratio=(0.3, 0.7), **overrides):
    data = {
        "compounds": [compound("EC"), compound("EMC", [chemical("CCOC(=O)OC", "ethyl methyl carbonate")])],
        "ratio": list(ratio),
        "ratio_method": "gravimetric",
    }
    return {**data, **overrides}


def fom(origin="experiment", **overrides):
    data = {"value": 9.46, "unit": "mS/cm", "origin": {"origin": origin}, "measurement_id": "m-1",
            "name": "conductivity"}
    return {**data, **overrides}


def measurement(**overrides):
    data = {
        "formulation": formulation(),
        "temperature": {"value": 303.15, "unit": "K"},
        "pending": False,
        "kind": {"origin": "experiment"},
        "fom_data": fom(),
    }
    return {**data, **overrides}


def assert_names(excinfo, field):
    """The error's location ends at ``field``: the user sees which field is wrong."""
    locs = [error["loc"] for error in excinfo.value.errors()]
    assert any(field in loc for loc in locs), locs


def test_valid_measurement_round_trips_through_json():
    done = Measurement.model_validate(measurement())
    again = Measurement.model_validate_json(done.model_dump_json())
    assert again == done
    assert again.fom_data.value == pytest.approx(9.46)
    assert again.formulation.compounds[1].chemicals[0].smiles == "CCOC(=O)OC"


def test_pending_measurement_round_trips_without_data():
    pending = Measurement.model_validate(measurement(pending=True, fom_data=None))
    assert pending.fom_data is None
    assert Measurement.model_validate_json(pending.model_dump_json()) == pending


def test_models_are_frozen():
    amount = Amount(value=1.0, unit="g")
    with pytest.raises(ValidationError):
        amount.value = 2.0
    assert amount.model_copy(update={"value": 2.0}).value == 2.0


def test_chemical_accepts_smiles_key_spelled_in_capitals():
    assert Chemical.model_validate({"SMILES": "CCOC(=O)OC", "name": "EMC"}).smiles == "CCOC(=O)OC"


@pytest.mark.parametrize(
    ("unit", "value", "kelvin"),
    [("K", 298.15, 298.15), ("°C", 25.0, 298.15), ("degC", -30.0, 243.15)],
)
def test_temperature_in_kelvin(unit, value, kelvin):
    assert Temperature(value=value, unit=unit).kelvin == pytest.approx(kelvin)


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Chemical, chemical(smiles=""), "smiles"),
        (Chemical, chemical(smiles="C1CO C"), "smiles"),
        (Chemical, chemical(name="   "), "name"),
        (Chemical, chemical(reference=""), "reference"),
        (Chemical, chemical(smile="C"), "smile"),
        (Amount, {"value": -1.0, "unit": "g"}, "value"),
        (Amount, {"value": float("nan"), "unit": "g"}, "value"),
        (Amount, {"value": 1.0, "unit": "grams"}, "unit"),
        (Compound, compound(chemicals=[]), "chemicals"),
        (Compound, compound(amounts=[{"value": 1, "unit": "g"}] * 2), "amounts"),
        (Compound, compound(name=""), "name"),
        (Formulation, formulation(compounds=[]), "compounds"),
        (Formulation, formulation(ratio=(0.3, 0.6)), "ratio"),
        (Formulation, formulation(ratio=(1.2, -0.2)), "ratio"),
        (Formulation, formulation(ratio=(1.0,)), "ratio"),
        (Formulation, formulation(ratio_method="mass"), "ratio_method"),
        (Formulation, formulation(compounds=[compound("EC"), compound("EC")]), "compounds"),
        (Temperature, {"value": 0.0, "unit": "K"}, "value"),
        (Temperature, {"value": -273.15, "unit": "°C"}, "value"),
        (Temperature, {"value": 300.0, "unit": "F"}, "unit"),
        (Origin, {"origin": "guess"}, "origin"),
        (FomData, fom(unit="mS"), "unit"),
        (FomData, fom(measurement_id=""), "measurement_id"),
        (FomData, fom(value=float("inf")), "value"),
        (Measurement, measurement(fom_data=None), "fom_data"),
        (Measurement, measurement(pending=True), "fom_data"),
        (Measurement, measurement(fom_data=fom(origin="simulation")), "fom_data"),
        (Measurement, measurement(temperature={"value": -5.0, "unit": "K"}), "value"),
    ],
)
def test_invalid_input_names_the_field(model, data, field):
    with pytest.raises(ValidationError) as excinfo:
        model.model_validate(data)
    assert_names(excinfo, field)


def test_ratio_tolerance_suits_hand_entered_data():
    assert Formulation.model_validate(formulation(ratio=(0.3004, 0.7))).ratio == [0.3004, 0.7]
    with pytest.raises(ValidationError):
        Formulation.model_validate(formulation(ratio=(0.302, 0.7)))


def test_invalid_json_names_the_nested_field():
    bad = Measurement.model_validate(measurement()).model_dump_json().replace('"g"', '"gramm"')
    with pytest.raises(ValidationError) as excinfo:
        Measurement.model_validate_json(bad)
    assert excinfo.value.errors()[0]["loc"][-1] == "unit"
    assert "amounts" in excinfo.value.errors()[0]["loc"]


def test_domain_modules_do_not_import_aiida():
    """Schemas, electrolyte mapping and search space must work where AiiDA is not installed."""
    code = (
        "import sys; import aiida_bigmap_al.schemas, aiida_bigmap_al.electrolyte, aiida_bigmap_al.space; "
        "sys.exit('aiida' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
