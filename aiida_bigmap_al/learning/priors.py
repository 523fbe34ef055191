"""Prior means: physical laws that the surrogate only has to correct.

A campaign that starts from one measurement knows almost nothing; a published law may already
know the trend (for conductivity: it rises with temperature and peaks at an intermediate salt
concentration). The prior's amplitude is fitted to the measurements, and optionally the scale of
the law's first argument (with a penalty that keeps it near 1), so that a law made for a
neighbouring system helps without having to be right.

The learning layer knows no law: a law is injected. Packages declare theirs as entry points of
the group ``aiida_bigmap_al.priors`` (:func:`law`), each a mapping ``{"function": f,
"arguments": [...]}`` where every argument lists the names it may be found under, first among the
model's input columns, then among the campaign's fixed conditions. A strategy names the law; the
model's columns are placed on its arguments when the model is built (:func:`placed_prior`).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = ["LawPrior", "law", "law_names", "placed_prior"]

#: The entry-point group where packages declare their laws.
GROUP = "aiida_bigmap_al.priors"

#: Scales of the first argument tried when fitting the prior: 0.6x to 1.6x, log-spaced.
_SCALES = np.exp(np.linspace(np.log(0.6), np.log(1.6), 41))


@cache
def _declared() -> dict:
    return {point.name: point for point in entry_points(group=GROUP)}


def law_names() -> list[str]:
    """The names of the laws installed packages declare."""
    return sorted(_declared())


def law(name: str) -> dict:
    """The declared law ``name``: ``{"function", "arguments"}``."""
    try:
        return _declared()[name].load()
    except KeyError:
        raise ValueError(f"unknown prior {name!r}; choose from {law_names()}") from None


class LawPrior(BaseEstimator):
    """``amplitude * law(*args)`` with ``args`` the ``columns`` of X, then the ``constants``.

    :param law: the law, a function of arrays.
    :param columns: the input columns given to the law, in its argument order.
    :param constants: fixed values given after them (e.g. the campaign's one temperature).
    :param scale_sd: spread of the log-normal penalty on the scale of the first argument; 0 keeps
        the scale at 1 and fits the amplitude only.
    """

    def __init__(self, law, columns, constants=(), scale_sd=0.2):
        if scale_sd < 0:
            raise ValueError(f"scale_sd must be >= 0, got {scale_sd}")
        if not columns:
            raise ValueError("a law prior needs at least one input column")
        self.law = law
        self.columns = columns
        self.constants = constants
        self.scale_sd = scale_sd

    def _law(self, X, scale):
        X = np.asarray(X, dtype=float)
        first, *rest = (X[:, column] for column in self.columns)
        return np.nan_to_num(self.law(first * scale, *rest, *self.constants))

    def fit(self, X, y):
        """Choose the scale (penalised least squares over a grid) and amplitude (closed form)."""
        y = np.asarray(y, dtype=float)
        norm = max(float(np.var(y)) * len(y), 1e-9)
        best = None
        for scale in _SCALES if self.scale_sd > 0 else (1.0,):
            values = self._law(X, scale)
            amplitude = float(values @ y / max(values @ values, 1e-12))
            loss = np.sum((y - amplitude * values) ** 2) / norm
            if self.scale_sd > 0:
                loss += (np.log(scale) / self.scale_sd) ** 2
            if best is None or loss < best[0]:
                best = (loss, scale, amplitude)
        _, self.scale_, self.amplitude_ = best
        return self

    def __call__(self, X):
        check_is_fitted(self)
        return self.amplitude_ * self._law(X, self.scale_)

    @property
    def parameters(self):
        check_is_fitted(self)
        return {"amplitude": float(self.amplitude_), "scale": float(self.scale_)}


def placed_prior(name, params, names, conditions) -> LawPrior:
    """The declared law ``name`` as a :class:`LawPrior` on the inputs ``names``: each argument
    from the first of its names that is an input column, else a fixed condition."""
    declared = law(name)
    columns, constants = [], []
    for alternatives in declared["arguments"]:
        column = next((names.index(a) for a in alternatives if a in names), None)
        constant = next((conditions[a] for a in alternatives if a in conditions), None)
        if column is None and constant is None:
            raise ValueError(f"the prior {name!r} needs {' or '.join(map(repr, alternatives))} as an "
                             f"input ({names}) or a condition ({sorted(conditions)})")
        if column is not None and constants:
            raise ValueError(f"the prior {name!r} takes its inputs before its conditions")
        if column is not None:
            columns.append(column)
        else:
            constants.append(float(constant))
    return LawPrior(declared["function"], tuple(columns), tuple(constants), **params)
