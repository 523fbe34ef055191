"""A surrogate on physical variables: scaling to the unit cube plus an optional prior mean.

Surrogates work in the unit cube and on whatever the prior leaves unexplained; a :class:`Model`
is what a campaign fits and asks, in the units of its search space.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Model"]


class Model:
    """``surrogate`` fitted on ``y - prior(X)`` over ``X`` scaled by ``bounds`` (shape (d, 2))."""

    def __init__(self, surrogate, bounds, prior=None):
        self.surrogate = surrogate
        self.bounds = np.asarray(bounds, dtype=float)
        self.prior = prior

    def _unit(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.bounds):
            raise ValueError(f"expected X of shape (n, {len(self.bounds)}), got {X.shape}")
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        return (X - low) / (high - low)

    def _base(self, X):
        return self.prior(X) if self.prior is not None else 0.0

    def fit(self, X, y, noise_std=None):
        """Fit the prior, then the surrogate on what it leaves; ``noise_std`` (known noise of
        each observation, in the unit of y) reaches the surrogate when given."""
        y = np.asarray(y, dtype=float)
        if self.prior is not None:
            self.prior.fit(X, y)
        extra = {} if noise_std is None else {"noise_std": noise_std}
        self.surrogate.fit(self._unit(X), y - self._base(X), **extra)
        return self

    def predict(self, X):
        mean, std = self.surrogate.predict(self._unit(X))
        return mean + self._base(X), std

    def predict_mean(self, X):
        if hasattr(self.surrogate, "predict_mean"):
            return self.surrogate.predict_mean(self._unit(X)) + self._base(X)
        return self.predict(X)[0]

    def screen(self, X):
        """Fast ``(mean, error, std_bound)`` for many candidates, or None (see the surrogate's)."""
        screened = self.surrogate.screen(self._unit(X)) if hasattr(self.surrogate, "screen") else None
        if screened is None:
            return None
        mean, error, std_bound = screened
        return mean + self._base(X), error, std_bound

    @property
    def std_upper_bound(self):
        return getattr(self.surrogate, "std_upper_bound", None)

    def condition(self, X, y):
        """The same model, surrogate conditioned on (X, y) with frozen hyperparameters and prior."""
        y = np.asarray(y, dtype=float)
        return Model(self.surrogate.condition(self._unit(X), y - self._base(X)), self.bounds,
                     self.prior)
