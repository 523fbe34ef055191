"""Honest error bars: recalibrate a model's std, and add the scatter of the measurement itself.

A surrogate's standard deviation describes its uncertainty about the *function*; a lab needs the
spread of the *next measurement*. Two corrections turn one into the other:

- :class:`Calibration` scales the model's std per condition (temperature) so that held-out
  residuals of cross-validation are as large as the std says. A stationary GP's std does not grow
  with the conductivity, while its errors do (0.1-0.2 mS/cm at -30 °C, 0.6-0.9 at 60 °C on the
  FZJ data); one scale factor per temperature, interpolated between them, fixes that.
- :class:`MeasurementNoise` adds what the model cannot know: the replicate scatter of one
  measurement, and the scatter between measurement batches, days or rigs. Both are relative to
  the value, as replicates of conductivity scatter by a roughly constant percentage.

The scale factor at a condition solves ``mean(r**2 / (s**2 * std**2 + noise**2)) = 1`` over its
held-out residuals ``r``: the model's share of the error is what the noise of the held-out
values does not explain. Pure numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["Calibration", "MeasurementNoise", "replicate_scatter"]

#: Range of the scale factors: a model that is right to 1 % or wrong by 100x is off in its setup.
SCALE_RANGE = (1e-2, 1e2)


@dataclass(frozen=True)
class MeasurementNoise:
    """Relative standard deviations of a measurement: ``replicate`` within a batch (one
    measurement; a mean of n replicates has ``replicate / sqrt(n)``), ``between_batch`` between
    batches, days or rigs (it does not average out over replicates of one batch)."""

    replicate: float
    between_batch: float = 0.0

    def __post_init__(self):
        for name in ("replicate", "between_batch"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0.0 <= value < 1.0):
                raise ValueError(f"{name} noise must be a relative standard deviation in [0, 1), "
                                 f"got {value}")

    def std(self, value, n_replicates=1, batch=True):
        """The std of a measured value around ``value`` (abs, same unit), for a mean of
        ``n_replicates``; ``batch=False`` leaves out the between-batch term (data of one batch)."""
        relative = self.replicate**2 / np.asarray(n_replicates, dtype=float)
        if batch:
            relative = relative + self.between_batch**2
        return np.abs(np.asarray(value, dtype=float)) * np.sqrt(relative)


def replicate_scatter(mean, std, count) -> float:
    """The pooled relative standard deviation of replicates, from each group's ``mean``, sample
    ``std`` and ``count``: sqrt(sum((n - 1) (std / mean)**2) / sum(n - 1)). Groups of one
    replicate (their std may be None or NaN) carry nothing."""
    count = np.asarray(count, dtype=float)
    std = np.array([np.nan if s is None else s for s in std], dtype=float)
    used = (count > 1) & np.isfinite(std) & (np.asarray(mean, dtype=float) != 0)
    if not used.any():
        raise ValueError("no formulation has two or more replicates: the replicate noise is "
                         "unknown; give it explicitly")
    relative = std[used] / np.asarray(mean, dtype=float)[used]
    return float(np.sqrt(np.sum((count[used] - 1) * relative**2) / np.sum(count[used] - 1)))


@dataclass(frozen=True)
class Calibration:
    """Scale factors of a model's std at sorted ``conditions`` (linear in between, constant
    beyond the ends)."""

    conditions: tuple[float, ...]
    scales: tuple[float, ...]

    @classmethod
    def fit(cls, residual, std, noise_std, condition) -> Calibration:
        """One scale factor per distinct ``condition`` from held-out residuals, the model's std
        and the std of the held-out values' own noise."""
        residual, std, noise_std, condition = (np.asarray(a, dtype=float).ravel()
                                               for a in (residual, std, noise_std, condition))
        conditions = np.unique(condition)
        scales = [_scale(residual[condition == c], std[condition == c], noise_std[condition == c])
                  for c in conditions]
        return cls(tuple(float(c) for c in conditions), tuple(scales))

    def scale(self, condition) -> np.ndarray:
        return np.interp(np.asarray(condition, dtype=float), self.conditions, self.scales)

    def std(self, model_std, condition) -> np.ndarray:
        """The recalibrated model std at ``condition``."""
        return self.scale(condition) * np.asarray(model_std, dtype=float)

    def as_dict(self) -> dict:
        return {"conditions": list(self.conditions), "scales": list(self.scales)}


def _scale(residual, std, noise_std):
    """The s that makes the mean squared z-score of the residuals one (clipped to SCALE_RANGE)."""
    std = np.maximum(std, 1e-12)

    def excess(log_s):
        return float(np.mean(residual**2 / (np.exp(2 * log_s) * std**2 + noise_std**2))) - 1.0

    low, high = np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1])
    if excess(low) <= 0:   # the noise alone explains the residuals
        return SCALE_RANGE[0]
    if excess(high) >= 0:
        return SCALE_RANGE[1]
    return float(np.exp(brentq(excess, low, high, xtol=1e-6)))
