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
from .feature_map import FeatureMap
from .learning import Component, Strategy
from .learning.calibration import MeasurementNoise, replicate_scatter
from .learning.scoring import CalibratedModel, ModelScore, score_model
from .learning.strategy import GP_MAP, LANDESFEIND

__all__ = ["CANDIDATES", "DEFAULT_BATCH_NOISE", "TrainingData", "calibrated_model",
           "candidates", "choose", "score_candidates"]

#: The formulation's variables: PC/(EC+PC) mass ratio and LiPF6 molality (mol/kg).
VARIABLES = ("r", "c")

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
    """Dataset rows as model inputs: X (columns ``names``, scaled by ``bounds``), values y, the
    replicate count of each row, its temperature (the calibration's condition), its formulation
    (for grouped folds), and the measurement noise of the data."""

    X: np.ndarray
    y: np.ndarray
    n_replicates: np.ndarray
    temperature: np.ndarray
    formulation: np.ndarray
    noise: MeasurementNoise
    features: FeatureMap

    @classmethod
    def from_rows(cls, rows, batch_noise=DEFAULT_BATCH_NOISE, features=None, replicate_noise=None):
        """From dataset rows (``r``, ``c``, ``temperature``, ``value``; ``replicates`` and
        ``replicate_std`` where known). ``features`` default to the data's own: r and c over
        their range and, over several temperatures, T; ``replicate_noise`` (relative) to the
        pooled scatter of the rows' replicates."""
        if not rows:
            raise ValueError("no rows: nothing to fit a model on")
        table = np.array([[row["r"], row["c"], row["temperature"], row["value"]] for row in rows])
        if features is None:
            features = FeatureMap(VARIABLES, np.column_stack([table[:, :2].min(axis=0),
                                                              table[:, :2].max(axis=0)]),
                                  tuple(np.unique(table[:, 2])))
        X, y = features.rows_to_arrays(rows)
        counts = np.array([row.get("replicates") or 1 for row in rows])
        if replicate_noise is None:
            replicate_noise = replicate_scatter(y, [row.get("replicate_std") for row in rows], counts)
        _, formulation = np.unique(table[:, :2], axis=0, return_inverse=True)
        return cls(X, y, counts, table[:, 2], formulation.ravel(),
                   MeasurementNoise(replicate_noise, batch_noise), features)

    @classmethod
    def from_data(cls, data: ConductivityData, batch_noise=DEFAULT_BATCH_NOISE) -> TrainingData:
        return cls.from_rows(data.mean_rows(), batch_noise)

    @property
    def names(self) -> list[str]:
        return self.features.names

    def build(self, strategy: Strategy, seed=0):
        """A fresh, unfitted model of ``strategy`` for these inputs."""
        return self.features.build(strategy, seed)

    def row_noise(self):
        """The replicate noise of each row's value (a mean of its replicates)."""
        return self.noise.std(self.y, self.n_replicates, batch=False)


def candidates(names=None) -> dict:
    """The named candidates (all by default); an unknown name is refused with the known ones."""
    unknown = sorted(set(names or ()) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {sorted(CANDIDATES)}")
    return {name: CANDIDATES[name] for name in (names or CANDIDATES)}


def score_candidates(training: TrainingData, strategies: dict, n_folds=10, seed=0, progress=None):
    """The :class:`ModelScore` of each strategy (``{name: Strategy}``), in the order given."""
    scores = []
    for name, strategy in strategies.items():
        scores.append(score_model(name, lambda strategy=strategy: training.build(strategy, seed),
                                  training.X, training.y, training.formulation,
                                  training.temperature, training.noise, training.n_replicates,
                                  n_folds, seed))
        if progress is not None:
            progress(scores[-1])
    return scores


def choose(scores) -> ModelScore:
    """The candidate with the lowest cross-validated RMSE."""
    return min(scores, key=lambda score: score.rmse)


def calibrated_model(training: TrainingData, strategy: Strategy, calibration, seed=0):
    """``strategy``'s model fitted on all the data, with ``calibration`` and the data's noise."""
    model = training.build(strategy, seed).fit(training.X, training.y, noise_std=training.row_noise())
    return CalibratedModel(model, calibration, training.noise)
