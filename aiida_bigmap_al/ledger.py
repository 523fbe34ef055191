"""The campaign ledger: what a campaign has asked to measure, and whether a new point may be claimed.

Several lanes (one per instrument) share one campaign. Each suggestion of the campaign is an
entry of its ledger with a :class:`Status`; the measurements a campaign started from count as
measured entries. Two rules follow from the ledger alone, so they live here, pure and testable
without a profile:

* the budget: :func:`budget_left` is the budget minus the measured and the pending entries (a
  failed measurement gives its place back; a withdrawn suggestion never took one);
* the claim: a lane may register a new point only if no pending, measured or failed entry lies
  within the :class:`Tolerance` of it, and only while budget is left (:func:`claim`). The failed
  ones count too, because measuring a point that just failed elsewhere costs a lab day as well.

The claim is only atomic when the read of the ledger, this check and the registration happen
under one campaign-wide lock; :mod:`aiida_bigmap_al.workchains.campaign_group` stores the ledger
in AiiDA and holds that lock.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

from .datasets import TEMPERATURE_TOLERANCE
from .space import SearchSpace

__all__ = ["REL_TOLERANCE", "Claim", "Entry", "Status", "Tolerance", "budget_left", "claim", "conflicts",
           "point_of_row", "point_of_suggestion"]

#: Two points are the same when every variable differs by at most this fraction of its span.
#: Candidates (a pool's rows, the seeded Sobol set) coincide exactly when they are the same, so
#: the tolerance only has to absorb rounding on the way through JSON and the database, while
#: staying far below the spacing of distinct candidates (4096 Sobol points in the unit square
#: lie at least 1.4e-3 apart in some coordinate): one part in a million of the span.
REL_TOLERANCE = 1e-6

#: The key of a point's temperature (K); a space's variables keep their own names.
TEMPERATURE = "temperature"


class Status(str, enum.Enum):
    """Where a suggestion of the campaign stands."""

    PENDING = "pending"  # claimed, being measured
    MEASURED = "measured"
    FAILED = "failed"  # its measurement failed; never suggested again
    WITHDRAWN = "withdrawn"  # registered but not measured (no budget left, or the point was taken)


#: Entries that use up the budget.
COUNTED = frozenset({Status.PENDING, Status.MEASURED})
#: Entries a new claim may not come near.
OCCUPIED = frozenset({Status.PENDING, Status.MEASURED, Status.FAILED})


@dataclasses.dataclass(frozen=True)
class Entry:
    """One point of the campaign: its variables and temperature, and its status."""

    point: Mapping[str, float]
    status: Status
    key: str | None = None  # where it is stored, e.g. the suggestion node's UUID


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """The largest difference, per coordinate of a point, at which two points are the same."""

    absolute: Mapping[str, float]

    @classmethod
    def of_space(cls, space: SearchSpace, relative: float = REL_TOLERANCE) -> Tolerance:
        """``relative`` of each variable's span; temperatures match to :data:`TEMPERATURE_TOLERANCE`."""
        if not relative >= 0:
            raise ValueError(f"the relative tolerance must be >= 0, got {relative}")
        spans = {name: float(high - low) for name, (low, high) in zip(space.names, space.bounds)}
        return cls({**{name: relative * span for name, span in spans.items()}, TEMPERATURE: TEMPERATURE_TOLERANCE})

    def same(self, a: Mapping[str, float], b: Mapping[str, float]) -> bool:
        """Whether ``a`` and ``b`` are the same point (every coordinate within its tolerance)."""
        missing = [name for name in self.absolute if name not in a or name not in b]
        if missing:
            raise KeyError(f"points to compare need the coordinates {missing}")
        return all(abs(float(a[name]) - float(b[name])) <= limit for name, limit in self.absolute.items())


def budget_left(budget: int, entries: Iterable[Entry]) -> int:
    """Measurements the campaign may still claim: the budget minus measured and pending entries."""
    return budget - sum(entry.status in COUNTED for entry in entries)


def conflicts(point: Mapping[str, float], entries: Iterable[Entry], tolerance: Tolerance) -> list[Entry]:
    """The pending, measured or failed entries within ``tolerance`` of ``point``."""
    return [entry for entry in entries if entry.status in OCCUPIED and tolerance.same(point, entry.point)]


@dataclasses.dataclass(frozen=True)
class Claim:
    """The answer to a claim: granted, or refused because of ``conflicts`` or an empty budget."""

    granted: bool
    budget_spent: bool = False
    conflicts: tuple[Entry, ...] = ()


def claim(point: Mapping[str, float], entries: Iterable[Entry], budget: int, tolerance: Tolerance) -> Claim:
    """May ``point`` be measured? Only if budget is left and no occupied entry is the same point.

    The caller registers the point (as pending) if and only if the claim is granted, under the
    same lock under which it read ``entries``.
    """
    entries = list(entries)
    if budget_left(budget, entries) < 1:
        return Claim(granted=False, budget_spent=True)
    taken = conflicts(point, entries, tolerance)
    return Claim(granted=not taken, conflicts=tuple(taken))


def point_of_suggestion(document: Mapping) -> dict[str, float]:
    """The point of a suggestion document: its variables and its temperature (K)."""
    return {**{name: float(value) for name, value in document["variables"].items()},
            TEMPERATURE: float(document["temperature"]["value"])}


def point_of_row(row: Mapping, names: Iterable[str]) -> dict[str, float]:
    """The point of a dataset row (a measurement the campaign started from) over these variables."""
    return {**{name: float(row[name]) for name in names}, TEMPERATURE: float(row["temperature"])}
