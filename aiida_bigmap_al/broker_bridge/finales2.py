"""FINALES2 conductivity requests read as a point of the FZJ domain, and results written back in their shape.

A FINALES2 client asks for a conductivity by formulation: chemicals (SMILES and InChIKey), each
with a molar fraction, and a temperature in K (``conductivity/two_electrode``,
``polynomial_interpolation``, ``molecular_dynamics``). The simulator knows the FZJ domain, LiPF6
in EC/PC/EMC with (EC+PC):EMC = 3:7 by mass, in two numbers (:mod:`aiida_bigmap_al.electrolyte`).
:func:`point_of` converts molar fractions to masses with each compound's molar mass and reads the
point from them, refusing, with the reason, a formulation outside the domain (another chemical, or
another solvent ratio); :func:`result_data` writes the value as FINALES2's ``TwoElectrodeOutput``
(``run_info`` and ``conductivity`` with ``values`` in S/m). No AiiDA import.
"""

from __future__ import annotations

from typing import Any

from ..electrolyte import MOLAR_MASS, compound_of, from_mass_fractions

__all__ = ["is_formulation_request", "point_of", "result_data"]

#: The names FINALES2 tenants give a molar fraction (its schema: "only molar fractions are supported").
MOLAR_FRACTION_TYPES = frozenset({"molPerMol", "molar fraction", "mole fraction"})
#: How much a model's value is to be trusted, on FINALES2's scale of 0 to 5: an empirical model of
#: measured data, inside its domain.
MODEL_RATING = 3


def is_formulation_request(parameters: Any) -> bool:
    """Whether a method's parameters are FINALES2's formulation and temperature (else: a point of ours)."""
    return isinstance(parameters, dict) and "formulation" in parameters


def point_of(parameters: dict) -> tuple[float, float, float]:
    """``(r, c, temperature)`` of a FINALES2 formulation request's parameters; ``ValueError`` naming what
    keeps it outside the FZJ domain."""
    masses: dict[str, float] = {}
    for index, component in enumerate(parameters["formulation"]):
        key = _compound(component["chemical"], index)
        if component["fraction_type"] not in MOLAR_FRACTION_TYPES:
            raise ValueError(f"formulation[{index}]: fraction_type {component['fraction_type']!r} is not a molar "
                             f"fraction ({', '.join(sorted(MOLAR_FRACTION_TYPES))})")
        if key in masses:
            raise ValueError(f"formulation[{index}]: {key} appears more than once")
        masses[key] = float(component["fraction"]) * MOLAR_MASS[key]
    r, c = from_mass_fractions(masses)
    return r, c, float(parameters["temperature"])


def _compound(chemical: dict, index: int) -> str:
    if not isinstance(chemical, dict):
        raise ValueError(f"formulation[{index}]: the chemical must be an object with SMILES and InChIKey, "
                         f"got {chemical!r}")
    smiles, inchikey = str(chemical.get("SMILES", "")), str(chemical.get("InChIKey", ""))
    key = compound_of(smiles, inchikey)
    if key is None:
        raise ValueError(f"formulation[{index}]: {smiles} ({inchikey}) is not "
                         f"one of the FZJ domain's {', '.join(MOLAR_MASS)}")
    return key


def result_data(parameters: dict, value_ms_per_cm: float, internal_reference: str) -> dict:
    """FINALES2's result data for a conductivity in mS/cm at the request's formulation and temperature."""
    return {"run_info": {"formulation": parameters["formulation"], "internal_reference": internal_reference},
            "conductivity": {"values": [value_ms_per_cm / 10.0],  # mS/cm -> S/m
                             "temperature": parameters["temperature"],
                             "meta": {"success": True, "rating": MODEL_RATING}}}
