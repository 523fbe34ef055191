"""Conductivity models a lab can trust: every surrogate scored on the data, the best one calibrated.

A model over (r, c, T) is chosen by leave-formulation-out cross-validation (see
:mod:`.learning.scoring`): each candidate is every surrogate of the package, with and without the
Landesfeind (2019) law as prior mean. The chosen one (lowest cross-validated RMSE) is fitted on
all data, its std recalibrated per temperature, and the noise of a future measurement added:

- replicate noise: the pooled relative scatter of the data's replicates (3.9 % on the FZJ file);
- between-batch noise: :data:`DEFAULT_BATCH_NOISE`, relative, configurable (see its comment).

Rows are the formulation means at each temperature (replicates averaged, their count kept), the
same rows a campaign's dataset holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datasets import ConductivityData
from .learning import Component, Strategy
from .learning.calibration import MeasurementNoise, replicate_scatter
from .learning.scoring import CalibratedModel, ModelScore, score_model
from .learning.strategy import GP_MAP, LANDESFEIND

__all__ = ["CANDIDATES", "DEFAULT_BATCH_NOISE", "NAMES", "TrainingData", "calibrated_model",
           "choose", "score_candidates"]

#: Model inputs, in column order.
NAMES = ("r", "c", "T")

#: Relative std between measurement batches, days or rigs. Replicates of one FZJ batch scatter by
#: 3.6-4.5 % (pooled 3.9 %); a batch made on another day or measured on another rig adds a term
#: we take to be of the same order, 3 %. An upper bound from the literature: BIG-MAP's one-shot
#: study (D10.1) measured its proposals afresh and found its predictions off by 11 % of the value
#: at -30 °C and 16 % at 60 °C, model error included. Set it for your own rigs
#: (``--batch-noise``); 0 describes repeat measurements within one batch.
DEFAULT_BATCH_NOISE = 0.03


def _candidate(surrogate, prior=None):
    return Strategy(surrogate=surrogate, acquisition=Component(name="exploit"), prior=prior)


#: A random forest whose leaves hold at least 3 observations: with single-observation leaves it
#: reproduces its training data more closely (0.16 mS/cm, 0.09 with the prior) than they were
#: measured (replicate noise of the FZJ means: 0.17 mS/cm).
_FOREST = Component(name="rf", params={"min_samples_leaf": 3})

#: Every surrogate of the package, with and without the Landesfeind law (amplitude fitted).
CANDIDATES = {
    "gp": _candidate(Component(name="gp")),
    "gp+landesfeind": _candidate(Component(name="gp"), LANDESFEIND),
    "gp-map": _candidate(GP_MAP),
    "gp-map+landesfeind": _candidate(GP_MAP, LANDESFEIND),
    "rf": _candidate(_FOREST),
    "rf+landesfeind": _candidate(_FOREST, LANDESFEIND),
    "poly": _candidate(Component(name="poly")),
    "poly+landesfeind": _candidate(Component(name="poly"), LANDESFEIND),
}


@dataclass(frozen=True)
class TrainingData:
    """Formulation means per temperature: inputs X (r, c, T), values y, replicate counts, the
    formulation of each row (for grouped folds), and the measurement noise of the data."""

    X: np.ndarray
    y: np.ndarray
    n_replicates: np.ndarray
    formulation: np.ndarray
    noise: MeasurementNoise

    @classmethod
    def from_data(cls, data: ConductivityData, batch_noise=DEFAULT_BATCH_NOISE) -> TrainingData:
        rows, counts, groups = [], [], []
        for T in data.temperatures():
            X, groups_T = data.replicates(T)
            for (r, c), values in zip(X, groups_T):
                rows.append((r, c, T, values.mean()))
                counts.append(len(values))
                groups.append(values)
        table = np.array(rows, dtype=float)
        _, formulation = np.unique(table[:, :2], axis=0, return_inverse=True)
        noise = MeasurementNoise(replicate_scatter(groups), batch_noise)
        return cls(table[:, :3], table[:, 3], np.array(counts), formulation.ravel(), noise)

    @property
    def bounds(self) -> np.ndarray:
        return np.column_stack([self.X.min(axis=0), self.X.max(axis=0)])

    def build(self, name, seed=0):
        """A fresh, unfitted model of the candidate ``name`` for these inputs."""
        if name not in CANDIDATES:
            raise ValueError(f"unknown model {name!r}; choose from {sorted(CANDIDATES)}")
        return CANDIDATES[name].build_model(self.bounds, seed, list(NAMES))


def score_candidates(training: TrainingData, names=None, n_folds=10, seed=0, progress=None):
    """The :class:`ModelScore` of each named candidate (all by default), in the order given."""
    scores = []
    for name in names or CANDIDATES:
        scores.append(score_model(name, lambda name=name: training.build(name, seed), training.X,
                                  training.y, training.formulation, training.X[:, 2],
                                  training.noise, training.n_replicates, n_folds, seed))
        if progress is not None:
            progress(scores[-1])
    return scores


def choose(scores) -> ModelScore:
    """The candidate with the lowest cross-validated RMSE."""
    return min(scores, key=lambda score: score.rmse)


def calibrated_model(training: TrainingData, score: ModelScore, seed=0) -> CalibratedModel:
    """The scored candidate fitted on all the data, with its calibration and the data's noise."""
    noise_std = training.noise.std(training.y, training.n_replicates, batch=False)
    model = training.build(score.name, seed).fit(training.X, training.y, noise_std=noise_std)
    return CalibratedModel(model, score.calibration, training.noise, condition_column=2)
