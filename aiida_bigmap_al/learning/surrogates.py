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
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.linear_model import Ridge
from sklearn.preprocessing import SplineTransformer

from .kernels import SINGLE_PRECISION_ERROR, OnFeatures, single_precision

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


#: Candidates per float32 block in ``screen_mean``: 256 x 500 values stay in the CPU cache.
_SCREEN_CHUNK = 256


class GaussianProcess(_Standardised, BaseEstimator):
    """Gaussian process with an anisotropic Matérn kernel and a learned noise level.

    The noise term matters for measured data: replicates of one formulation scatter, and a GP
    that interpolates them chases noise. Hyperparameters are fitted by maximum marginal
    likelihood, or, with ``length_scale_prior``, by maximum a posteriori: with the handful of
    points of an early campaign the likelihood alone drives length scales to their bounds (a
    spiky or a flat model), while a log-normal prior keeps them near a plausible scale until the
    data say otherwise.

    :param length_scale_prior: ``(median, sd)`` of a log-normal prior on every length scale
        (median in unit-cube units, sd of its natural log), or one such pair (or None) per
        input feature; None fits by maximum likelihood.
    :param offset_features: input columns that get an additional kernel term of their own (an
        amplitude times a Matérn over these columns only). With temperature as an input, this
        gives every temperature a smooth level of its own while formulation effects are shared.
    :param max_fit_points: hyperparameters are fitted on at most this many observations (a
        seeded subset; the posterior always uses all of them): a handful of hyperparameters is
        well determined by a few hundred points, and the fit cost grows with the cube of n.
    """

    def __init__(self, nu=2.5, length_scale=0.3, length_scale_bounds=(0.05, 5.0),
                 noise=1e-2, noise_bounds=(1e-4, 1e-1), length_scale_prior=None,
                 offset_features=(), max_fit_points=200, n_restarts=0, random_state=0):
        self.nu = nu
        self.length_scale = length_scale
        self.length_scale_bounds = length_scale_bounds
        self.noise = noise
        self.noise_bounds = noise_bounds
        self.length_scale_prior = length_scale_prior
        self.offset_features = offset_features
        self.max_fit_points = max_fit_points
        self.n_restarts = n_restarts
        self.random_state = random_state

    def _kernel(self, n_features):
        length_scale = np.broadcast_to(np.asarray(self.length_scale, float), (n_features,))
        bounds = tuple(self.length_scale_bounds)
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=length_scale.copy(), length_scale_bounds=bounds, nu=self.nu)
        offset = [int(i) for i in self.offset_features]
        if offset:
            if min(offset) < 0 or max(offset) >= n_features:
                raise ValueError(f"offset_features {offset} are not columns of {n_features} features")
            kernel = kernel + ConstantKernel(1.0, (1e-2, 1e2)) * OnFeatures(
                Matern(length_scale=length_scale[offset].copy(), length_scale_bounds=bounds,
                       nu=self.nu), tuple(offset))
        return kernel + WhiteKernel(self.noise, tuple(self.noise_bounds))

    def _feature_priors(self, n_features):
        """One ``(median, sd)`` or None per feature, from ``length_scale_prior``."""
        prior = self.length_scale_prior
        if prior is None:
            return [None] * n_features
        if len(prior) == 2 and all(isinstance(v, (int, float, np.number)) for v in prior):
            return [tuple(prior)] * n_features
        if len(prior) != n_features:
            raise ValueError(f"length_scale_prior has {len(prior)} entries for {n_features} features")
        return [None if p is None else tuple(p) for p in prior]

    def _optimizer(self, kernel, n_features):
        """sklearn's L-BFGS-B on the negative log marginal likelihood, plus the log prior."""
        priors = self._feature_priors(n_features)
        if all(p is None for p in priors):
            return "fmin_l_bfgs_b"
        centre, weight = _log_normal_penalty(kernel, priors, self.offset_features)

        def optimizer(objective, initial_theta, bounds):
            def penalised(theta):
                value, gradient = objective(theta, eval_gradient=True)
                delta = theta - centre
                return value + 0.5 * np.sum(weight * delta**2), gradient + weight * delta

            result = minimize(penalised, initial_theta, jac=True, method="L-BFGS-B", bounds=bounds)
            return result.x, result.fun

        return optimizer

    def fit(self, X, y, noise_std=None):
        """Fit the hyperparameters and the posterior.

        :param noise_std: known noise of each observation (e.g. the replicate scatter of a mean),
            in the unit of ``y``. It is added to the learned white noise, so that the fit cannot
            explain the data more closely than they were measured: without it, hyperparameters
            chosen by likelihood may shrink a length scale until the GP interpolates the noise.
        """
        X, y = _check_xy(X, y)
        target = self._scale_fit(y)
        alpha = 1e-10 if noise_std is None else _known_variance(noise_std, len(y)) / self.y_scale_**2
        kernel = self._kernel(X.shape[1])
        rows = np.arange(len(y))
        if self.max_fit_points is not None and len(y) > self.max_fit_points:
            rows = np.sort(np.random.default_rng(self.random_state).choice(
                len(y), size=self.max_fit_points, replace=False))
        gp = GaussianProcessRegressor(kernel, optimizer=self._optimizer(kernel, X.shape[1]),
                                      alpha=alpha if np.isscalar(alpha) else alpha[rows],
                                      n_restarts_optimizer=self.n_restarts,
                                      random_state=self.random_state)
        with warnings.catch_warnings():
            # With a handful of points the likelihood is flat and hyperparameters sit at their
            # bounds: expected in active learning, and the bounds are chosen for it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(X[rows], target[rows])
        if len(rows) < len(y):
            gp = GaussianProcessRegressor(gp.kernel_, alpha=alpha, optimizer=None).fit(X, target)
        self.gp_ = gp
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self)
        mean, std = self.gp_.predict(_check_xy(X), return_std=True)
        return self._scale_back(mean, std)

    def predict_mean(self, X):
        """The mean alone: an order of magnitude cheaper than the std for many candidates."""
        check_is_fitted(self)
        return self._scale_back(self.gp_.predict(_check_xy(X)), 0.0)[0]

    def screen(self, X):
        """Fast bounds for pre-selecting among many candidates: ``(mean, error, std_bound)``.

        ``|mean - predict_mean(X)| <= error`` and ``predict(X)[1] <= std_bound`` for every row.
        The kernel is evaluated in float32 (:func:`~.kernels.single_precision`) and summed over
        the training points in float64, so the mean's error is at most the float32 error of one
        kernel value times ``sum |alpha|``. The std bound is the posterior std given only the
        most correlated training point: more data never increases a Gaussian's variance.
        Returns None when the kernel has no fast form or is not stationary.
        """
        check_is_fitted(self)
        X = _check_xy(X)
        kernel = self.gp_.kernel_
        fast = single_precision(kernel)
        if fast is None or not kernel.is_stationary():
            return None
        X_train, alpha = self.gp_.X_train_, self.gp_.alpha_.ravel()
        total = float(kernel.diag(X[:1])[0])  # prior variance with noise, the same everywhere
        slack = SINGLE_PRECISION_ERROR * total
        mean, nearest = np.empty(len(X)), np.empty(len(X))
        for start in range(0, len(X), _SCREEN_CHUNK):
            block = slice(start, start + _SCREEN_CHUNK)
            K = fast(X[block], X_train)
            mean[block] = K.astype(float) @ alpha
            nearest[block] = np.abs(K).max(axis=1)
        relative = SINGLE_PRECISION_ERROR + len(alpha) * float(np.finfo(float).eps)
        error = relative * total * float(np.abs(alpha).sum())
        nearest = np.clip(nearest - slack, 0.0, total)
        # conditioning on that one point: its variance in the fit is total + the jitter alpha
        # (the largest jitter of any point, so that the bound holds with per-point known noise too)
        std_bound = np.sqrt(np.maximum(total - nearest**2 / (total + np.max(self.gp_.alpha)), 0.0))
        mean, std_bound = self._scale_back(mean, std_bound)
        return mean, self.y_scale_ * error, std_bound

    @property
    def std_upper_bound(self):
        """The prior standard deviation (signal + offset + noise): no posterior std exceeds it."""
        check_is_fitted(self)
        prior_variance = self.gp_.kernel_.diag(np.zeros((1, self.n_features_in_)))[0]
        return self.y_scale_ * float(np.sqrt(prior_variance))

    @property
    def hyperparameters(self):
        """The fitted kernel as plain numbers, for provenance."""
        check_is_fitted(self)
        return {name: np.asarray(value).tolist()
                for name, value in self.gp_.kernel_.get_params().items()
                if not hasattr(value, "get_params") and not name.endswith("_bounds")}

    def condition(self, X, y):
        """Refit on (X, y) with this fit's kernel and target scaling frozen."""
        check_is_fitted(self)
        X, y = _check_xy(X, y)
        other = clone(self)
        other.y_mean_, other.y_scale_ = self.y_mean_, self.y_scale_
        other.n_features_in_ = self.n_features_in_
        other.gp_ = GaussianProcessRegressor(self.gp_.kernel_, optimizer=None).fit(
            X, (y - self.y_mean_) / self.y_scale_)
        return other


def _known_variance(noise_std, n):
    """Per-observation variances from known noise std (a scalar or one per observation)."""
    noise_std = np.broadcast_to(np.asarray(noise_std, dtype=float), (n,))
    if not np.all(np.isfinite(noise_std)) or np.any(noise_std < 0):
        raise ValueError("noise_std must be finite and non-negative")
    return noise_std**2 + 1e-10


def _log_normal_penalty(kernel, priors, offset_features):
    """Centre and weight, per entry of ``kernel.theta``, of the log-normal length-scale priors.

    ``theta`` holds the logs of the free hyperparameters in the order of
    ``kernel.hyperparameters``; the main Matérn's length scales get the per-feature priors, the
    offset term's length scales those of its features, everything else no prior (weight 0).
    """
    centre, weight = [], []
    offset = [int(i) for i in offset_features]
    for hyperparameter in kernel.hyperparameters:
        if hyperparameter.fixed:
            continue
        n = hyperparameter.n_elements
        if hyperparameter.name.endswith("length_scale"):
            features = offset if "kernel__" in hyperparameter.name else range(len(priors))
            entries = [priors[i] for i in features]
        else:
            entries = [None] * n
        for entry in entries:
            centre.append(0.0 if entry is None else np.log(entry[0]))
            weight.append(0.0 if entry is None else 1.0 / entry[1] ** 2)
    return np.asarray(centre), np.asarray(weight)


class RandomForest(BaseEstimator):
    """Random forest; the spread over its trees serves as the uncertainty.

    Prediction walks each tree's arrays directly and keeps running sums, instead of stacking
    one prediction per tree: for 100,000 candidates that avoids a (trees x candidates) array
    and sklearn's input checks per tree, which took most of the time of a suggestion.
    """

    def __init__(self, n_estimators=100, min_samples_leaf=1, max_features=1.0, random_state=0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X, y, noise_std=None):
        """``noise_std`` is accepted for a common interface and not used: leaves of several
        observations and the average over trees already smooth the noise."""
        X, y = _check_xy(X, y)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, random_state=self.random_state, n_jobs=1,
        ).fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = np.ascontiguousarray(_check_xy(X), dtype=np.float32)  # the trees' own dtype
        total, squares = np.zeros(len(X)), np.zeros(len(X))
        for tree in self.forest_.estimators_:
            value = tree.tree_.predict(X).reshape(-1)
            total += value
            squares += value * value
        mean = total / len(self.forest_.estimators_)
        variance = squares / len(self.forest_.estimators_) - mean**2
        return mean, np.sqrt(np.maximum(variance, 0.0))

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

    def fit(self, X, y, noise_std=None):
        """``noise_std`` is accepted for a common interface and not used: the ridge penalty and
        the ensemble average already smooth the noise."""
        X, y = _check_xy(X, y)
        target = self._scale_fit(y)
        rng = np.random.default_rng(self.random_state)
        size = max(1, int(round(self.subsample * len(y))))
        knots = np.linspace(0, 1, self.n_knots)[:, None].repeat(X.shape[1], axis=1)
        # Fitted on its own knots, not on X: they are fixed, and one observation is data enough.
        self.splines_ = SplineTransformer(n_knots=self.n_knots, degree=self.degree, knots=knots,
                                          extrapolation="linear").fit(knots)
        features = self.splines_.transform(X)
        members = [Ridge(alpha=self.alpha).fit(features[rows], target[rows])
                   for rows in (rng.choice(len(y), size=size, replace=False)
                                for _ in range(self.n_members))]
        # The knots are fixed, so every member shares the spline features: one matrix product
        # predicts all members at once.
        self.coef_ = np.column_stack([member.coef_ for member in members])
        self.intercept_ = np.array([member.intercept_ for member in members])
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self)
        per_member = self.splines_.transform(_check_xy(X)) @ self.coef_ + self.intercept_
        return self._scale_back(per_member.mean(axis=1), per_member.std(axis=1))

    def condition(self, X, y):
        return clone(self).fit(X, y)


#: Surrogates by the names used in configurations (``{"name": "gp", "params": {...}}``).
SURROGATES = {"gp": GaussianProcess, "rf": RandomForest, "poly": PolynomialEnsemble}
