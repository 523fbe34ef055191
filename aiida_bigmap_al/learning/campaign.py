"""Pool-based campaigns: active learning replayed on pre-generated data.

The pool is every formulation that was measured; "measuring" one reveals its value. A campaign
starts from one random formulation (or from what earlier campaigns measured) and then lets the
strategy pick one formulation per iteration from the rest. Random sampling is the same loop with
a random pick, from the same seed, so that both start from the same formulation.
"""

from __future__ import annotations

import numpy as np

from .batch import propose

__all__ = ["RANDOM", "initial_picks", "pool_campaign"]

#: The name of the baseline strategy: uniform random picks from the pool.
RANDOM = "random"


def initial_picks(n_pool, n_initial, seed):
    """The random start of a pool campaign: ``n_initial`` distinct rows of a pool of ``n_pool``.

    Shared by the pure-Python campaigns and the AiiDA workchain, so that both start alike.
    """
    rng = np.random.default_rng(seed)
    if n_initial == 1:
        return [int(rng.integers(n_pool))]
    return [int(i) for i in rng.choice(n_pool, size=n_initial, replace=False)]


def pool_campaign(X, y, strategy, seed, bounds, names, conditions=None, known=None,
                  stop_at=None, budget=None, start=None):
    """Return the order in which the campaign measures the rows of ``X``.

    :param strategy: a :class:`~aiida_bigmap_al.learning.strategy.Strategy`, or ``"random"``.
    :param known: ``(X_known, y_known)`` measured before this campaign (e.g. at other
        temperatures); with it, the first pick is the strategy's, not random.
    :param stop_at: stop as soon as this row (or every one of these rows) has been measured
        (saves time in benchmarks).
    :param budget: the largest number of measurements (default: the whole pool).
    :param start: rows measured first, instead of one random row (e.g. one per temperature).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    budget = len(X) if budget is None else min(budget, len(X))
    X_known, y_known = _as_known(known, X.shape[1])
    if start is not None:
        order = [int(i) for i in start]
    else:
        order = initial_picks(len(X), 1, seed) if len(y_known) == 0 else []
    targets = set() if stop_at is None else {int(i) for i in np.atleast_1d(stop_at)}
    if strategy == RANDOM:
        rest = np.setdiff1d(np.arange(len(X)), order)
        rng = np.random.default_rng([seed, 1])
        order.extend(int(i) for i in rng.permutation(rest))
        return np.asarray(_truncate(order, targets)[:budget])

    acquisition = strategy.acquisition_function()
    while len(order) < budget and not (targets and targets.issubset(order)):
        X_train = np.vstack([X_known, X[order]])
        y_train = np.concatenate([y_known, y[order]])
        model = strategy.build_model(bounds, seed, names, conditions).fit(X_train, y_train)
        incumbent = strategy.incumbent(names, X, X_train, y_train)
        [proposal] = propose(model, X_train, y_train, X, acquisition, k=1, exclude=order,
                             incumbent=incumbent)
        order.append(proposal.index)
    return np.asarray(order)


def _as_known(known, width):
    if known is None:
        return np.empty((0, width)), np.empty(0)
    X_known, y_known = (np.asarray(part, dtype=float) for part in known)
    return X_known.reshape(-1, width), y_known.ravel()


def _truncate(order, targets):
    return order[: max(order.index(i) for i in targets) + 1] if targets else order
