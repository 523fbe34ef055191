"""What a model sees of a search space: the one map from a campaign's points to the model's inputs.

A campaign's space has variables (r and c for the FZJ electrolyte) and a ``temperature``
condition with one or several values. Over one temperature, the temperature is no model input
(every point has it) and a prior mean reads it as a fixed condition; over several, it is a third
input, ``T``, scaled to their range. Every place that builds model inputs (fitting, suggesting,
replaying, proposing, exporting) asks a :class:`FeatureMap` built once from the space, so that
this rule lives here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .space import SearchSpace

__all__ = ["TEMPERATURE", "T", "FeatureMap"]

#: The name of the space's temperature condition (K), and of the temperature as a model input.
TEMPERATURE, T = "temperature", "T"


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """The model inputs of a space: its ``variables`` and, over several ``temperatures``, ``T``."""

    variables: tuple[str, ...]
    variable_bounds: np.ndarray
    temperatures: tuple[float, ...]

    @classmethod
    def of(cls, space: SearchSpace) -> FeatureMap:
        try:
            temperatures = tuple(float(value) for value in space.conditions[TEMPERATURE].values)
        except KeyError:
            raise ValueError(f"the search space needs a {TEMPERATURE!r} condition (K)") from None
        return cls(tuple(space.names), np.asarray(space.bounds, dtype=float), temperatures)

    @property
    def temperature_is_input(self) -> bool:
        return len(self.temperatures) > 1

    @property
    def names(self) -> list[str]:
        """The model's input columns, in order."""
        return [*self.variables, T] if self.temperature_is_input else list(self.variables)

    @property
    def bounds(self) -> np.ndarray:
        """Each input's range: the variables' bounds, and the temperatures' span for T."""
        if not self.temperature_is_input:
            return self.variable_bounds.copy()
        span = [min(self.temperatures), max(self.temperatures)]
        return np.vstack([self.variable_bounds, span])

    @property
    def conditions(self) -> dict[str, float]:
        """What is fixed for every point, for a prior mean: the temperature when it is no input."""
        return {} if self.temperature_is_input else {TEMPERATURE: self.temperatures[0]}

    def build(self, strategy, seed):
        """A fresh, unfitted model of ``strategy`` (a :class:`~.learning.Strategy`) for these inputs."""
        return strategy.build_model(self.bounds, seed, self.names, self.conditions)

    def inputs(self, points, temperatures) -> np.ndarray:
        """Model inputs of ``points`` (mappings with every variable) at ``temperatures`` (K)."""
        columns = [[float(point[name]) for point in points] for name in self.variables]
        if self.temperature_is_input:
            columns.append([float(value) for value in temperatures])
        return np.array(columns, dtype=float).T.reshape(len(points), len(self.names))

    def rows_to_arrays(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``y`` of dataset rows (mappings with the variables, ``temperature``, ``value``)."""
        rows = [dict(row) for row in rows]
        X = self.inputs(rows, [row[TEMPERATURE] for row in rows])
        return X, np.array([row["value"] for row in rows], dtype=float)

    def temperature_of(self, X) -> np.ndarray:
        """The temperature (K) of each row of model inputs."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if self.temperature_is_input:
            return X[:, self.names.index(T)].copy()
        return np.full(len(X), self.temperatures[0])

    def point(self, x) -> dict[str, float]:
        """The variables of one row of model inputs."""
        return {name: float(x[i]) for i, name in enumerate(self.variables)}

    def at_temperatures(self, sample) -> np.ndarray:
        """Candidates: a sample of the variables at every temperature (the sample itself over one)."""
        sample = np.asarray(sample, dtype=float)
        if not self.temperature_is_input:
            return sample
        return np.vstack([np.column_stack([sample, np.full(len(sample), T_)])
                          for T_ in self.temperatures])
