"""Every registered surrogate and prior follows scikit-learn's estimator rules.

Parameters are stored by ``__init__`` as given (so ``clone`` and ``get_params`` work and a
configuration rebuilds the same estimator), fitted state has a trailing underscore and is made by
``fit`` only, an unfitted estimator refuses to predict, and a fit is deterministic for a seed.
"""

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from aiida_bigmap_al.learning.priors import LawPrior
from aiida_bigmap_al.learning.surrogates import SURROGATES

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(30, 2))
Y = 1.0 + np.sin(3 * X[:, 0]) + X[:, 1] ** 2

#: Every registered estimator, unfitted, and how it is asked for a prediction.
ESTIMATORS = {
    **{f"surrogate {name}": (lambda cls=cls: cls(), lambda est, X: est.predict(X)[0])
       for name, cls in SURROGATES.items()},
    "prior LawPrior": (lambda: LawPrior(np.multiply, (0, 1)), lambda est, X: est(X)),
}


def fitted_state(estimator):
    return sorted(name for name in vars(estimator) if name.endswith("_") and not name.startswith("__"))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_parameters_are_init_arguments_and_clone_keeps_them(name):
    make, _ = ESTIMATORS[name]
    estimator = make()
    init = set(inspect.signature(type(estimator).__init__).parameters) - {"self"}
    assert set(estimator.get_params()) == init
    assert clone(estimator).get_params() == estimator.get_params()


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fitted_state_is_made_by_fit_and_predict_needs_it(name):
    make, predict = ESTIMATORS[name]
    estimator = make()
    assert fitted_state(estimator) == []
    with pytest.raises(NotFittedError):
        predict(estimator, X)
    params = estimator.get_params()
    assert estimator.fit(X, Y) is estimator
    assert fitted_state(estimator)
    assert estimator.get_params() == params  # fit changes no parameter
    assert np.all(np.isfinite(predict(estimator, X)))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_fit_is_deterministic(name):
    make, predict = ESTIMATORS[name]
    first, second = make().fit(X, Y), make().fit(X, Y)
    np.testing.assert_array_equal(predict(first, X[:5]), predict(second, X[:5]))
