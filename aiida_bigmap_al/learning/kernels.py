"""Kernel building blocks that scikit-learn lacks: a kernel on some input features, fast screening.

A surrogate over formulation *and* temperature benefits from a term that depends on temperature
alone: every temperature gets its own smooth overall level (a published law rarely gets the
temperature dependence exactly right), while the formulation effects are shared between
neighbouring temperatures. scikit-learn kernels always act on every column, so this module adds
:class:`OnFeatures`, which restricts any kernel to chosen columns. It follows the pattern of
scikit-learn's own wrapping kernels (``Exponentiation``): hyperparameters are the wrapped
kernel's, prefixed ``kernel__``, so the marginal-likelihood optimiser tunes them as usual.

:func:`single_precision` evaluates a fitted kernel between many candidates and the training
points in float32, several times faster than scikit-learn's float64 ``cdist`` path. A suggestion
scores 100,000 candidates against hundreds of points; the fast values only pre-select the
candidates that can still win, which are then scored exactly (see ``batch.propose``).
"""

from __future__ import annotations

import numpy as np
from sklearn.gaussian_process.kernels import (RBF, ConstantKernel, Hyperparameter, Kernel, Matern,
                                              Product, Sum, WhiteKernel)

__all__ = ["OnFeatures", "SINGLE_PRECISION_ERROR", "single_precision"]

#: Bound on |float32 - float64| of one value of :func:`single_precision`, relative to the prior
#: variance: rounding the distance, the polynomial and the exponential each costs a few 1e-8
#: of it (measured below 3e-7 for length scales 0.01 to 100, see the tests), times a margin.
SINGLE_PRECISION_ERROR = 2e-6


class OnFeatures(Kernel):
    """``kernel`` evaluated on the columns ``features`` of the inputs only.

    :param kernel: any scikit-learn kernel, sized for ``len(features)`` inputs.
    :param features: column indices (a tuple of ints) the kernel sees.
    """

    def __init__(self, kernel, features):
        self.kernel = kernel
        self.features = features

    def _select(self, X):
        X = np.asarray(X, dtype=float)
        columns = list(self.features)
        if X.ndim != 2 or (columns and max(columns) >= X.shape[1]):
            raise ValueError(f"OnFeatures{tuple(columns)} needs 2-d inputs with more than "
                             f"{max(columns, default=-1)} columns, got shape {X.shape}")
        return X[:, columns]

    def get_params(self, deep=True):
        params = {"kernel": self.kernel, "features": self.features}
        if deep:
            params.update(("kernel__" + key, value) for key, value in self.kernel.get_params().items())
        return params

    @property
    def hyperparameters(self):
        return [Hyperparameter("kernel__" + h.name, h.value_type, h.bounds, h.n_elements, h.fixed)
                for h in self.kernel.hyperparameters]

    @property
    def theta(self):
        return self.kernel.theta

    @theta.setter
    def theta(self, theta):
        self.kernel.theta = theta

    @property
    def bounds(self):
        return self.kernel.bounds

    def __eq__(self, other):
        return (type(self) is type(other) and self.kernel == other.kernel
                and tuple(self.features) == tuple(other.features))

    def __call__(self, X, Y=None, eval_gradient=False):
        if Y is None:
            return self.kernel(self._select(X), None, eval_gradient=eval_gradient)
        if eval_gradient:
            raise ValueError("gradient can only be evaluated when Y is None")
        return self.kernel(self._select(X), self._select(Y))

    def diag(self, X):
        return self.kernel.diag(self._select(X))

    def is_stationary(self):
        return self.kernel.is_stationary()

    @property
    def requires_vector_input(self):
        return True

    def __repr__(self):
        return f"OnFeatures({self.kernel!r}, features={tuple(self.features)})"


def single_precision(kernel):
    """A float32 function ``(X, Y) -> K`` for the cross-covariance of ``kernel``, or None.

    Covers sums and products of constants, RBF and Matérn (nu 0.5, 1.5, 2.5, inf) kernels,
    :class:`OnFeatures`, and white noise (which adds nothing between distinct points, as in
    scikit-learn). Anything else gives None, and callers fall back to the exact kernel. Inputs
    are float64; each value is within :data:`SINGLE_PRECISION_ERROR` times the kernel's prior
    variance (``diag``) of the float64 one.
    """
    if isinstance(kernel, (Sum, Product)):
        left, right = single_precision(kernel.k1), single_precision(kernel.k2)
        if left is None or right is None:
            return None
        if isinstance(kernel, Sum):
            return lambda X, Y: left(X, Y) + right(X, Y)
        return lambda X, Y: left(X, Y) * right(X, Y)
    if isinstance(kernel, ConstantKernel):
        value = np.float32(kernel.constant_value)
        return lambda X, Y: value
    if isinstance(kernel, WhiteKernel):
        return lambda X, Y: np.float32(0.0)
    if isinstance(kernel, OnFeatures):
        inner, columns = single_precision(kernel.kernel), list(kernel.features)
        return None if inner is None else (lambda X, Y: inner(X[:, columns], Y[:, columns]))
    if isinstance(kernel, (Matern, RBF)):
        nu = kernel.nu if isinstance(kernel, Matern) else np.inf
        if nu not in (0.5, 1.5, 2.5, np.inf):
            return None
        scale = np.asarray(kernel.length_scale, dtype=float)
        return lambda X, Y: _matern(_distances(X / scale, Y / scale), nu)
    return None


def _distances(X, Y):
    """float32 Euclidean distances between the rows of float64 ``X`` and ``Y``.

    Differences are taken in float64 and only then rounded: with short length scales the
    scaled coordinates are large, and float32 coordinates would lose the small differences
    that matter most (nor is |x|^2 + |y|^2 - 2xy used, for the same reason).
    """
    squared = np.zeros((len(X), len(Y)), dtype=np.float32)
    for column in range(X.shape[1]):
        difference = (X[:, column, None] - Y[None, :, column]).astype(np.float32)
        squared += difference * difference
    return np.sqrt(squared, out=squared)


def _matern(d, nu):
    if nu == np.inf:
        return np.exp(-0.5 * d * d)
    if nu == 0.5:
        return np.exp(-d)
    if nu == 1.5:
        d *= np.float32(np.sqrt(3.0))
        return (1 + d) * np.exp(-d)
    d *= np.float32(np.sqrt(5.0))
    return (1 + d + d * d / np.float32(3.0)) * np.exp(-d)
