"""Which model to trust: cross-validated scores, and a model whose std means what it says.

:func:`score_model` cross-validates one candidate by groups (see :mod:`.crossval`), fits the
recalibration of its std on the held-out residuals (see :mod:`.calibration`) and reports, per
condition, the error and how often held-out values fall within 1 and 2 standard deviations,
before ("raw": the model's own std) and after ("calibrated": the std of a future measurement,
recalibrated model std and measurement noise). The calibrated coverage is *cross-fitted*: the
scale factors used on one fold come from the residuals of the other folds only, so the reported
coverage is not measured on the data the calibration was fitted on.

:class:`CalibratedModel` is what a user asks: the model fitted on all data, its calibration and
the measurement noise. Pure numpy; no knowledge of what the variables are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from .calibration import Calibration, MeasurementNoise
from .crossval import coverage, cross_validate

__all__ = ["CalibratedModel", "ModelScore", "score_model"]

WIDTHS = (1.0, 2.0)

#: Central probabilities at which the calibration curve (expected vs observed coverage) is read.
LEVELS = tuple(np.round(np.linspace(0.05, 0.95, 19), 2)) + (0.99,)


@dataclass(frozen=True)
class ModelScore:
    """A candidate's cross-validated figures; ``by_condition`` maps each condition to its own."""

    name: str
    rmse: float
    bias: float
    coverage_raw: dict
    coverage: dict
    by_condition: dict
    calibration: Calibration
    training_rmse: float
    noise_rmse: float
    n_folds: int
    seed: int
    curve: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain JSON (condition keys as text, widths as '1' and '2')."""
        return {
            "name": self.name, "rmse": self.rmse, "bias": self.bias,
            "within_1_std": self.coverage[1.0], "within_2_std": self.coverage[2.0],
            "within_1_std_raw": self.coverage_raw[1.0], "within_2_std_raw": self.coverage_raw[2.0],
            "training_rmse": self.training_rmse, "noise_rmse": self.noise_rmse,
            "n_folds": self.n_folds, "seed": self.seed,
            "calibration": self.calibration.as_dict(),
            "by_condition": {f"{c:.2f}": v for c, v in self.by_condition.items()},
            "calibration_curve": self.curve,
        }


def score_model(name, build, X, y, groups, condition, noise: MeasurementNoise, n_replicates=1,
                n_folds=10, seed=0) -> ModelScore:
    """Cross-validate ``build()`` by ``groups`` and score it per ``condition`` (one value per row).

    ``n_replicates`` per row: a row that is the mean of n replicates has replicate noise
    ``noise.replicate / sqrt(n)``, which is given to the fit as known noise and counted in the
    spread expected of its held-out value.
    """
    X, y, condition = np.asarray(X, float), np.asarray(y, float), np.asarray(condition, float)
    row_noise = noise.std(y, n_replicates, batch=False)
    cv = cross_validate(build, X, y, groups, n_folds, seed, noise_std=row_noise)
    observed_noise = noise.std(cv.mean, n_replicates, batch=False)
    future_std = _cross_fitted_std(cv, observed_noise, condition, noise, n_replicates)
    by_condition = {}
    for c in np.unique(condition):
        rows = condition == c
        by_condition[float(c)] = {
            "rmse": _rmse(cv.residual[rows]), "bias": float(cv.residual[rows].mean()),
            **_named(coverage(cv.residual[rows], future_std[rows], WIDTHS), ""),
            **_named(coverage(cv.residual[rows], cv.std[rows], WIDTHS), "_raw"),
        }
    fitted = build().fit(X, y, noise_std=row_noise)
    return ModelScore(
        name=name, rmse=_rmse(cv.residual), bias=float(cv.residual.mean()),
        coverage_raw=coverage(cv.residual, cv.std, WIDTHS),
        coverage=coverage(cv.residual, future_std, WIDTHS), by_condition=by_condition,
        calibration=Calibration.fit(cv.residual, cv.std, observed_noise, condition),
        training_rmse=_rmse(fitted.predict(X)[0] - y), noise_rmse=_rmse(row_noise),
        n_folds=n_folds, seed=seed, curve={
            "expected": list(LEVELS), "observed": _curve(cv.residual, future_std),
            "observed_raw": _curve(cv.residual, cv.std)})


def _cross_fitted_std(cv, observed_noise, condition, noise, n_replicates):
    """Per fold, the std of a held-out value: calibration fitted on the *other* folds, plus the
    value's own noise with the between-batch term."""
    future = np.empty(len(cv.y))
    value_noise = noise.std(cv.mean, n_replicates, batch=True)
    for k in np.unique(cv.fold):
        test = cv.fold == k
        calibration = Calibration.fit(cv.residual[~test], cv.std[~test], observed_noise[~test],
                                      condition[~test])
        model_std = calibration.std(cv.std[test], condition[test])
        future[test] = np.hypot(model_std, value_noise[test])
    return future


def _curve(residual, std):
    """Observed coverage of the central intervals of probability ``LEVELS`` (Gaussian widths)."""
    widths = ndtri(0.5 + np.asarray(LEVELS) / 2)
    return list(coverage(residual, std, widths).values())


def _named(fractions, suffix):
    return {f"within_{width:g}_std{suffix}": value for width, value in fractions.items()}


def _rmse(residual):
    return float(np.sqrt(np.mean(np.square(residual))))


class CalibratedModel:
    """A fitted model whose ``predict`` gives the std of a *future measurement*."""

    def __init__(self, model, calibration: Calibration, noise: MeasurementNoise):
        self.model = model
        self.calibration = calibration
        self.noise = noise

    def predict(self, X, condition):
        """``(mean, std)`` at ``X`` under ``condition`` (one per row, e.g. the temperature): std =
        recalibrated model std (+) one measurement's replicate and between-batch noise."""
        mean, model_std = self.model.predict(X)
        model_std = self.calibration.std(model_std, condition)
        return mean, np.hypot(model_std, self.noise.std(mean, 1, batch=True))
