"""Electrolyte conductivity from published empirical models: the project's "simulation".

Two closed-form models of the ionic conductivity of LiPF6 in carbonate blends stand in for a
simulation code. They are cheap, deterministic and cited, so a campaign can run end to end
(and as an AiiDA ShellJob on any computer, through the JSON interface at the bottom of this
module and the ``bigmap-sim`` command) without a laboratory.

* ``landesfeind2019``: Landesfeind & Gasteiger, J. Electrochem. Soc. 166 (2019) A3079,
  doi:10.1149/2.0571912jes, fitted to LiPF6 in EC:EMC 3:7 (w:w). No PC dependence.
* ``flores2022``: Flores et al., Digital Discovery 1 (2022) 440, doi:10.1039/D2DD00027J, a
  symbolic-regression law fitted to the FZJ high-throughput data of LiPF6 in EC/PC/EMC that
  :mod:`aiida_bigmap_al.datasets` loads. It turns negative at low temperature and high salt.

Every evaluation says whether the point lies inside the model's range: a point outside it (out
of the model's domain, or where the formula gives a negative conductivity) has no value. This is
a normal outcome, not an error, because an active learner may well propose such points.

Units everywhere: ``r`` = PC/(EC+PC) mass ratio (dimensionless, 0..1), ``c`` = LiPF6 molality in
mol/kg of solvent, temperature in K, conductivity in mS/cm.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "LIPF6_MOLAR_MASS",
    "MODELS",
    "SOLUTION_DENSITY",
    "UNIT",
    "ConductivityModel",
    "Domain",
    "SimulationInput",
    "SimulationPoint",
    "PointResult",
    "SimulationOutput",
    "SimulationResult",
    "UnknownModelError",
    "conductivity",
    "flores2022",
    "get_model",
    "landesfeind2019",
    "landesfeind2019_law",
    "molality_to_molarity",
    "simulate",
]

UNIT = "mS/cm"

LIPF6_MOLAR_MASS = 0.151905
"""kg/mol of LiPF6 (151.905 g/mol)."""

SOLUTION_DENSITY = 1.2
"""kg/L, the density assumed for LiPF6 solutions in EC/EMC-type carbonate blends.

Measured densities of LiPF6 in EC:EMC 3:7 rise from about 1.1 g/mL (no salt) to about 1.3 g/mL
(2 mol/kg); 1 M LP57 is about 1.2 g/mL. A constant 1.2 kg/L therefore puts the molarity within
about +-8 % over 0.2..2 mol/kg, which is small beside the differences between the two models.
Replacing part of the EC by PC (1.20 g/mL instead of 1.32 g/mL) is neglected.
"""


class UnknownModelError(ValueError):
    """A model name that is not in :data:`MODELS`."""


def molality_to_molarity(c_molal, density: float = SOLUTION_DENSITY):
    """Convert LiPF6 molality (mol/kg solvent) to molarity (mol/L solution).

    One kilogram of solvent with ``m`` mol of salt weighs ``1 + m * M`` kg and fills
    ``(1 + m * M) / rho`` litres, hence ``c_L = m * rho / (1 + m * M)`` with ``rho`` in kg/L and
    ``M`` in kg/mol. The density is an estimate (see :data:`SOLUTION_DENSITY`).
    """
    m = np.asarray(c_molal, dtype=float)
    return m * density / (1.0 + m * LIPF6_MOLAR_MASS)


# --- the formulas, without any range check --------------------------------------------------

LANDESFEIND2019_EC_EMC_3_7 = (0.521, 228.0, -1.06, 0.353, -0.00359, 0.00148)
"""Parameters p1..p6 of Landesfeind & Gasteiger (2019) for LiPF6 in EC:EMC 3:7 (w:w)."""


def _landesfeind2019_formula(r, c_molal, temperature):
    """kappa = p1 (1 + (T - p2)) c (1 + p3 sqrt(c) + p4 (1 + p5 e^(1000/T)) c) / (1 + c^4 p6 e^(1000/T)).

    ``c`` in mol/L, ``T`` in K, kappa in mS/cm (Landesfeind & Gasteiger 2019, their conductivity
    fit function). ``r`` is accepted for a common signature and ignored: the fit is for EC:EMC
    3:7 and carries no PC dependence.
    """
    p1, p2, p3, p4, p5, p6 = LANDESFEIND2019_EC_EMC_3_7
    c = molality_to_molarity(c_molal)
    t = np.asarray(temperature, dtype=float)
    arrhenius_like = np.exp(1000.0 / t)
    numerator = p1 * (1.0 + (t - p2)) * c * (1.0 + p3 * np.sqrt(c) + p4 * (1.0 + p5 * arrhenius_like) * c)
    return numerator / (1.0 + c**4 * p6 * arrhenius_like)


def _flores2022_formula(r, c_molal, temperature):
    """k = -5.11 c - 0.04 T - 0.35 c^2.5 r^0.5 + 2.73e-4 T^2 c^0.25 (Flores et al. 2022).

    ``c`` in mol/kg, ``T`` in K, ``r`` = PC/(EC+PC), k in mS/cm.
    """
    r = np.asarray(r, dtype=float)
    c = np.asarray(c_molal, dtype=float)
    t = np.asarray(temperature, dtype=float)
    return -5.11 * c - 0.04 * t - 0.35 * c**2.5 * np.sqrt(r) + 2.73e-4 * t**2 * c**0.25


# --- models with their domains -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Domain:
    """Closed intervals of inputs where a model is used; outside them it has no value."""

    r: tuple[float, float]
    c: tuple[float, float]
    temperature: tuple[float, float]

    def violations(self, r: float, c: float, temperature: float) -> list[str]:
        """Human-readable reasons why one point lies outside the domain (empty when inside)."""
        checks = (
            ("r", r, self.r, ""),
            ("c", c, self.c, " mol/kg"),
            ("temperature", temperature, self.temperature, " K"),
        )
        return [
            f"{name} = {value:g}{unit} outside the model domain [{low:g}, {high:g}]{unit}"
            for name, value, (low, high), unit in checks
            if not low <= value <= high
        ]

    def contains(self, r, c, temperature) -> np.ndarray:
        """Element-wise: True where (r, c, T) lies inside the domain."""
        inside = np.ones(np.broadcast(r, c, temperature).shape, dtype=bool)
        for value, (low, high) in ((r, self.r), (c, self.c), (temperature, self.temperature)):
            value = np.asarray(value, dtype=float)
            inside &= (value >= low) & (value <= high)
        return inside


@dataclasses.dataclass(frozen=True)
class ConductivityModel:
    """A named, cited conductivity law ``formula(r, c_molal, T) -> mS/cm`` with its domain."""

    name: str
    citation: str
    formula: Callable[..., np.ndarray]
    domain: Domain
    note: str = ""

    def evaluate(self, r, c, temperature) -> np.ndarray:
        """Vectorised conductivity in mS/cm, NaN outside the domain or where the law is negative."""
        r, c, temperature = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, c, temperature)))
        inside = self.domain.contains(r, c, temperature)
        values = np.full(r.shape, np.nan)
        values[inside] = self.formula(r[inside], c[inside], temperature[inside])
        values[values < 0] = np.nan
        return values


# Domains. Flores 2022: the FZJ measurement envelope it was fitted to (r 0.087..1, c 0.194..2.118
# mol/kg, T 243.15..333.15 K), widened a little. Landesfeind 2019: chosen by this project to cover
# the same temperature envelope and salt up to 3.5 mol/kg (about 2.7 mol/L); the formula is smooth
# there, but the corners may be extrapolations of the paper's fit (check its measured range before
# relying on them).
MODELS: dict[str, ConductivityModel] = {
    model.name: model
    for model in (
        ConductivityModel(
            name="flores2022",
            citation=(
                "E. Flores et al., Learning the laws of lithium-ion transport in electrolytes "
                "using symbolic regression, Digital Discovery 1 (2022) 440, doi:10.1039/D2DD00027J"
            ),
            formula=_flores2022_formula,
            domain=Domain(r=(0.0, 1.0), c=(0.15, 2.2), temperature=(238.15, 338.15)),
        ),
        ConductivityModel(
            name="landesfeind2019",
            citation=(
                "J. Landesfeind, H. A. Gasteiger, Temperature and Concentration Dependence of the Ionic "
                "Transport Properties of Lithium-Ion Battery Electrolytes, J. Electrochem. Soc. 166 "
                "(2019) A3079, doi:10.1149/2.0571912jes (LiPF6 in EC:EMC 3:7)"
            ),
            formula=_landesfeind2019_formula,
            domain=Domain(r=(0.0, 1.0), c=(0.0, 3.5), temperature=(238.15, 338.15)),
            note=(
                "r not used: EC:EMC 3:7 fit without PC dependence; "
                f"molality -> molarity at rho = {SOLUTION_DENSITY} kg/L"
            ),
        ),
    )
}


def get_model(name: str) -> ConductivityModel:
    """The registered model called ``name``; :class:`UnknownModelError` lists the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None


# --- Python API ----------------------------------------------------------------------------


def flores2022(r, c, temperature) -> np.ndarray:
    """Flores et al. (2022) conductivity in mS/cm for arrays (broadcast); NaN where out of range."""
    return MODELS["flores2022"].evaluate(r, c, temperature)


def landesfeind2019_law(c_molal, temperature) -> np.ndarray:
    """The Landesfeind & Gasteiger (2019) formula without its domain: for a prior mean, which must
    have a value (a smooth trend) wherever a model is asked, also a little beyond the data."""
    return _landesfeind2019_formula(None, c_molal, temperature)


#: The Landesfeind law as a prior mean of ``aiida_bigmap_al.learning`` (declared as the entry point
#: ``landesfeind2019`` of the group ``aiida_bigmap_al.priors``): molality from the input ``c``,
#: temperature from the input ``T`` or the campaign's ``temperature`` condition.
LANDESFEIND2019_PRIOR = {"function": landesfeind2019_law, "arguments": [("c",), ("T", "temperature")]}


def landesfeind2019(c_molal, temperature) -> np.ndarray:
    """Landesfeind & Gasteiger (2019) conductivity in mS/cm for arrays; NaN where out of range.

    Takes molality (mol/kg) like the rest of the project and converts it with
    :func:`molality_to_molarity`. No PC dependence, hence no ``r`` argument.
    """
    c = np.asarray(c_molal, dtype=float)
    return MODELS["landesfeind2019"].evaluate(np.zeros_like(c), c, temperature)


class PointResult(BaseModel):
    """One evaluated point of the simulator's output: the value (None when out of range), the
    in-range flag and why. The JSON shape that :func:`simulate` writes and the AiiDA parser reads."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    r: float
    c: float
    temperature: float
    conductivity: float | None
    in_range: bool
    message: str


class SimulationResult(PointResult):
    """A :class:`PointResult` with the name of the model that made it."""

    model: str


class SimulationOutput(BaseModel):
    """The simulator's output document: the model, its citation, the unit and one result per point."""

    model_config = ConfigDict(extra="forbid")

    model: str
    citation: str
    unit: str
    results: list[PointResult] = Field(min_length=1)


def conductivity(model: str, r: float, c: float, T_kelvin: float) -> SimulationResult:
    """Conductivity of one formulation at one temperature, with the reason when out of range.

    Physically impossible inputs (non-finite, ``T <= 0``, ``c < 0``, ``r`` outside [0, 1]) raise
    :class:`ValueError`; points that are merely outside the model's range come back with
    ``in_range=False`` and ``conductivity=None``.
    """
    law = get_model(model)
    r, c, T_kelvin = (_checked(name, value) for name, value in (("r", r), ("c", c), ("T_kelvin", T_kelvin)))
    if T_kelvin <= 0 or c < 0 or not 0 <= r <= 1:
        raise ValueError(
            f"impossible input r={r}, c={c} mol/kg, T={T_kelvin} K (need T > 0, c >= 0, 0 <= r <= 1)"
        )

    def result(value, in_range, message):
        return SimulationResult(model=law.name, r=r, c=c, temperature=T_kelvin, conductivity=value,
                                in_range=in_range, message=message)

    reasons = law.domain.violations(r, c, T_kelvin)
    if reasons:
        return result(None, False, "; ".join(reasons))
    value = float(law.formula(r, c, T_kelvin))
    if value < 0:
        return result(None, False, f"the model gives {value:.3g} {UNIT} < 0: outside its range of validity")
    return result(value, True, "ok" + (f" ({law.note})" if law.note else ""))


def _checked(name: str, value) -> float:
    """``value`` as a finite float, or a ValueError naming the argument."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


# --- JSON interface ------------------------------------------------------------------------

_FINITE = ConfigDict(extra="forbid", allow_inf_nan=False)


class SimulationPoint(BaseModel):
    """One requested point; ``temperature`` in K, ``c`` in mol/kg, ``r`` = PC/(EC+PC)."""

    model_config = _FINITE

    r: float = Field(ge=0.0, le=1.0, strict=True)
    c: float = Field(ge=0.0, strict=True)
    temperature: float = Field(gt=0.0, strict=True, description="K")


class SimulationInput(BaseModel):
    """The input file: a model name and a list of points (or one point inline)."""

    model_config = _FINITE

    model: str
    points: list[SimulationPoint] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _single_point(cls, data: Any) -> Any:
        """Accept ``{"model": .., "r": .., "c": .., "temperature": ..}`` as a one-point list."""
        if isinstance(data, dict) and "points" not in data and data.keys() & {"r", "c", "temperature"}:
            point = {key: value for key, value in data.items() if key != "model"}
            return {"model": data.get("model"), "points": [point]} if "model" in data else {"points": [point]}
        return data

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        get_model(name)
        return name


def simulate(payload: Any) -> dict[str, Any]:
    """Validate a JSON-like input (dict) and return the JSON-like output (dict).

    Raises :class:`pydantic.ValidationError` naming the offending field for invalid input
    (including an unknown model). Out-of-range points are reported, not raised.
    """
    request = SimulationInput.model_validate(payload)
    law = MODELS[request.model]
    results = [PointResult.model_validate(conductivity(law.name, p.r, p.c, p.temperature).model_dump(
        exclude={"model"})) for p in request.points]
    return SimulationOutput(model=law.name, citation=law.citation, unit=UNIT,
                            results=results).model_dump(mode="json")
