"""What a campaign over several temperatures improves: the best at each temperature, or the warmest.

With temperature as a model input, the acquisition's "improvement over the best so far" would
compare every candidate with the campaign's best value, which always lies at the warmest
temperature (conductivity grows with it), so the campaign would spend its budget there. A
researcher wants the best formulation *at each* temperature. The *per-temperature* objective
scores each candidate by its improvement over the incumbent at the candidate's own temperature:
:func:`incumbents` gives that incumbent per candidate, and
:func:`~aiida_bigmap_al.learning.batch.propose` scores ``mean - incumbent`` against 0.

At a temperature with no measurement yet nothing has been found, so the incumbent there is the
*floor* of the figure of merit: 0 (a conductivity is never negative), or the lowest value
measured if some value is negative. Every candidate there then counts its whole predicted value
as improvement, far more than the small gains still possible where a good formulation is known,
so a temperature without a measurement gets one early.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GLOBAL", "OBJECTIVES", "PER_TEMPERATURE", "best_per_temperature", "incumbents"]

PER_TEMPERATURE, GLOBAL = "per_temperature", "global"
OBJECTIVES = (PER_TEMPERATURE, GLOBAL)

#: Temperatures (K) closer than this are the same temperature.
_SAME_TEMPERATURE = 1e-6


def incumbents(candidate_temperatures, temperatures, y):
    """The best measured value at each candidate's temperature (the floor where none was measured).

    :param candidate_temperatures: the temperature of every candidate, shape (n,).
    :param temperatures: the temperatures of the measurements, shape (m,).
    :param y: the measured values, shape (m,).
    """
    candidate_temperatures = np.asarray(candidate_temperatures, dtype=float)
    temperatures, y = np.asarray(temperatures, dtype=float), np.asarray(y, dtype=float)
    floor = min(0.0, float(y.min())) if len(y) else 0.0
    result = np.full(len(candidate_temperatures), floor)
    for T in np.unique(candidate_temperatures):
        here = np.abs(temperatures - T) <= _SAME_TEMPERATURE
        if here.any():
            result[np.abs(candidate_temperatures - T) <= _SAME_TEMPERATURE] = y[here].max()
    return result


def best_per_temperature(rows):
    """The best row at each temperature, coldest first; ``rows`` are dicts with ``temperature``
    and ``value`` (dataset rows, see :mod:`aiida_bigmap_al.workchains.records`)."""
    best = {}
    for row in rows:
        key = round(float(row["temperature"]), 6)
        if key not in best or row["value"] > best[key]["value"]:
            best[key] = row
    return [best[key] for key in sorted(best)]
