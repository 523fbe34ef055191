"""FINALES2 conductivity requests ask by formulation (molar fractions of chemicals); the AiiDA tenant
reads them as a point of the FZJ domain, or refuses them with the reason."""

from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest

from aiida_bigmap_al.broker_bridge import finales2
from aiida_bigmap_al.electrolyte import EC, EMC, LIPF6, PC

from .conftest import FINALES2


def component(chemical, fraction, fraction_type="molPerMol", inchikey="") -> dict:
    return {"chemical": {"SMILES": chemical.smiles, "InChIKey": inchikey}, "fraction": fraction,
            "fraction_type": fraction_type}


#: LiPF6 1.0 mol/kg in EC/PC/EMC with PC/(EC+PC) = 0.3 by mass and (EC+PC):EMC = 3:7, as molar fractions.
IN_DOMAIN = {"formulation": [component(LIPF6, 0.0910), component(EC, 0.2170), component(PC, 0.0802),
                             component(EMC, 0.6118)], "temperature": 263.15}


def test_molar_fractions_of_the_fzj_domain_give_its_point():
    r, c, temperature = finales2.point_of(IN_DOMAIN)
    assert r == pytest.approx(0.3, abs=2e-3) and c == pytest.approx(1.0, abs=5e-3) and temperature == 263.15


def test_chemicals_are_recognised_by_inchikey_too():
    by_key = {"formulation": [dict(c, chemical={"SMILES": "?", "InChIKey": key})
                              for c, key in zip(IN_DOMAIN["formulation"],
                                                ("AXPLOJNSKRXQPA-UHFFFAOYSA-N", "KMTRUDSVKNLOMY-UHFFFAOYSA-N",
                                                 "RUOJZAUFBMNUDX-UHFFFAOYSA-N", "JBTWLSYIZRCDFO-UHFFFAOYSA-N"))],
              "temperature": 263.15}
    assert finales2.point_of(by_key) == finales2.point_of(IN_DOMAIN)


@pytest.mark.parametrize(("method", "reason"), [
    ("two_electrode", "COC(=O)OC (IEJIGPNLZYLLBP-UHFFFAOYSA-N) is not one of the FZJ domain's"),  # DMC
    ("polynomial_interpolation", "(EC+PC):EMC mass ratio is 1.0000:0.0000"),  # no EMC
])
def test_the_finales2_examples_lie_outside_the_domain_and_say_why(method, reason):
    example = json.loads((FINALES2 / f"examples/requests/conductivity/{method}.json").read_text())
    with pytest.raises(ValueError, match=re.escape(reason)):
        finales2.point_of(example["parameters"][method])


def test_a_fraction_that_is_not_molar_is_refused():
    by_mass = {**IN_DOMAIN, "formulation": [dict(c, fraction_type="massPerMass") for c in IN_DOMAIN["formulation"]]}
    with pytest.raises(ValueError, match=r"formulation\[0\]: fraction_type 'massPerMass' is not a molar fraction"):
        finales2.point_of(by_mass)


def test_the_result_fits_the_finales2_result_schema_in_siemens_per_metre():
    capability = json.loads((FINALES2 / "serialized_quantities/conductivity/two_electrode.json").read_text())
    data = finales2.result_data(IN_DOMAIN, 4.2, internal_reference="process-uuid")
    jsonschema_rs.validator_for(capability["json_schema_result_output"]).validate(data)
    assert data["conductivity"]["values"] == [pytest.approx(0.42)]
    assert data["run_info"] == {"formulation": IN_DOMAIN["formulation"], "internal_reference": "process-uuid"}


def test_a_formulation_of_another_shape_is_refused_with_the_reason():
    """A capability of one's own may write chemicals as names: not a FINALES2 formulation."""
    named = {"formulation": [{"chemical": "LiPF6", "fraction": 0.1, "fraction_type": "molPerMol"}],
             "temperature": 298.15}
    with pytest.raises(ValueError, match=r"formulation\[0\]: the chemical must be an object with SMILES"):
        finales2.point_of(named)
