"""The search space of a campaign: bounded continuous variables, fixed conditions, mixture simplices.

A ``SearchSpace`` is what the learner may propose. It is a pydantic model so that a definition is
validated once, where it is written (a YAML spec, a notebook, a workchain input), and so that it
round-trips through a plain JSON dict (``to_dict``/``from_dict``), which is how a workchain stores
it in an AiiDA ``Dict`` node. Candidate sets are numpy arrays of shape (n, d) with columns in
variable order; ``grid``, ``sample`` and ``pool`` make or check them, and ``normalise`` maps them
to the unit cube the learning code works in.

Mixture constraints (``Simplex``) cover compositions whose parts must add up to a total (mass
fractions of solvents, say). They are sampled on the simplex itself, each part shifted by its lower
bound, and points beyond an upper bound are rejected, so every candidate is feasible by
construction rather than repaired afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from scipy.stats import qmc

from .schemas import unique_names

__all__ = ["Condition", "SearchSpace", "Simplex", "Variable", "fzj_space"]

#: Relative tolerance (of a variable's span) for bound checks, so that ``denormalise(normalise(X))``
#: and values printed with full precision stay inside.
BOUND_RTOL = 1e-9

#: Upper limit on the number of candidates ``grid`` and ``sample`` build, to fail fast instead of
#: exhausting memory on a mistyped resolution.
MAX_CANDIDATES = 5_000_000

SamplingMethod = Literal["sobol", "lhs", "halton", "random"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Variable(_Model):
    """A continuous variable with inclusive bounds ``low < high`` and a unit (free text)."""

    name: str = Field(min_length=1)
    low: float
    high: float
    unit: str = ""

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("variable name must not be blank")
        return value

    @field_validator("high")
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        """An empty or inverted interval is a typo, never an intended space."""
        low = info.data.get("low")
        if low is not None and not value > low:
            raise ValueError(f"high ({value}) must be greater than low ({low}) for variable {info.data.get('name')!r}")
        return value

    @property
    def span(self) -> float:
        return self.high - self.low


class Condition(_Model):
    """A fixed experimental condition (e.g. temperature): one value, or several for a multi-condition campaign."""

    values: list[float] = Field(min_length=1)
    unit: str = ""

    @field_validator("values")
    @classmethod
    def _unique(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError(f"condition values must be unique, got {value}")
        return value

    @classmethod
    def fixed(cls, value: float, unit: str = "") -> Condition:
        """A single-valued condition."""
        return cls(values=[value], unit=unit)


class Simplex(_Model):
    """Variables that are parts of a mixture: they must sum to ``total`` (within ``tol``)."""

    name: str = Field(min_length=1)
    variables: list[str] = Field(min_length=2)
    total: float = Field(default=1.0, gt=0.0)
    tol: float = Field(default=1e-6, gt=0.0)

    @field_validator("variables")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"simplex variables must be distinct, got {value}")
        return value


class SearchSpace(_Model):
    """Bounded variables (column order of every candidate array), conditions and mixture simplices."""

    variables: list[Variable] = Field(min_length=1)
    conditions: dict[str, Condition] = Field(default_factory=dict)
    simplices: list[Simplex] = Field(default_factory=list)

    @field_validator("variables")
    @classmethod
    def _unique_names(cls, value: list[Variable]) -> list[Variable]:
        return unique_names(value, "variable")

    @field_validator("conditions")
    @classmethod
    def _conditions_not_variables(cls, value: dict[str, Condition], info: ValidationInfo) -> dict[str, Condition]:
        clash = sorted(set(value) & {variable.name for variable in info.data.get("variables", [])})
        if clash:
            raise ValueError(f"conditions {clash} are also variables; a name is either fixed or varied")
        return value

    @field_validator("simplices")
    @classmethod
    def _simplices_consistent(cls, value: list[Simplex], info: ValidationInfo) -> list[Simplex]:
        """Each simplex names known variables, no variable is in two, and its total is reachable."""
        variables = {variable.name: variable for variable in info.data.get("variables", [])}
        if not variables:
            return value
        names = [simplex.name for simplex in value]
        clash = sorted({name for name in names if names.count(name) > 1 or name in variables})
        if clash:
            raise ValueError(f"simplex names must be unique and differ from variable names; clashing: {clash}")
        used: dict[str, str] = {}
        for simplex in value:
            for name in simplex.variables:
                if name not in variables:
                    raise ValueError(f"simplex {simplex.name!r} names unknown variable {name!r}")
                if name in used:
                    raise ValueError(f"variable {name!r} is in simplices {used[name]!r} and {simplex.name!r}")
                used[name] = simplex.name
            low = math.fsum(variables[name].low for name in simplex.variables)
            high = math.fsum(variables[name].high for name in simplex.variables)
            if not low - simplex.tol <= simplex.total <= high + simplex.tol:
                raise ValueError(
                    f"simplex {simplex.name!r}: total {simplex.total} is unreachable, its variables' "
                    f"bounds allow sums in [{low}, {high}]"
                )
            if not low + simplex.tol < simplex.total < high - simplex.tol:
                raise ValueError(
                    f"simplex {simplex.name!r}: total {simplex.total} is at the edge of the sums its "
                    f"variables' bounds allow, [{low}, {high}], leaving a single point"
                )
        return value

    # ---- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-compatible dict (for an AiiDA ``Dict`` node, YAML or JSON)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        """Inverse of ``to_dict``; validates the definition."""
        return cls.model_validate(dict(data))

    # ---- description ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Variable names in column order."""
        return [variable.name for variable in self.variables]

    @property
    def dim(self) -> int:
        return len(self.variables)

    @property
    def bounds(self) -> np.ndarray:
        """Array (d, 2) of [low, high] per variable, in column order."""
        return np.array([[variable.low, variable.high] for variable in self.variables], dtype=float)

    def index(self, name: str) -> int:
        """Column of variable ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown variable {name!r}; variables are {self.names}") from None

    # ---- unit cube -------------------------------------------------------------------------------

    def normalise(self, X: Any) -> np.ndarray:
        """Map candidates to the unit cube, column by column: (x - low) / (high - low)."""
        X = self._as_matrix(X)
        low, high = self.bounds.T
        return (X - low) / (high - low)

    def denormalise(self, U: Any) -> np.ndarray:
        """Inverse of ``normalise``."""
        U = self._as_matrix(U, what="U")
        low, high = self.bounds.T
        return low + U * (high - low)

    # ---- checking --------------------------------------------------------------------------------

    def contains(self, X: Any) -> np.ndarray:
        """Boolean mask (n,): which rows are finite, inside the bounds and on every simplex."""
        X = self._as_matrix(X)
        with np.errstate(invalid="ignore"):
            return np.isfinite(X).all(axis=1) & self._inside_bounds(X).all(axis=1) & self._on_simplices(X).all(axis=1)

    def pool(self, X: Any) -> np.ndarray:
        """Validate an explicit candidate array and return it as float (n, d).

        Raises ``ValueError`` naming the first offending row and variable (or simplex).
        """
        X = self._as_matrix(X)
        if X.shape[0] == 0:
            raise ValueError("candidate pool is empty")
        self._raise_outside_bounds(X)
        self._raise_off_simplex(X)
        return X

    def _raise_outside_bounds(self, X: np.ndarray) -> None:
        finite = np.isfinite(X)
        with np.errstate(invalid="ignore"):
            bad = np.argwhere(~(finite & self._inside_bounds(X)))
        if len(bad):
            row, col = bad[0]
            var = self.variables[col]
            problem = f"is outside [{var.low}, {var.high}] {var.unit}" if finite[row, col] else "is not finite"
            raise ValueError(f"row {row}: variable {var.name!r} = {X[row, col]} {problem}".rstrip())

    def _raise_off_simplex(self, X: np.ndarray) -> None:
        bad = np.argwhere(~self._on_simplices(X))
        if len(bad):
            row, k = bad[0]
            simplex = self.simplices[k]
            total = X[row, self._columns(simplex)].sum()
            raise ValueError(
                f"row {row}: simplex {simplex.name!r} ({' + '.join(simplex.variables)}) sums to {total:.6g}, "
                f"expected {simplex.total}"
            )

    # ---- generating --------------------------------------------------------------------------------

    def grid(self, points_per_dim: int | Mapping[str, int]) -> np.ndarray:
        """A full factorial grid, (n, d) in variable order.

        ``points_per_dim`` is one count for all, or a mapping from each free variable's name and
        each simplex's name to its count. A free variable gets ``linspace(low, high, count)``; a
        simplex gets the {k, count-1} simplex lattice above its lower bounds, minus the lattice
        points that break an upper bound.
        """
        blocks = [
            (columns, self._block_grid(columns, key, _count(points_per_dim, key)))
            for columns, key in self._blocks()
        ]
        sizes = [len(points) for _, points in blocks]
        if math.prod(sizes) > MAX_CANDIDATES:
            raise ValueError(f"grid of {math.prod(sizes)} points exceeds MAX_CANDIDATES = {MAX_CANDIDATES}")
        picks = np.indices(sizes).reshape(len(sizes), -1)
        X = np.empty((picks.shape[1], self.dim))
        for (columns, points), pick in zip(blocks, picks):
            X[:, columns] = points[pick]
        return X

    def sample(self, n: int, seed: int, method: SamplingMethod = "sobol") -> np.ndarray:
        """``n`` space-filling candidates, (n, d), deterministic for a given ``seed``.

        Draws from a scrambled Sobol or Halton sequence, a Latin hypercube (``scipy.stats.qmc``)
        or plain uniform random numbers in the reduced dimension (free variables plus k-1 per
        simplex of k parts), maps simplex coordinates onto the simplex, and rejects points beyond
        upper bounds, drawing more from the same stream until ``n`` are accepted.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if n > MAX_CANDIDATES:
            raise ValueError(f"n = {n} exceeds MAX_CANDIDATES = {MAX_CANDIDATES}")
        draw = _unit_sampler(self._reduced_dim(), seed, method)
        accepted: list[np.ndarray] = []
        count, drawn = 0, 0
        batch = 2 ** math.ceil(math.log2(max(n, 16)))  # powers of two keep Sobol balanced
        while count < n:
            if drawn >= 64 * n + 4096:
                raise RuntimeError(
                    f"only {count} of {n} samples accepted after {drawn} draws; the bounds leave "
                    "too little of the simplex feasible for rejection sampling"
                )
            X = self._from_unit(draw(batch))
            X = X[self.contains(X)]
            accepted.append(X)
            count += len(X)
            drawn += batch
        return np.concatenate(accepted)[:n]

    # ---- factories ---------------------------------------------------------------------------------

    @classmethod
    def fzj_electrolyte(
        cls,
        temperatures: Sequence[float] | None = None,
        temperature_variable: bool = False,
    ) -> SearchSpace:
        """The FZJ LiPF6 in EC/PC/EMC domain ((EC+PC):EMC = 3:7 by mass, see ``electrolyte``).

        Variables ``r`` = PC/(EC+PC) in [0, 1] g/g and ``c`` = LiPF6 molality in [0.15, 2.2] mol/kg.
        Temperature is a condition with ``temperatures`` (K; default the data's 243.15 to 333.15 K
        in 10 K steps), or with ``temperature_variable=True`` a third variable ``T`` in
        [243.15, 333.15] K for a learner that models temperature as an input.
        """
        variables = [
            Variable(name="r", low=0.0, high=1.0, unit="g/g"),
            Variable(name="c", low=0.15, high=2.2, unit="mol/kg"),
        ]
        if temperature_variable:
            if temperatures is not None:
                raise ValueError("give either temperatures (a condition) or temperature_variable=True, not both")
            return cls(variables=[*variables, Variable(name="T", low=243.15, high=333.15, unit="K")])
        if temperatures is None:
            temperatures = [round(243.15 + 10.0 * step, 2) for step in range(10)]
        return cls(variables=variables, conditions={"temperature": Condition(values=list(temperatures), unit="K")})

    # ---- internals -----------------------------------------------------------------------------------

    def _as_matrix(self, X: Any, what: str = "X") -> np.ndarray:
        X = np.array(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"{what} must have shape (n, {self.dim}) for variables {self.names}, got {X.shape}")
        return X

    def _inside_bounds(self, X: np.ndarray) -> np.ndarray:
        low, high = self.bounds.T
        slack = BOUND_RTOL * (high - low)
        return (X >= low - slack) & (X <= high + slack)

    def _on_simplices(self, X: np.ndarray) -> np.ndarray:
        """Mask (n, number of simplices): does each row's simplex sum hit its total."""
        sums = [X[:, self._columns(simplex)].sum(axis=1) for simplex in self.simplices]
        if not sums:
            return np.ones((len(X), 0), dtype=bool)
        totals = np.array([simplex.total for simplex in self.simplices])
        tols = np.array([simplex.tol for simplex in self.simplices])
        return np.abs(np.stack(sums, axis=1) - totals) <= tols

    def _columns(self, simplex: Simplex) -> list[int]:
        return [self.index(name) for name in simplex.variables]

    def _simplex(self, name: str) -> Simplex:
        return next(simplex for simplex in self.simplices if simplex.name == name)

    def _simplex_room(self, simplex: Simplex) -> float:
        """Total minus the sum of lower bounds: the amount shared out on the simplex."""
        lows = [self.variables[self.index(name)].low for name in simplex.variables]
        return simplex.total - math.fsum(lows)

    def _blocks(self) -> list[tuple[list[int], str]]:
        """Independent blocks: each free variable alone, each simplex as a whole (columns, name)."""
        in_simplex = {name for simplex in self.simplices for name in simplex.variables}
        blocks = [([self.index(name)], name) for name in self.names if name not in in_simplex]
        blocks += [(self._columns(simplex), simplex.name) for simplex in self.simplices]
        return blocks

    def _block_grid(self, columns: list[int], key: str, count: int) -> np.ndarray:
        if len(columns) == 1:
            variable = self.variables[columns[0]]
            return np.linspace(variable.low, variable.high, count)[:, None]
        simplex = self._simplex(key)
        lattice = _simplex_lattice(len(columns), count - 1)
        low, high = self.bounds[columns].T
        points = low + self._simplex_room(simplex) * lattice
        return points[(points <= high + BOUND_RTOL * (high - low)).all(axis=1)]

    def _reduced_dim(self) -> int:
        return sum(len(columns) if len(columns) == 1 else len(columns) - 1 for columns, _ in self._blocks())

    def _from_unit(self, U: np.ndarray) -> np.ndarray:
        """Map points of the reduced unit cube into the space (free variables scaled, simplices filled)."""
        X = np.empty((len(U), self.dim))
        offset = 0
        for columns, key in self._blocks():
            if len(columns) == 1:
                variable = self.variables[columns[0]]
                X[:, columns[0]] = variable.low + U[:, offset] * variable.span
                offset += 1
                continue
            parts = _spacings(U[:, offset : offset + len(columns) - 1])
            X[:, columns] = self.bounds[columns, 0] + self._simplex_room(self._simplex(key)) * parts
            offset += len(columns) - 1
        return X


def _count(points_per_dim: int | Mapping[str, int], key: str) -> int:
    count = points_per_dim.get(key) if isinstance(points_per_dim, Mapping) else points_per_dim
    if count is None:
        raise ValueError(f"points_per_dim has no count for {key!r}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 2:
        raise ValueError(f"points_per_dim for {key!r} must be an integer >= 2, got {count!r}")
    return int(count)


def _simplex_lattice(k: int, divisions: int) -> np.ndarray:
    """All points of the {k, divisions} simplex lattice: k non-negative multiples of 1/divisions summing to 1."""
    bars = np.array(list(combinations_with_replacement(range(divisions + 1), k - 1)), dtype=float)
    return _spacings(bars / divisions)


def _spacings(U: np.ndarray) -> np.ndarray:
    """Map points of [0,1]^(k-1) uniformly onto the unit (k-1)-simplex: gaps between sorted coordinates."""
    ordered = np.sort(U, axis=1)
    n = len(U)
    return np.diff(np.concatenate([np.zeros((n, 1)), ordered, np.ones((n, 1))], axis=1), axis=1)


def _unit_sampler(d: int, seed: int, method: str):
    """A function batch -> (batch, d) array in [0, 1), continuing one seeded stream across calls."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    if method == "random":
        return lambda batch: rng.random((batch, d))
    if method == "sobol":
        return qmc.Sobol(d, scramble=True, rng=rng).random
    if method == "halton":
        return qmc.Halton(d, scramble=True, rng=rng).random
    if method == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random
    raise ValueError(f"unknown sampling method {method!r}; use 'sobol', 'lhs', 'halton' or 'random'")


def fzj_space(temperatures: Sequence[float] | None = None, temperature_variable: bool = False) -> SearchSpace:
    """Shortcut for ``SearchSpace.fzj_electrolyte`` (see there)."""
    return SearchSpace.fzj_electrolyte(temperatures=temperatures, temperature_variable=temperature_variable)
