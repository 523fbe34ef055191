"""OnFeatures: a scikit-learn kernel restricted to some input columns."""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel

from aiida_bigmap_al.learning.kernels import OnFeatures

X = np.array([[0.0, 0.0, 7.0], [5.0, 1.0, -3.0], [2.0, 2.0, 0.0]])


def test_sees_only_its_columns():
    kernel = OnFeatures(RBF(length_scale=1.0), (1,))
    K = kernel(X)
    # column 1 holds 0, 1, 2: RBF(d) = exp(-d^2 / 2)
    assert K[0, 1] == pytest.approx(math.exp(-0.5))
    assert K[0, 2] == pytest.approx(math.exp(-2.0))
    np.testing.assert_allclose(kernel.diag(X), 1.0)
    np.testing.assert_allclose(kernel(X[:1], X[1:]), [[math.exp(-0.5), math.exp(-2.0)]])


def test_hyperparameters_are_the_wrapped_kernels_prefixed():
    kernel = OnFeatures(RBF(length_scale=[1.0, 2.0]), (0, 2))
    assert [h.name for h in kernel.hyperparameters] == ["kernel__length_scale"]
    np.testing.assert_allclose(kernel.theta, np.log([1.0, 2.0]))
    kernel.theta = np.log([3.0, 4.0])
    np.testing.assert_allclose(kernel.kernel.length_scale, [3.0, 4.0])
    np.testing.assert_allclose(kernel.get_params()["kernel__length_scale"], [3.0, 4.0])
    assert clone(kernel) == kernel


def test_gradient_matches_finite_differences():
    kernel = OnFeatures(RBF(length_scale=[0.7, 1.3]), (0, 1))
    K, gradient = kernel(X, eval_gradient=True)
    assert gradient.shape == (3, 3, 2)
    step = 1e-6
    for i in range(2):
        theta = kernel.theta.copy()
        theta[i] += step
        shifted = kernel.clone_with_theta(theta)(X)
        np.testing.assert_allclose((shifted - K) / step, gradient[:, :, i], atol=1e-5)


def test_fits_inside_a_gaussian_process_and_ignores_other_columns():
    rng = np.random.default_rng(0)
    X_train = rng.random((30, 3))
    y = np.sin(4 * X_train[:, 1])  # depends on column 1 only
    kernel = ConstantKernel() * OnFeatures(RBF(0.5), (1,))
    gp = GaussianProcessRegressor(kernel, alpha=1e-6).fit(X_train, y)
    probe = np.array([[0.1, 0.4, 0.9], [0.9, 0.4, 0.1]])  # same column 1, other columns differ
    mean = gp.predict(probe)
    assert mean[0] == pytest.approx(mean[1])
    assert mean[0] == pytest.approx(np.sin(1.6), abs=0.02)


def test_too_few_columns_are_named():
    with pytest.raises(ValueError, match=r"OnFeatures\(2,\) needs 2-d inputs with more than 2"):
        OnFeatures(RBF(), (2,))(np.zeros((3, 2)))


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5, np.inf])
@pytest.mark.parametrize("length_scale", [0.01, 0.3, 100.0])
def test_single_precision_is_within_its_error_bound(nu, length_scale):
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    from aiida_bigmap_al.learning.kernels import SINGLE_PRECISION_ERROR, single_precision

    rng = np.random.default_rng(1)
    kernel = (ConstantKernel(3.0) * Matern([length_scale, 2 * length_scale, length_scale / 2], nu=nu)
              + ConstantKernel(0.5) * OnFeatures(Matern([length_scale], nu=nu), (2,))
              + WhiteKernel(0.01))
    X = rng.random((400, 3))
    Y = np.vstack([rng.random((100, 3)), X[:20] + 1e-4 * rng.standard_normal((20, 3))])
    fast = single_precision(kernel)(X, Y)
    assert fast.dtype == np.float32
    error = np.abs(fast - kernel(X, Y)).max() / kernel.diag(X[:1])[0]
    assert error < SINGLE_PRECISION_ERROR / 2  # measured below 3e-7


def test_single_precision_declines_kernels_it_does_not_know():
    from sklearn.gaussian_process.kernels import DotProduct

    from aiida_bigmap_al.learning.kernels import single_precision

    assert single_precision(ConstantKernel() * DotProduct()) is None
    assert single_precision(RBF() + DotProduct()) is None
