"""What the emulated conductivity cell measures: a model of the FZJ data with replicate noise.

The emulated cell must answer like the FZJ high-throughput rig did, including its scatter, or an
active learner would be tested against a world that is smoother than the lab. So:

* with the FZJ data file, the mean conductivity comes from a model fitted to it once at
  start-up: ``log(k / c)`` as a cubic polynomial in ``(r, c, 1000/T)`` (ridge-regularised,
  scikit-learn). The ``c`` offset makes ``k -> 0`` as the salt goes to zero and keeps the fit
  sane slightly outside the data; it explains about 98 % of the variance of the raw replicates.
* without it, the mean comes from the project's simulator (``simulator.flores2022``, the
  symbolic-regression law fitted to the same data by Flores et al. 2022).

Replicate noise is drawn (seeded) from the relative deviations of the replicates from their
mean in the data set in use (the FZJ file, or the built-in set of :mod:`aiida_bigmap_al.datasets`,
which is generated from the simulator), so its size and its tails are those of real replicates.
"""

from __future__ import annotations

import functools
import logging
import math
import pathlib
import random
from collections.abc import Callable

import numpy as np

__all__ = ["ConductivityModel", "fit_mean_model", "load_model", "replicate_deviations"]

LOGGER = logging.getLogger(__name__)

_DEGREE = 3
_RIDGE_ALPHA = 1e-3


class ConductivityModel:
    """Mean conductivity (mS/cm) of an (r, c, T) point and noisy replicate measurements of it."""

    def __init__(self, mean: Callable[..., np.ndarray], deviations: np.ndarray, source: str):
        if deviations.size == 0:
            raise ValueError("at least one replicate deviation is needed to model noise")
        self._mean = mean
        self.deviations = np.asarray(deviations, dtype=float)
        self.source = source

    def means(self, r, c, temperature) -> np.ndarray:
        """Vectorised model conductivity in mS/cm: 0 without salt, NaN where the model has no value."""
        r, c, temperature = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, c, temperature)))
        values = np.zeros(r.shape)
        salted = c > 0.0
        if salted.any():
            values[salted] = self._mean(r[salted], c[salted], temperature[salted])
        return values

    def mean(self, r: float, c: float, temperature: float) -> float:
        """Model conductivity of one point in mS/cm; NaN where the model has no value (e.g. frozen sample)."""
        return float(self.means(r, c, temperature))

    def sample(self, r: float, c: float, temperature: float, rng: random.Random) -> float:
        """One replicate: the mean times ``1 + d``, ``d`` drawn from the data's replicate deviations."""
        mean = self.mean(r, c, temperature)
        if math.isnan(mean):
            return math.nan
        deviation = self.deviations[rng.randrange(self.deviations.size)]
        return max(mean * (1.0 + deviation), 0.0)


def replicate_deviations(temperature, r, c, conductivity) -> np.ndarray:
    """Relative deviations ``k_i / mean - 1`` of every replicate from its (T, r, c) group mean.

    Groups of one carry no information on scatter and are left out; each deviation is scaled by
    ``sqrt(n / (n - 1))`` so that deviations from a sample mean are not smaller than the noise.
    """
    keys = np.column_stack([temperature, r, c])
    _, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    sums = np.bincount(group, weights=conductivity)
    means = sums[group] / counts[group]
    n = counts[group]
    keep = (n > 1) & (means > 0)
    return (conductivity[keep] / means[keep] - 1.0) * np.sqrt(n[keep] / (n[keep] - 1.0))


def fit_mean_model(temperature, r, c, conductivity) -> Callable[..., np.ndarray]:
    """Fit ``log(k / c) = poly3(r, c, 1000/T)``; returns the vectorised ``mean(r, c, T) -> mS/cm``."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    keep = (conductivity > 0) & (c > 0)
    features = np.column_stack([r[keep], c[keep], 1000.0 / temperature[keep]])
    model = make_pipeline(StandardScaler(), PolynomialFeatures(_DEGREE), Ridge(alpha=_RIDGE_ALPHA))
    model.fit(features, np.log(conductivity[keep] / c[keep]))

    def mean(r_: np.ndarray, c_: np.ndarray, temperature_: np.ndarray) -> np.ndarray:
        return c_ * np.exp(model.predict(np.column_stack([r_, c_, 1000.0 / temperature_])))

    return mean


@functools.lru_cache(maxsize=8)
def load_model(data_path: str | None = None, seed: int = 0) -> ConductivityModel:
    """The cell's model: fitted to the FZJ file at ``data_path`` if it exists, else the simulator.

    Cached, so that several emulated rigs in one process fit the model once.
    """
    from aiida_bigmap_al import datasets, simulator

    data = datasets.load_or_builtin(data_path, seed=seed)
    arrays = (data.temperature, data.r, data.c, data.conductivity)
    deviations = replicate_deviations(*arrays)
    if data_path is not None and pathlib.Path(data_path).is_file():
        LOGGER.info("emulated conductivity cell: model fitted to %s", data.source)
        return ConductivityModel(fit_mean_model(*arrays), deviations, f"fit:{data.source}")
    LOGGER.info("emulated conductivity cell: simulator flores2022 (no data file at %s)", data_path)
    return ConductivityModel(simulator.flores2022, deviations, f"simulator:flores2022 ({data.source})")
