"""Writing the campaign's documents (:mod:`aiida_bigmap_al.documents`) and checking dataset rows.

A *dataset* is ``{"version": n, "variables": ["r", "c"], "unit": "mS/cm", "rows": [...]}`` with
one row per measurement: ``{"r", "c", "temperature", "value", "origin", "measurement"}`` (the last
is the UUID of the measurement node). A *suggestion* is a point and temperature with what the
model said of it. Plain JSON, so every field can be queried with ``QueryBuilder``.
"""

from __future__ import annotations

import numpy as np
import pydantic

from ..datasets import TEMPERATURE_TOLERANCE, ConductivityData
from ..electrolyte import from_formulation, to_formulation
from ..feature_map import FeatureMap
from ..documents import UNIT, Dataset, DatasetRow, Failure, HistoryEntry, Suggestion
from ..schemas import Formulation, Measurement, Origin, Temperature
from ..space import SearchSpace

__all__ = ["check_rows", "dataset_from", "history_entry", "measurement_row", "one_line",
           "suggestion_document"]

def suggestion_document(point: dict, temperature: float, mean=None, std=None, score=None,
                        model_version=None, acquisition=None) -> dict:
    """A :class:`~aiida_bigmap_al.documents.Suggestion` of ``point`` (the variables) at
    ``temperature`` (K), with what the model said of it, as stored."""
    return Suggestion(variables=point, temperature=Temperature(value=temperature, unit="K"),
                      predicted_mean=mean, predicted_std=std, acquisition_score=score,
                      model_version=model_version, acquisition=acquisition).model_dump(mode="json")


def measurement_row(document: dict, uuid: str) -> dict:
    """A :class:`~aiida_bigmap_al.documents.DatasetRow` from a FINALES measurement document
    (validated here, at the edge)."""
    measurement = Measurement.model_validate(document)
    if measurement.fom_data is None:
        raise ValueError(f"measurement {uuid} is pending and has no value")
    r, c = from_formulation(measurement.formulation)
    return DatasetRow(r=r, c=c, temperature=measurement.temperature.kelvin,
                      value=measurement.fom_data.value, origin=measurement.kind.origin,
                      measurement=uuid).model_dump(mode="json")


def history_entry(failed=(), **fields) -> dict:
    """A :class:`~aiida_bigmap_al.documents.HistoryEntry` as stored; ``failed`` are the
    processes whose measurement failed."""
    failures = [Failure(process=p.pk, exit_status=p.exit_status, message=p.exit_message) for p in failed]
    return HistoryEntry(failed=failures, **fields).model_dump(mode="json")


def formulation_point(document: dict) -> tuple[float, float]:
    """``(r, c)`` of a formulation document."""
    return from_formulation(Formulation.model_validate(document))


def dataset_from(data: ConductivityData, origin: str = "experiment", temperatures=None) -> dict:
    """A dataset document (version 0, see :mod:`.records`) of ``data``: one row per formulation
    and temperature, holding the mean of its replicates, their number and their standard
    deviation (see :meth:`~aiida_bigmap_al.datasets.ConductivityData.mean_rows`).

    Replicates are averaged because the surrogate should learn the formulation's conductivity,
    not give a formulation measured eight times eight times the weight of one measured once.
    ``origin`` (``experiment``, ``simulation`` or ``test``) says where the values come from;
    ``temperatures`` (K) keeps only the rows at these, e.g. a campaign's.
    """
    origin = Origin(origin=origin).origin
    unit = data.units.get("conductivity")
    if unit != UNIT:
        raise ValueError(f"conductivity of {data.source!r} is in {unit!r}, expected {UNIT!r}")
    rows = [DatasetRow(**row, origin=origin) for row in data.mean_rows()
            if temperatures is None or _near_any(row["temperature"], temperatures)]
    return Dataset(version=0, variables=["r", "c"], source=data.source, rows=rows).model_dump(mode="json")


def _near_any(temperature, temperatures):
    return any(abs(float(temperature) - float(T)) <= TEMPERATURE_TOLERANCE for T in temperatures)


def check_rows(rows, space: SearchSpace):
    """Every dataset row is a finite number at a temperature of the space.

    With one temperature, T is no model input, so a row at another temperature would be
    silently mixed in; with several, T is scaled to their range.
    """
    features = FeatureMap.of(space)
    _, y = features.rows_to_arrays(rows)
    if not np.isfinite(y).all():
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(f"dataset row {bad} has no finite value")
    Ts = features.temperatures
    low, high = min(Ts) - TEMPERATURE_TOLERANCE, max(Ts) + TEMPERATURE_TOLERANCE
    for i, row in enumerate(rows):
        if not low <= float(row["temperature"]) <= high:
            raise ValueError(f"dataset row {i} is at {row['temperature']} K, outside the space's "
                             f"temperatures [{min(Ts)}, {max(Ts)}] K")


def one_line(error):
    """A configuration error as one line for an exit message: pydantic's errors name the field."""
    if isinstance(error, pydantic.ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    if isinstance(error, KeyError):
        return f"dataset rows need the key {error}"
    return str(error)
