"""FINALES-compatible data schemas: what a formulation, a temperature and a measurement look like.

These pydantic models are the contract between every part of the suite (workchains, calcjobs, the
instrument server, the broker and people typing JSON by hand), so they are strict: unknown fields,
negative amounts, unknown units, ratios that do not add up and measurements whose ``pending`` flag
contradicts their data are rejected at the edge with a ``ValidationError`` that names the field,
instead of surfacing later as a wrong number in a model. Field names follow FINALES (BIG-MAP).

The models are frozen (immutable) so that a measurement stored in the provenance graph cannot be
changed behind its node's back; use ``model_copy(update=...)`` to derive a new one.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "AMOUNT_UNITS",
    "FOM_UNITS",
    "RATIO_SUM_TOL",
    "Amount",
    "Chemical",
    "Compound",
    "FomData",
    "Formulation",
    "Measurement",
    "Origin",
    "Temperature",
]

#: Units accepted for an ``Amount``: masses, amounts of substance, volumes, concentrations and
#: fractions. An explicit list (rather than free text) catches typos such as ``"mgg"`` or ``"ml/L"``.
AMOUNT_UNITS: frozenset[str] = frozenset({
    # mass
    "ug", "µg", "mg", "g", "kg",
    # amount of substance
    "umol", "µmol", "mmol", "mol",
    # volume
    "uL", "µL", "mL", "L",
    # concentrations
    "M", "mM", "mol/L", "mmol/L", "mol/kg", "mmol/kg", "mmol/g", "g/L", "mg/mL", "g/kg",
    # fractions
    "wt%", "vol%", "mol%", "mass fraction", "volume fraction", "mol fraction",
})

#: Units accepted for a figure of merit: conductivity first (the FZJ data are in mS/cm), then the
#: other properties FINALES tenants report (viscosity, density, voltage, capacity, diffusion,
#: dimensionless numbers such as transference numbers or capacity retention).
FOM_UNITS: frozenset[str] = frozenset({
    # ionic conductivity
    "mS/cm", "S/cm", "S/m", "mS/m", "uS/cm", "µS/cm",
    # viscosity
    "mPa s", "mPa*s", "Pa s", "Pa*s", "cP",
    # density
    "g/cm3", "g/mL", "kg/m3", "kg/L",
    # potential, capacity, energy
    "V", "mV", "mAh", "Ah", "mAh/g", "Ah/kg", "Wh/kg",
    # transport
    "m2/s", "cm2/s",
    # temperature-like figures of merit (e.g. a melting point)
    "K", "°C",
    # dimensionless
    "1", "%", "dimensionless",
})

#: Absolute tolerance on ``sum(ratio) == 1``: hand-entered ratios carry three or four digits.
RATIO_SUM_TOL = 1e-3

_ZERO_CELSIUS_IN_K = 273.15


def _one_of(allowed: frozenset[str], what: str):
    """A validator of units the suite can interpret: free text would make amounts incomparable,
    and a wrong unit silently rescales a learning target."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; allowed: {sorted(allowed)}")
        return value

    return check


def unique_names(items: list, what: str) -> list:
    """``items`` (objects with a ``name``) if no name repeats, else a ValueError naming the repeats."""
    names = [item.name for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{what} names must be unique; repeated: {duplicates}")
    return items


def _not_blank(value: str) -> str:
    """Reject empty and whitespace-only strings, which a form or a spreadsheet produces silently."""
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


NonBlankStr = Annotated[str, AfterValidator(_not_blank)]


class _Schema(BaseModel):
    """Common configuration: immutable, no unknown fields (typos are errors), no NaN/inf numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Chemical(_Schema):
    """One pure chemical, identified by its SMILES string (``SMILES`` is accepted as input key)."""

    smiles: NonBlankStr = Field(validation_alias=AliasChoices("smiles", "SMILES"))
    name: NonBlankStr
    reference: NonBlankStr | None = None

    @field_validator("smiles")
    @classmethod
    def _no_whitespace(cls, value: str) -> str:
        """A SMILES string never contains whitespace; a space means two strings were pasted together."""
        if any(char.isspace() for char in value):
            raise ValueError(f"SMILES {value!r} contains whitespace")
        return value


class Amount(_Schema):
    """A non-negative quantity with a unit from ``AMOUNT_UNITS``."""

    value: float = Field(ge=0.0)
    unit: Annotated[str, AfterValidator(_one_of(AMOUNT_UNITS, "amount unit"))]


class Compound(_Schema):
    """A named ingredient made of one or more chemicals, each with its amount (same order)."""

    chemicals: list[Chemical] = Field(min_length=1)
    amounts: list[Amount] = Field(min_length=1)
    name: NonBlankStr

    @field_validator("amounts")
    @classmethod
    def _one_amount_per_chemical(cls, value: list[Amount], info: ValidationInfo) -> list[Amount]:
        """Amounts pair with chemicals by position, so the lists must be equally long."""
        chemicals = info.data.get("chemicals")
        if chemicals is not None and len(value) != len(chemicals):
            raise ValueError(f"{len(value)} amounts given for {len(chemicals)} chemicals")
        return value


class Formulation(_Schema):
    """A mixture of compounds in the given ratio (fractions summing to 1) of the given kind."""

    compounds: list[Compound] = Field(min_length=1)
    ratio: list[float] = Field(min_length=1)
    ratio_method: Literal["volumetric", "molar", "gravimetric"]

    @field_validator("compounds")
    @classmethod
    def _unique_names(cls, value: list[Compound]) -> list[Compound]:
        """A compound listed twice makes its share ambiguous."""
        return unique_names(value, "compound")

    @field_validator("ratio")
    @classmethod
    def _fractions(cls, value: list[float], info: ValidationInfo) -> list[float]:
        """One non-negative fraction per compound, summing to 1 within ``RATIO_SUM_TOL``."""
        compounds = info.data.get("compounds")
        if compounds is not None and len(value) != len(compounds):
            raise ValueError(f"{len(value)} ratio entries given for {len(compounds)} compounds")
        negative = [x for x in value if x < 0.0]
        if negative:
            raise ValueError(f"ratio entries must be >= 0, got {negative}")
        total = math.fsum(value)
        if abs(total - 1.0) > RATIO_SUM_TOL:
            raise ValueError(f"ratio must sum to 1 (within {RATIO_SUM_TOL}), sums to {total:.6g}")
        return value


class Temperature(_Schema):
    """A temperature in kelvin or degrees Celsius; it must lie above absolute zero.

    ``unit`` is declared before ``value`` so that the value's check can see the unit and the error
    is reported on ``value``.
    """

    unit: Literal["K", "°C", "degC"]
    value: float

    @field_validator("value")
    @classmethod
    def _above_absolute_zero(cls, value: float, info: ValidationInfo) -> float:
        """Convert with the (already validated) unit and reject anything at or below 0 K."""
        unit = info.data.get("unit")
        if unit is not None and _to_kelvin(value, unit) <= 0.0:
            raise ValueError(f"{value} {unit} is at or below absolute zero")
        return value

    @property
    def kelvin(self) -> float:
        """The temperature in kelvin, whatever unit it was given in."""
        return _to_kelvin(self.value, self.unit)


def _to_kelvin(value: float, unit: str) -> float:
    return value if unit == "K" else value + _ZERO_CELSIUS_IN_K


class Origin(_Schema):
    """Where a number comes from: a lab experiment, a simulation, or a test (never to be trusted)."""

    origin: Literal["experiment", "simulation", "test"]


class FomData(_Schema):
    """A figure of merit (e.g. ionic conductivity) with its unit, origin and measurement identifier."""

    value: float
    unit: Annotated[str, AfterValidator(_one_of(FOM_UNITS, "figure-of-merit unit"))]
    origin: Origin
    measurement_id: NonBlankStr
    name: NonBlankStr


class Measurement(_Schema):
    """A formulation at a temperature: pending (requested, no data yet) or done (with ``fom_data``).

    ``kind`` says what sort of measurement is wanted or was made; a finished measurement's data
    must come from that kind of source.
    """

    formulation: Formulation
    temperature: Temperature
    pending: bool
    kind: Origin
    fom_data: FomData | None = Field(default=None, validate_default=True)

    @field_validator("fom_data")
    @classmethod
    def _data_matches_state(cls, value: FomData | None, info: ValidationInfo) -> FomData | None:
        """Pending means no data yet; done means data, of the kind that was asked for."""
        pending = info.data.get("pending")
        if pending is True and value is not None:
            raise ValueError("a pending measurement must not carry fom_data")
        if pending is False and value is None:
            raise ValueError("a measurement that is not pending needs fom_data")
        kind = info.data.get("kind")
        if value is not None and kind is not None and value.origin != kind:
            raise ValueError(
                f"fom_data origin {value.origin.origin!r} does not match measurement kind {kind.origin!r}"
            )
        return value
