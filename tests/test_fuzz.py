"""Property-based tests of every input edge: a clear error or a correct result, never a crash.

Hypothesis feeds the schemas, the data loader, the campaign files and the learning core with
NaN, infinities, empty, constant and one-point data and duplicate points. Each must answer with
a ``ValueError`` that names the problem (pydantic's ``ValidationError`` is one; the loader's
:class:`~aiida_bigmap_al.datasets.DataFormatError` names the file and line) or with a correct
result, never with an exception from deep inside numpy or scikit-learn. Example counts are kept
small so that the whole module runs in well under a minute.
"""

from __future__ import annotations

import math

import numpy as np
import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiida_bigmap_al.campaign_spec import load_spec
from aiida_bigmap_al.datasets import COLUMNS, ConductivityData, DataFormatError, load_fzj
from aiida_bigmap_al.documents import Dataset, Suggestion
from aiida_bigmap_al.learning import SURROGATES, Model, make_acquisition, propose
from aiida_bigmap_al.learning.acquisition import ACQUISITIONS
from aiida_bigmap_al.schemas import Formulation, Measurement, Temperature

pytestmark = pytest.mark.fuzz

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Any float, the awkward ones included.
ANY_FLOAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                      st.sampled_from([0.0, -0.0, 1e-300, 1e300, math.nan, math.inf, -math.inf]))
#: Plain JSON-like values, nested, with every awkward float.
JSON = st.recursive(st.none() | st.booleans() | st.integers() | ANY_FLOAT | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def finite_json(value) -> bool:
    """Whether a dumped document holds only finite numbers (what JSON and the database can store)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_json(item) for item in value.values())
    if isinstance(value, list):
        return all(finite_json(item) for item in value)
    return True


def written(path, content):
    """``path`` with ``content`` (text or bytes) in it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# --- schemas and documents ----------------------------------------------------------------------

SCHEMAS = [Formulation, Temperature, Measurement, Suggestion, Dataset]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.__name__)
@FAST
@given(document=st.dictionaries(st.text(max_size=12), JSON, max_size=6) | JSON)
def test_a_schema_validates_anything_or_names_the_field(schema, document):
    try:
        model = schema.model_validate(document)
    except pydantic.ValidationError as error:
        assert error.errors(), "a refusal names at least one field"
        return
    assert finite_json(model.model_dump(mode="json"))


@FAST
@given(value=ANY_FLOAT, unit=st.sampled_from(["K", "°C", "C", "F", ""]))
def test_a_temperature_is_finite_and_above_absolute_zero_or_refused(value, unit):
    try:
        temperature = Temperature(value=value, unit=unit)
    except pydantic.ValidationError:
        return
    assert math.isfinite(temperature.value)


# --- the data loader ----------------------------------------------------------------------------

CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-5, 400).map(str),
                 st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", "-", "x", " 1.5 ", "0"]))
ROW = st.lists(CELL, min_size=3, max_size=6).map("\t".join)
HEADER = "\t" + "\t".join(COLUMNS)


@SLOW
@given(rows=st.lists(ROW, max_size=6), header=st.sampled_from([HEADER, "", "T\tr\tc\tk", HEADER + "\textra"]))
def test_the_loader_reads_a_file_or_names_the_file_and_line(tmp_path, rows, header):
    check_loaded(written(tmp_path / "data.csv", "\n".join([header, *rows]) + "\n"))


@SLOW
@given(blob=st.binary(max_size=200))
def test_the_loader_names_the_file_for_any_bytes(tmp_path, blob):
    check_loaded(written(tmp_path / "data.csv", blob))


def check_loaded(path):
    try:
        data = load_fzj(path)
    except DataFormatError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    for name in ("temperature", "r", "c", "conductivity"):
        assert np.all(np.isfinite(getattr(data, name)))
    for temperature in data.temperatures():
        X, y, n = data.pool(temperature)
        assert len(X) == len(y) == len(n) >= 1 and np.all(n >= 1)


@SLOW
@given(value=st.floats(0.1, 10), n=st.integers(1, 4))
def test_constant_and_one_point_data_give_a_pool(value, n):
    """Replicates of one formulation: one pool row, their mean, their count."""
    data = ConductivityData([298.15] * n, [0.5] * n, [1.0] * n, [value] * n)
    X, y, count = data.pool(298.15)
    assert X.tolist() == [[0.5, 1.0]] and y[0] == pytest.approx(value) and count.tolist() == [n]


# --- campaign files -----------------------------------------------------------------------------

FIELD_VALUES = {
    "temperatures": st.lists(ANY_FLOAT, max_size=3) | JSON,
    "strategy": st.sampled_from(["gp-ucb", "gp-exploit", "nope", ""]) | JSON,
    "objective": st.sampled_from(["per_temperature", "global", "best"]) | JSON,
    "budget": st.integers(-5, 10**12) | ANY_FLOAT | JSON,
    "batch_size": st.integers(-5, 10**6) | JSON,
    "n_initial": st.integers(-5, 10) | JSON,
    "n_candidates": st.integers(-5, 10**12) | st.just("1e11") | JSON,
    "seed": JSON,
    "stop_at": ANY_FLOAT | JSON,
    "initial_data": st.text(max_size=8) | JSON,
    "methods": st.fixed_dictionaries({}, optional={
        "simulation": st.fixed_dictionaries({"code": st.text(max_size=8)},
                                            optional={"model": st.sampled_from(["flores2022", "nope"]) | JSON}),
        "policy": st.sampled_from(["round_robin", "first", "random"]),
    }) | JSON,
}


@SLOW
@given(document=st.fixed_dictionaries({}, optional=FIELD_VALUES))
def test_a_campaign_file_loads_or_says_what_is_wrong_in_one_line(tmp_path, document):
    check_campaign_file(written(tmp_path / "campaign.yaml", yaml.safe_dump(document)))


@SLOW
@given(text=st.text(max_size=80))
def test_any_text_as_a_campaign_file(tmp_path, text):
    check_campaign_file(written(tmp_path / "campaign.yaml", text))


def check_campaign_file(path):
    try:
        spec = load_spec(path)
    except ValueError as error:
        message = str(error)
        assert message.startswith(str(path)) and message.count(str(path)) == 1 and "\n" not in message, message
        return
    assert all(math.isfinite(T) and T > 0 for T in spec.temperatures)
    assert 1 <= spec.budget and 1 <= spec.n_candidates and 1 <= spec.batch_size


# --- the learning core --------------------------------------------------------------------------

#: Training data with every edge: empty, one point, constant values, duplicate points, NaN, inf.
SMALL = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def training_data(draw, edgy=True):
    n = draw(st.integers(0 if edgy else 1, 6))
    points = st.lists(st.floats(0, 1) | (st.sampled_from([math.nan, math.inf, -math.inf]) if edgy else st.nothing()),
                      min_size=2, max_size=2)
    X = draw(st.lists(points, min_size=n, max_size=n))
    if n and draw(st.booleans()):
        X = [X[0]] * n  # all the same point
    value = SMALL | (st.sampled_from([math.nan, math.inf]) if edgy else st.nothing())
    y = draw(st.lists(value, min_size=n, max_size=n))
    if n and draw(st.booleans()):
        y = [y[0]] * n  # constant
    return np.array(X, dtype=float).reshape(n, 2), np.array(y, dtype=float)


def finite_data(X, y) -> bool:
    return len(y) > 0 and bool(np.all(np.isfinite(X)) and np.all(np.isfinite(y)))


@pytest.mark.parametrize("name", sorted(SURROGATES))
@SLOW
@given(data=training_data())
@example(data=(np.array([[0.0, 0.0]]), np.array([0.0])))  # found: the spline ensemble needed two points
def test_a_surrogate_fits_and_predicts_or_names_the_problem(name, data):
    X, y = data
    model = Model(SURROGATES[name](random_state=0), bounds=[[0, 1], [0, 1]])
    try:
        model.fit(X, y)
    except ValueError as error:
        assert not finite_data(X, y), f"refused good data: {error}"
        assert any(word in str(error) for word in ("NaN", "infinite", "zero observations")), str(error)
        return
    assert finite_data(X, y)
    mean, std = model.predict(np.array([[0.5, 0.5], *X[:1]]))
    assert mean.shape == std.shape == (2,)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std >= 0)


@pytest.mark.parametrize("name", sorted(ACQUISITIONS))
@FAST
@given(mean=st.lists(SMALL, min_size=1, max_size=5), std=st.floats(0, 1e6), best=SMALL)
def test_an_acquisition_scores_finite_predictions_finitely(name, mean, std, best):
    scores = make_acquisition(name)(np.array(mean), np.full(len(mean), std), best)
    assert scores.shape == (len(mean),) and np.all(np.isfinite(scores))


CANDIDATE = st.lists(st.floats(0, 1) | st.sampled_from([math.nan, math.inf]), min_size=2, max_size=2)


@SLOW
@given(data=training_data(edgy=False), candidates=st.lists(CANDIDATE, max_size=5), k=st.integers(0, 4),
       exclude=st.lists(st.integers(-6, 6), max_size=3), pending=st.lists(CANDIDATE, max_size=2),
       acquisition=st.sampled_from(sorted(ACQUISITIONS)))
@example(data=(np.array([[0.0, 0.0]]), np.array([0.0])), candidates=[], k=0, exclude=[0], pending=[],
         acquisition="ucb")  # found: an excluded row beyond the candidates was numpy's IndexError
def test_propose_returns_k_distinct_available_candidates_or_names_the_problem(
        data, candidates, k, exclude, pending, acquisition):
    X, y = data
    model = Model(SURROGATES["gp"](random_state=0), bounds=[[0, 1], [0, 1]]).fit(X, y)
    candidates = np.array(candidates, dtype=float).reshape(-1, 2)
    pending = np.array(pending, dtype=float).reshape(-1, 2)
    try:
        proposals = propose(model, X, y, candidates, make_acquisition(acquisition), k=k,
                            pending=pending, exclude=exclude)
    except ValueError as error:
        assert str(error)
        bad = (not np.all(np.isfinite(candidates)) or not np.all(np.isfinite(pending))
               or any(not -len(candidates) <= i < len(candidates) or i < 0 for i in exclude)
               or len(set(range(len(candidates))) - set(exclude)) < k)
        assert bad, f"refused a good request: {error}"
        return
    indices = [p.index for p in proposals]
    assert len(indices) == len(set(indices)) == k
    assert not set(indices) & set(exclude)
    assert all(math.isfinite(p.mean) and math.isfinite(p.std) and math.isfinite(p.score) for p in proposals)
