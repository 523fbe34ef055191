"""Acquisition functions: score candidates from the surrogate's (mean, std) and the best value so far.

All functions maximise (higher score = more worth measuring) and take ``(mean, std, best)`` plus
their own parameters. ``MONOTONE_IN_STD`` names the ones that never decrease when the std grows
(nor when the mean grows): for those, :func:`~aiida_bigmap_al.learning.batch.propose` can skip
computing the (costly) std of candidates whose score could not win even at the largest
possible std.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["exploit", "explore", "ucb", "ei", "pi", "ACQUISITIONS", "MONOTONE_IN_STD",
           "make_acquisition"]

_TINY = 1e-12


def exploit(mean, std, best):
    """Pure exploitation: the predicted mean."""
    return np.asarray(mean, dtype=float)


def explore(mean, std, best):
    """Pure exploration: the largest uncertainty."""
    return np.asarray(std, dtype=float)


def ucb(mean, std, best, kappa=2.0):
    """Upper confidence bound, mean + kappa * std."""
    return np.asarray(mean, dtype=float) + kappa * np.asarray(std, dtype=float)


def _z(mean, std, best, xi):
    std = np.maximum(np.asarray(std, dtype=float), _TINY)
    return (np.asarray(mean, dtype=float) - best - xi) / std, std


def ei(mean, std, best, xi=0.0):
    """Expected improvement over ``best + xi``: (m - best - xi) Phi(z) + s phi(z)."""
    z, std = _z(mean, std, best, xi)
    return std * (z * ndtr(z) + np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi))


def pi(mean, std, best, xi=0.0):
    """Probability of improvement over ``best + xi``: Phi(z)."""
    z, _ = _z(mean, std, best, xi)
    return ndtr(z)


ACQUISITIONS = {"exploit": exploit, "explore": explore, "ucb": ucb, "ei": ei, "pi": pi}
MONOTONE_IN_STD = {"explore", "ucb", "ei"}


def make_acquisition(name, **params):
    """Return ``score(mean, std, best)`` for an acquisition named in a configuration."""
    try:
        function = ACQUISITIONS[name]
    except KeyError:
        raise ValueError(f"unknown acquisition {name!r}; choose from {sorted(ACQUISITIONS)}") from None

    def score(mean, std, best):
        return function(mean, std, best, **params)

    score.name = name
    score.monotone_in_std = name in MONOTONE_IN_STD
    return score
