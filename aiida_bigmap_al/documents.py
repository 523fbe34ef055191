"""The documents a campaign keeps in AiiDA ``Dict`` nodes, as pydantic models.

Writers and readers import the same model, so a field cannot be written under one name and read
under another, and a document is validated where it enters (a node written by an older version,
an archive from another lab). Plain JSON once dumped, so every field stays queryable with
``QueryBuilder``. Like :mod:`.schemas`, no AiiDA import.

- :class:`Suggestion`: a point to measure and what the model said of it. The point's variables
  are the one source; the FINALES formulation is derived from them (and, in documents written
  by earlier versions, checked against them).
- :class:`DatasetRow` and :class:`Dataset`: what was measured, one row per measurement (or per
  formulation and temperature, replicates averaged).
- :class:`HistoryEntry`: what one iteration (or one lane's measurement) suggested and measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from .electrolyte import from_formulation, to_formulation
from .schemas import Formulation, Temperature

__all__ = ["UNIT", "Dataset", "DatasetRow", "Failure", "HistoryEntry", "Suggestion"]

#: The unit of the campaigns' figure of merit, conductivity.
UNIT = "mS/cm"

#: How far (absolute, in r and in mol/kg) a stored formulation may lie from its variables.
_FORMULATION_TOL = 1e-6


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _finite_or_none(value):
    """A model's number, or None where it has none (NaN or infinite: e.g. exploitation's std)."""
    return None if value is None or not np.isfinite(value) else float(value)


class Suggestion(_Document):
    """A point to measure (``variables``, e.g. r and c, at ``temperature``) and the model's view."""

    variables: dict[str, float]
    temperature: Temperature
    predicted_mean: float | None = None
    predicted_std: float | None = None
    acquisition_score: float | None = None
    acquisition: str | None = None
    model_version: int | None = None
    unit: str = UNIT

    @model_validator(mode="before")
    @classmethod
    def _derived_formulation(cls, data: Any) -> Any:
        """Accept a stored ``formulation`` only if it is the one the variables give."""
        if isinstance(data, dict) and "formulation" in data:
            data = dict(data)
            stored = from_formulation(Formulation.model_validate(data.pop("formulation")))
            variables = data.get("variables", {})
            point = (variables.get("r"), variables.get("c"))
            if None in point or not np.allclose(stored, point, atol=_FORMULATION_TOL, rtol=0):
                raise ValueError(f"the stored formulation (r, c) = {stored} is not the point of "
                                 f"the variables {variables}")
        return data

    @field_validator("predicted_mean", "predicted_std", "acquisition_score", mode="before")
    @classmethod
    def _number(cls, value):
        return _finite_or_none(value)

    @computed_field
    @property
    def formulation(self) -> dict:
        """The FINALES formulation of the point (derived: the variables are the one source)."""
        return to_formulation(self.variables["r"], self.variables["c"]).model_dump(mode="json")

    @property
    def kelvin(self) -> float:
        return self.temperature.kelvin


class DatasetRow(_Document):
    """One measured value: the formulation (r, c), the temperature (K) and what was measured."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    r: float
    c: float
    temperature: float = Field(gt=0.0)
    value: float
    origin: str | None = None
    measurement: str | None = Field(None, description="UUID of the measurement node, if any")
    replicates: int | None = Field(None, ge=1)
    replicate_std: float | None = Field(None, ge=0.0)


class Dataset(_Document):
    """Dataset version n: the rows a model of version n is fitted on."""

    version: int = Field(ge=0)
    variables: list[str]
    unit: str = UNIT
    source: str | None = None
    rows: list[DatasetRow]


class Failure(_Document):
    """A measurement that failed: its process and why."""

    process: int
    exit_status: int | None
    message: str | None


class HistoryEntry(_Document):
    """One iteration of a batch campaign, or one measurement of a lane."""

    iteration: int
    model_version: int | None
    suggestions: list[str] = Field(description="UUIDs of the suggestion nodes")
    measured: list[DatasetRow]
    failed: list[Failure] = Field(default_factory=list)
    n_measurements: int
    best_so_far: float | None
    lane: str | None = None
