"""SearchSpace: definitions, serialisation, grids, seeded sampling, pools, unit-cube mapping."""

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from aiida_bigmap_al.space import Condition, SearchSpace, Simplex, Variable, fzj_space


@pytest.fixture
def mixture():
    """Three solvent fractions a+b+c = 1 with bounds that cut the simplex, plus a free temperature."""
    return SearchSpace(
        variables=[
            Variable(name="a", low=0.1, high=0.6),
            Variable(name="T", low=250.0, high=300.0, unit="K"),
            Variable(name="b", low=0.1, high=0.6),
            Variable(name="c", low=0.0, high=0.5),
        ],
        simplices=[Simplex(name="solvent", variables=["a", "b", "c"], total=1.0)],
        conditions={"pressure": Condition.fixed(1.0, "bar")},
    )


def test_fzj_space():
    space = fzj_space()
    assert space.names == ["r", "c"]
    np.testing.assert_allclose(space.bounds, [[0.0, 1.0], [0.15, 2.2]])
    assert [v.unit for v in space.variables] == ["g/g", "mol/kg"]
    temperatures = space.conditions["temperature"]
    assert temperatures.unit == "K"
    assert temperatures.values == pytest.approx(np.arange(243.15, 333.16, 10.0))
    assert SearchSpace.fzj_electrolyte() == space


def test_fzj_space_with_temperature_variable():
    space = SearchSpace.fzj_electrolyte(temperature_variable=True)
    assert space.names == ["r", "c", "T"]
    np.testing.assert_allclose(space.bounds[2], [243.15, 333.15])
    assert space.conditions == {}
    with pytest.raises(ValueError, match="not both"):
        SearchSpace.fzj_electrolyte(temperatures=[298.15], temperature_variable=True)


def test_dict_round_trip_is_plain_json(mixture):
    data = mixture.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert SearchSpace.from_dict(json.loads(json.dumps(data))) == mixture


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"variables": [{"name": "x", "low": 1.0, "high": 1.0}]}, "variable 'x'"),
        ({"variables": [{"name": "x", "low": 2.0, "high": 1.0}]}, "high"),
        ({"variables": []}, "variables"),
        ({"variables": [{"name": " ", "low": 0, "high": 1}]}, "name"),
        (
            {"variables": [{"name": "x", "low": 0, "high": 1}, {"name": "x", "low": 0, "high": 2}]},
            "repeated: \\['x'\\]",
        ),
        ({"variables": [{"name": "x", "low": 0, "high": float("inf")}]}, "high"),
        ({"variables": [{"name": "x", "low": 0, "high": 1, "units": "K"}]}, "units"),
        (
            {"variables": [{"name": "T", "low": 0, "high": 1}], "conditions": {"T": {"values": [1.0]}}},
            "conditions \\['T'\\] are also variables",
        ),
        ({"variables": [{"name": "x", "low": 0, "high": 1}], "conditions": {"T": {"values": []}}}, "values"),
        ({"variables": [{"name": "x", "low": 0, "high": 1}], "conditions": {"T": {"values": [1, 1]}}}, "unique"),
    ],
)
def test_invalid_variables_and_conditions(data, message):
    with pytest.raises(ValidationError, match=message):
        SearchSpace.from_dict(data)


def _simplex_space(total=1.0, names=("a", "b"), highs=(0.6, 0.6), **simplex):
    variables = [Variable(name=n, low=0.0, high=h) for n, h in zip(("a", "b"), highs)]
    return SearchSpace(
        variables=variables, simplices=[Simplex(name="mix", variables=list(names), total=total, **simplex)]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total": 1.5}, "simplex 'mix': total 1.5 is unreachable"),
        ({"total": 1.2}, "simplex 'mix': total 1.2 is at the edge"),
        ({"names": ("a", "z")}, "unknown variable 'z'"),
        ({"names": ("a",)}, "variables"),
        ({"names": ("a", "a")}, "distinct"),
        ({"total": -1.0}, "total"),
    ],
)
def test_invalid_simplices(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        _simplex_space(**kwargs)


def test_variable_in_two_simplices_is_rejected():
    variables = [Variable(name=n, low=0.0, high=1.0) for n in "abc"]
    with pytest.raises(ValidationError, match="'b' is in simplices 'one' and 'two'"):
        SearchSpace(
            variables=variables,
            simplices=[Simplex(name="one", variables=["a", "b"]), Simplex(name="two", variables=["b", "c"])],
        )


def test_grid_sizes_and_order():
    space = fzj_space()
    grid = space.grid(3)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[:3], [[0.0, 0.15], [0.0, 1.175], [0.0, 2.2]])
    assert space.grid({"r": 11, "c": 5}).shape == (55, 2)
    assert len(np.unique(space.grid({"r": 11, "c": 5}), axis=0)) == 55


def test_simplex_grid_is_lattice_within_bounds(mixture):
    grid = mixture.grid({"T": 2, "solvent": 5})
    # Lattice a,b = 0.1 + 0.8 j/4, c = 0.8 j/4 with j summing to 4; bounds keep j_a, j_b <= 2, j_c <= 2.
    assert grid.shape == (2 * 6, 4)
    assert mixture.contains(grid).all()
    np.testing.assert_allclose(grid[:, [0, 2, 3]].sum(axis=1), 1.0)
    assert set(np.round(grid[:, 1], 9)) == {250.0, 300.0}


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, {"T": 3}])
def test_grid_rejects_bad_counts(mixture, bad):
    with pytest.raises(ValueError, match="points_per_dim"):
        mixture.grid(bad)


@pytest.mark.parametrize("method", ["sobol", "lhs", "halton", "random"])
def test_sample_respects_bounds_and_simplex(mixture, method):
    X = mixture.sample(200, seed=7, method=method)
    assert X.shape == (200, 4)
    assert mixture.contains(X).all()
    low, high = mixture.bounds.T
    assert (X >= low).all() and (X <= high + 1e-12).all()
    np.testing.assert_allclose(X[:, [0, 2, 3]].sum(axis=1), 1.0, atol=1e-12)
    assert mixture.pool(X) is not X  # pool validates and copies


@pytest.mark.parametrize("method", ["sobol", "lhs", "halton", "random"])
def test_sample_is_seeded(method):
    space = fzj_space()
    first = space.sample(50, seed=1, method=method)
    np.testing.assert_array_equal(first, space.sample(50, seed=1, method=method))
    assert not np.allclose(first, space.sample(50, seed=2, method=method))


def test_sample_fills_the_space():
    """Sobol points cover every cell of a coarse 4x4 partition of the (normalised) space."""
    space = fzj_space()
    U = space.normalise(space.sample(64, seed=0))
    cells = {tuple(row) for row in np.floor(U * 4).astype(int)}
    assert len(cells) == 16


def test_sample_covers_the_feasible_simplex(mixture):
    """Rejection keeps the whole feasible region: samples reach near every vertex of the cut simplex."""
    X = mixture.sample(2000, seed=3)
    solvent = X[:, [0, 2, 3]]
    for vertex in ([0.6, 0.4, 0.0], [0.1, 0.4, 0.5], [0.5, 0.1, 0.4]):
        assert np.min(np.abs(solvent - vertex).sum(axis=1)) < 0.05


@pytest.mark.parametrize(
    ("n", "seed", "method"),
    [(0, 1, "sobol"), (-3, 1, "sobol"), (2.0, 1, "sobol"), (5, None, "sobol"), (5, 1, "grid")],
)
def test_sample_rejects_bad_arguments(n, seed, method):
    with pytest.raises(ValueError):
        fzj_space().sample(n, seed=seed, method=method)


def test_pool_accepts_valid_candidates_as_float():
    X = fzj_space().pool([[0, 1], [1, 2.2]])
    assert X.dtype == float and X.shape == (2, 2)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ([[0.5, 1.0], [0.5, 2.5]], "row 1: variable 'c' = 2.5 is outside \\[0.15, 2.2\\] mol/kg"),
        ([[-0.1, 1.0]], "row 0: variable 'r'"),
        ([[0.5, math.nan]], "row 0: variable 'c' = nan is not finite"),
        ([[0.5, 1.0, 300.0]], "shape \\(n, 2\\)"),
        ([0.5, 1.0], "shape \\(n, 2\\)"),
        (np.empty((0, 2)), "empty"),
    ],
)
def test_pool_names_row_and_variable(X, message):
    with pytest.raises(ValueError, match=message):
        fzj_space().pool(X)


def test_pool_names_broken_simplex(mixture):
    X = np.array([[0.3, 260.0, 0.3, 0.4], [0.3, 260.0, 0.3, 0.3]])
    with pytest.raises(ValueError, match="row 1: simplex 'solvent' \\(a \\+ b \\+ c\\) sums to 0.9"):
        mixture.pool(X)
    np.testing.assert_array_equal(mixture.contains(X), [True, False])


def test_contains_mask():
    space = fzj_space()
    X = np.array([[0.0, 0.15], [1.0, 2.2], [1.0 + 1e-6, 1.0], [0.5, np.nan]])
    np.testing.assert_array_equal(space.contains(X), [True, True, False, False])


def test_normalise_round_trip(mixture):
    X = mixture.sample(16, seed=0)
    U = mixture.normalise(X)
    assert (U >= 0).all() and (U <= 1).all()
    np.testing.assert_allclose(mixture.denormalise(U), X)
    np.testing.assert_allclose(mixture.normalise(mixture.bounds.T), [[0, 0, 0, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="U must have shape"):
        mixture.denormalise(np.zeros((2, 3)))


def test_infeasible_sliver_fails_clearly():
    """Bounds that leave almost none of the simplex feasible raise instead of looping forever."""
    space = SearchSpace(
        variables=[Variable(name=n, low=0.0, high=h) for n, h in zip("abcdef", [1e-3] * 5 + [1.0])],
        simplices=[Simplex(name="mix", variables=list("abcdef"), total=1.0 - 1e-3)],
    )
    with pytest.raises(RuntimeError, match="too little"):
        space.sample(10, seed=0)
