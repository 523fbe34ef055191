"""Cross-validation grouped by formulation: how well a model predicts what it has not seen.

A proposal names a *new* formulation, to be measured at every temperature of interest. A fair
test of a model therefore holds a formulation out at all temperatures at once: if its other
temperatures stayed in the training data, the model would only interpolate along temperature, and
its score would say nothing about a new formulation. Folds are made of whole groups (one group
per formulation), assigned at random from a seed.

Pure numpy: the caller says which rows belong together (``groups``) and which column holds the
condition that scores are broken down by (the temperature, for conductivity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CrossValidation", "cross_validate", "group_folds", "coverage"]


def group_folds(groups, n_folds=10, seed=0) -> np.ndarray:
    """The fold (0 .. n_folds-1) of every row: whole groups per fold, groups shuffled by ``seed``.

    Groups are dealt round-robin in a random order, so fold sizes in groups differ by at most one.
    """
    groups = np.asarray(groups)
    unique, inverse = np.unique(groups, return_inverse=True)
    if not 2 <= n_folds <= len(unique):
        raise ValueError(f"n_folds must be between 2 and the number of groups ({len(unique)}), "
                         f"got {n_folds}")
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of_group = np.empty(len(unique), dtype=int)
    fold_of_group[order] = np.arange(len(unique)) % n_folds
    return fold_of_group[inverse.ravel()]


@dataclass(frozen=True)
class CrossValidation:
    """Held-out predictions of every row: ``mean`` and the model's own ``std``, and its ``fold``."""

    y: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    fold: np.ndarray

    @property
    def residual(self) -> np.ndarray:
        return self.y - self.mean


def cross_validate(build, X, y, groups, n_folds=10, seed=0, noise_std=None) -> CrossValidation:
    """Fit ``build()`` (a fresh, unfitted model) on all folds but one and predict that one.

    :param build: callable returning a new model with ``fit(X, y[, noise_std])`` and
        ``predict(X) -> (mean, std)``.
    :param groups: one label per row; rows of one group are always held out together.
    :param noise_std: known noise of each row, passed to ``fit`` for the training rows.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    fold = group_folds(groups, n_folds, seed)
    mean, std = np.empty(len(y)), np.empty(len(y))
    for k in range(n_folds):
        test = fold == k
        extra = {} if noise_std is None else {"noise_std": np.asarray(noise_std, float)[~test]}
        model = build().fit(X[~test], y[~test], **extra)
        mean[test], std[test] = model.predict(X[test])
    return CrossValidation(y, mean, std, fold)


def coverage(residual, std, widths=(1.0, 2.0)) -> dict[float, float]:
    """The fraction of ``|residual| <= width * std``, per width."""
    residual, std = np.abs(np.asarray(residual, float)), np.asarray(std, float)
    return {width: float(np.mean(residual <= width * std)) for width in widths}
