"""Surrogate models: scikit-learn style estimators that predict a mean *and* a standard deviation.

Every surrogate has ``fit(X, y) -> self`` and ``predict(X) -> (mean, std)``. Inputs are expected in
the unit cube (``SearchSpace.normalise`` or :class:`~aiida_bigmap_al.learning.model.Model` does
that), so that length scales and polynomial degrees mean the same thing in every search space.
All randomness comes from ``random_state``: the same data and seed give the same predictions.

``condition(X, y)`` returns a copy fitted on more data *with the hyperparameters frozen*; batch
proposals use it to "believe" the predicted value at pending points (kriging believer) without
re-optimising the model for every fantasy.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

__all__ = ["GaussianProcess", "RandomForest", "PolynomialEnsemble", "SURROGATES"]


def _check_xy(X, y=None):
    """Return float arrays of shape (n, d) and (n,), or raise naming what is wrong."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (n_samples, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if y is None:
        return X
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} values")
    if len(y) == 0:
        raise ValueError("cannot fit a surrogate on zero observations")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    return X, y


class _Standardised:
    """Scale the target to zero mean and unit spread, robust to one or two observations."""

    def _scale_fit(self, y):
        self.y_mean_ = float(np.mean(y))
        spread = float(np.std(y)) if len(y) > 1 else 0.0
        self.y_scale_ = spread if spread > 1e-12 else max(abs(self.y_mean_) * 0.1, 1e-6)
        return (y - self.y_mean_) / self.y_scale_

    def _scale_back(self, mean, std):
        return self.y_mean_ + self.y_scale_ * mean, self.y_scale_ * std


class GaussianProcess(_Standardised, BaseEstimator):
    """Gaussian process with an anisotropic Matérn kernel and a learned noise level.

    The noise term matters for measured data: replicates of one formulation scatter, and a GP
    that interpolates them chases noise. Hyperparameters are fitted by maximum marginal
    likelihood, starting from the previous fit when ``warm_start`` is used by a campaign.
    """

    def __init__(self, nu=2.5, length_scale=0.3, length_scale_bounds=(0.05, 5.0),
                 noise=1e-2, noise_bounds=(1e-4, 1e-1), n_restarts=0, random_state=0):
        self.nu = nu
        self.length_scale = length_scale
        self.length_scale_bounds = length_scale_bounds
        self.noise = noise
        self.noise_bounds = noise_bounds
        self.n_restarts = n_restarts
        self.random_state = random_state

    def _kernel(self, n_features):
        length_scale = np.broadcast_to(np.asarray(self.length_scale, float), (n_features,))
        return ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=length_scale.copy(), length_scale_bounds=tuple(self.length_scale_bounds),
            nu=self.nu,
        ) + WhiteKernel(self.noise, tuple(self.noise_bounds))

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        gp = GaussianProcessRegressor(self._kernel(X.shape[1]), n_restarts_optimizer=self.n_restarts,
                                      random_state=self.random_state)
        with warnings.catch_warnings():
            # With a handful of points the likelihood is flat and hyperparameters sit at their
            # bounds: expected in active learning, and the bounds are chosen for it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp_ = gp.fit(X, self._scale_fit(y))
        return self

    def predict(self, X):
        mean, std = self.gp_.predict(_check_xy(X), return_std=True)
        return self._scale_back(mean, std)

    def predict_mean(self, X):
        """The mean alone: an order of magnitude cheaper than the std for many candidates."""
        return self._scale_back(self.gp_.predict(_check_xy(X)), 0.0)[0]

    @property
    def std_upper_bound(self):
        """The prior standard deviation (signal + noise): no posterior std can exceed it."""
        params = self.gp_.kernel_.get_params()
        return self.y_scale_ * float(np.sqrt(params["k1__k1__constant_value"]
                                             + params["k2__noise_level"]))

    @property
    def hyperparameters(self):
        """The fitted kernel as plain numbers, for provenance."""
        return {name: np.asarray(value).tolist()
                for name, value in self.gp_.kernel_.get_params().items()
                if not hasattr(value, "get_params") and not name.endswith("_bounds")}

    def condition(self, X, y):
        """Refit on (X, y) with this fit's kernel and target scaling frozen."""
        X, y = _check_xy(X, y)
        other = clone(self)
        other.y_mean_, other.y_scale_ = self.y_mean_, self.y_scale_
        other.gp_ = GaussianProcessRegressor(self.gp_.kernel_, optimizer=None).fit(
            X, (y - self.y_mean_) / self.y_scale_)
        return other


class RandomForest(BaseEstimator):
    """Random forest; the spread over its trees serves as the uncertainty."""

    def __init__(self, n_estimators=200, min_samples_leaf=1, max_features=1.0, random_state=0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, random_state=self.random_state, n_jobs=1,
        ).fit(X, y)
        return self

    def predict(self, X):
        X = _check_xy(X)
        per_tree = np.stack([tree.predict(X) for tree in self.forest_.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)

    def condition(self, X, y):
        return clone(self).fit(X, y)


class PolynomialEnsemble(_Standardised, BaseEstimator):
    """Ensemble of strongly regularised piecewise-polynomial (spline) ridge regressions.

    This is the small-data surrogate of the BIG-MAP demonstrator: many smooth fits, each on a
    random subset of the observations; their spread is the uncertainty. Strong ridge
    regularisation keeps each member close to flat where there are no data.
    """

    def __init__(self, n_members=32, degree=3, n_knots=4, alpha=1.0, subsample=0.7,
                 random_state=0):
        self.n_members = n_members
        self.degree = degree
        self.n_knots = n_knots
        self.alpha = alpha
        self.subsample = subsample
        self.random_state = random_state

    def fit(self, X, y):
        X, y = _check_xy(X, y)
        target = self._scale_fit(y)
        rng = np.random.default_rng(self.random_state)
        size = max(1, int(round(self.subsample * len(y))))
        self.members_ = []
        for _ in range(self.n_members):
            rows = rng.choice(len(y), size=size, replace=False)
            member = make_pipeline(
                SplineTransformer(n_knots=self.n_knots, degree=self.degree,
                                  knots=np.linspace(0, 1, self.n_knots)[:, None]
                                  .repeat(X.shape[1], axis=1), extrapolation="linear"),
                Ridge(alpha=self.alpha),
            )
            self.members_.append(member.fit(X[rows], target[rows]))
        return self

    def predict(self, X):
        X = _check_xy(X)
        per_member = np.stack([member.predict(X) for member in self.members_])
        return self._scale_back(per_member.mean(axis=0), per_member.std(axis=0))

    def condition(self, X, y):
        return clone(self).fit(X, y)


#: Surrogates by the names used in configurations (``{"name": "gp", "params": {...}}``).
SURROGATES = {"gp": GaussianProcess, "rf": RandomForest, "poly": PolynomialEnsemble}
