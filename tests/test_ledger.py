"""The campaign ledger's rules, without a profile: the budget left and the claim of a point."""

import json

import pytest

from aiida_bigmap_al.ledger import (REL_TOLERANCE, Entry, Status, Tolerance, budget_left, claim, conflicts,
                                    point_of_row, point_of_suggestion)
from aiida_bigmap_al.space import fzj_space

SPACE = fzj_space(temperatures=[298.15])
TOLERANCE = Tolerance.of_space(SPACE)


def point(r, c, temperature=298.15):
    return {"r": r, "c": c, "temperature": temperature}


def entries(*statuses, r=0.1):
    return [Entry(point(r + 0.1 * i, 1.0), Status(status)) for i, status in enumerate(statuses)]


def test_the_budget_left_counts_measured_and_pending_entries_only():
    ledger = entries("measured", "pending", "failed", "withdrawn", "measured")
    assert budget_left(5, ledger) == 2
    assert budget_left(3, ledger) == 0
    assert budget_left(2, ledger) == -1  # overspent: it says by how much
    assert budget_left(4, []) == 4


def test_the_tolerance_is_a_fraction_of_each_variables_span():
    (r_low, r_high), (c_low, c_high) = SPACE.bounds
    assert TOLERANCE.absolute["r"] == pytest.approx(REL_TOLERANCE * (r_high - r_low))
    assert TOLERANCE.absolute["c"] == pytest.approx(REL_TOLERANCE * (c_high - c_low))
    a = point(0.3, 1.2)
    assert TOLERANCE.same(a, point(0.3 + 0.5 * TOLERANCE.absolute["r"], 1.2))
    assert not TOLERANCE.same(a, point(0.3 + 2 * TOLERANCE.absolute["r"], 1.2))
    assert not TOLERANCE.same(a, point(0.3, 1.2 + 2 * TOLERANCE.absolute["c"]))
    assert not TOLERANCE.same(a, point(0.3, 1.2, temperature=308.15))  # another temperature: another point
    with pytest.raises(KeyError, match="temperature"):
        TOLERANCE.same({"r": 0.3, "c": 1.2}, a)
    with pytest.raises(ValueError, match="relative tolerance"):
        Tolerance.of_space(SPACE, relative=-1)


def test_a_point_is_refused_near_a_pending_measured_or_failed_entry_but_not_a_withdrawn_one():
    for status in ("pending", "measured", "failed"):
        ledger = [Entry(point(0.3, 1.2), Status(status), key="other")]
        refused = claim(point(0.3, 1.2), ledger, budget=8, tolerance=TOLERANCE)
        assert not refused.granted and not refused.budget_spent
        assert [entry.key for entry in refused.conflicts] == ["other"]
    withdrawn = [Entry(point(0.3, 1.2), Status.WITHDRAWN)]
    assert claim(point(0.3, 1.2), withdrawn, budget=8, tolerance=TOLERANCE).granted


def test_a_point_is_refused_once_the_budget_is_spent_even_if_it_is_new():
    ledger = entries("measured", "pending", "failed")
    assert claim(point(0.9, 0.5), ledger, budget=3, tolerance=TOLERANCE).granted
    spent = claim(point(0.9, 0.5), ledger, budget=2, tolerance=TOLERANCE)
    assert not spent.granted and spent.budget_spent


def test_conflicts_lists_every_occupied_entry_at_that_point():
    ledger = [Entry(point(0.3, 1.2), Status.MEASURED, "a"), Entry(point(0.3, 1.2), Status.PENDING, "b"),
              Entry(point(0.4, 1.2), Status.PENDING, "c")]
    assert [entry.key for entry in conflicts(point(0.3, 1.2), ledger, TOLERANCE)] == ["a", "b"]


def test_points_of_documents_survive_a_json_round_trip_as_the_same_point():
    suggestion = {"variables": {"r": 0.1 + 0.2, "c": 1 / 3}, "temperature": {"value": 298.15, "unit": "K"}}
    again = json.loads(json.dumps(suggestion))
    assert TOLERANCE.same(point_of_suggestion(suggestion), point_of_suggestion(again))
    row = {"r": 0.3, "c": 1 / 3, "temperature": 298.15, "value": 9.1}
    assert point_of_row(row, ["r", "c"]) == point(0.3, 1 / 3)
