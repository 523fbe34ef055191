"""Batch proposals: pick k candidates to measure next, aware of points still being measured.

Parallel instruments need several suggestions at once, and a suggestion made while other
measurements are pending must not duplicate them. Both are handled by the *kriging believer*:
a pending point is treated as if it had been measured at the model's predicted mean, the model
is conditioned on that belief (hyperparameters frozen), and the next point is chosen from the
updated model. A believed point has (near) zero uncertainty, so the acquisition moves elsewhere.

Over several temperatures a candidate is compared with the incumbent *at its own temperature*
(see :mod:`.objective`): the acquisition then scores ``mean - incumbent`` against a best of 0.
That is a shift of each candidate's mean by a known constant, so the pruning below, which only
needs the score to grow with the mean and with the std, stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Proposal", "propose"]

#: Candidates whose std is computed at once when pruning by the std bound: the first block,
#: and the largest (blocks double in between).
_FIRST_CHUNK, _CHUNK = 128, 2048


@dataclass(frozen=True)
class Proposal:
    """One proposed candidate: its row in the candidate array and what the model said of it."""

    index: int
    mean: float
    std: float
    score: float


def propose(model, X, y, candidates, acquisition, k=1, pending=None, exclude=None, incumbent=None):
    """Fit-free batch selection: return ``k`` :class:`Proposal` from ``candidates``.

    :param model: a fitted model (``predict``/``condition``) trained on ``X, y``.
    :param acquisition: ``score(mean, std, best)`` from :func:`make_acquisition`.
    :param pending: points already suggested but not yet measured (rows like ``candidates``).
    :param exclude: candidate rows that must not be proposed (already measured or pending).
    :param incumbent: per candidate, the best value to improve on (e.g. the best measured at
        its temperature, :func:`~aiida_bigmap_al.learning.objective.incumbents`); by default
        the best of ``y`` for all. A proposal's ``mean`` stays the predicted value.
    """
    candidates, X, y = _checked(candidates, X, y, pending, exclude, k)
    available = np.ones(len(candidates), dtype=bool)
    if exclude is not None:
        available[np.asarray(exclude, dtype=int)] = False
    if available.sum() < k:
        raise ValueError(f"only {available.sum()} candidates are left, cannot propose {k}")
    if incumbent is None:
        shift, best = 0.0, float(np.max(y))
    else:
        shift, best = np.asarray(incumbent, dtype=float), 0.0
        if shift.shape != (len(candidates),):
            raise ValueError(f"incumbent needs one value per candidate ({len(candidates)}), "
                             f"got shape {shift.shape}")
    believed_X, believed_y = X, y
    if pending is not None and len(pending):
        model, believed_X, believed_y = _believe(model, X, y, np.asarray(pending, dtype=float))

    proposals = []
    for _ in range(k):
        proposal = _best_candidate(model, candidates, available, acquisition, best, shift)
        proposals.append(proposal)
        available[proposal.index] = False
        if len(proposals) < k:
            model, believed_X, believed_y = _believe(
                model, believed_X, believed_y, candidates[[proposal.index]])
    return proposals


def _checked(candidates, X, y, pending, exclude, k):
    """The arrays of a request, or a ``ValueError`` naming what is wrong with it (not numpy's)."""
    candidates, X, y = (np.asarray(value, dtype=float) for value in (candidates, X, y))
    if candidates.ndim != 2:
        raise ValueError(f"candidates must be a 2-d array (n, d), got shape {candidates.shape}")
    for name, array in (("candidates", candidates), ("pending", pending), ("y", y)):
        if array is not None and not np.all(np.isfinite(np.asarray(array, dtype=float))):
            raise ValueError(f"{name} contain NaN or infinite values")
    if y.size == 0:
        raise ValueError("no measured values y: fit and propose need at least one")
    rows = np.asarray([] if exclude is None else exclude)
    if rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0 or rows.max() >= len(candidates)):
        raise ValueError(f"exclude must hold candidate rows 0..{len(candidates) - 1}, got {sorted(set(rows.tolist()))}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return candidates, X, y


def _believe(model, X, y, points):
    """Condition the model on its own predicted mean at ``points``."""
    believed = model.predict_mean(points) if hasattr(model, "predict_mean") else model.predict(points)[0]
    X_new, y_new = np.vstack([X, points]), np.concatenate([y, believed])
    return model.condition(X_new, y_new), X_new, y_new


def _best_candidate(model, candidates, available, acquisition, best, shift):
    """The available candidate with the highest score (exact, whatever the shortcuts).

    ``shift`` (a number, or one per candidate) is subtracted from the mean before scoring.
    """
    rows = np.flatnonzero(available)
    shift = _at(shift, rows)
    if acquisition.name == "exploit" and hasattr(model, "predict_mean"):
        return _best_mean(model, candidates, rows, shift)
    bound = getattr(model, "std_upper_bound", None)
    if acquisition.monotone_in_std and bound is not None and hasattr(model, "predict_mean"):
        return _best_pruned(model, candidates, rows, acquisition, best, bound, shift)
    mean, std = model.predict(candidates[rows])
    score = acquisition(mean - shift, std, best)
    i = int(np.argmax(score))
    return Proposal(int(rows[i]), float(mean[i]), float(std[i]), float(score[i]))


def _at(shift, rows):
    """The shift of the candidates ``rows``: the number itself, or their entries of the array."""
    return shift[rows] if np.ndim(shift) else shift


def _screen(model, X, std_bound=None):
    """``(mean, error, std_bound)``: the model's fast screen, or the exact mean and a flat bound."""
    screened = model.screen(X) if hasattr(model, "screen") else None
    if screened is not None:
        return screened
    return model.predict_mean(X), 0.0, std_bound


def _best_mean(model, candidates, rows, shift):
    """Pure exploitation: screen every candidate fast, then rank exactly those that can win.

    A candidate whose fast (shifted) mean is more than twice the error bound below the largest
    is below the true maximum, so only the few near the top need the exact mean.
    """
    approx, error, _ = _screen(model, candidates[rows])
    gain = approx - shift
    near = np.flatnonzero(gain >= gain.max() - 2 * error)
    mean = model.predict_mean(candidates[rows[near]])
    score = mean - _at(shift, near)
    i = int(np.argmax(score))
    return Proposal(int(rows[near[i]]), float(mean[i]), float("nan"), float(score[i]))


def _best_pruned(model, candidates, rows, acquisition, best, bound, shift):
    """For acquisitions that never decrease with the std (nor with the mean).

    Candidates are visited in order of an optimistic score: their fast mean plus its error
    bound, and an upper bound of their std (the model's per-candidate one, or the prior std).
    Once that cannot beat the best exact score found, the rest need no std at all. Exact, and
    much faster for 100,000 candidates, where the std costs a triangular solve per candidate.
    Blocks grow from small, because the winner is usually among the first few.
    """
    approx, error, std_bound = _screen(model, candidates[rows], bound)
    optimistic = acquisition(approx + error - shift, np.broadcast_to(std_bound, approx.shape), best)
    order = np.argsort(-optimistic, kind="stable")
    winner, start, size = None, 0, _FIRST_CHUNK
    while start < len(order):
        chunk = order[start:start + size]
        if winner is not None and optimistic[chunk[0]] <= winner.score:
            break
        chunk_mean, chunk_std = model.predict(candidates[rows[chunk]])
        score = acquisition(chunk_mean - _at(shift, chunk), chunk_std, best)
        i = int(np.argmax(score))
        if winner is None or score[i] > winner.score:
            winner = Proposal(int(rows[chunk[i]]), float(chunk_mean[i]), float(chunk_std[i]),
                              float(score[i]))
        start, size = start + size, min(2 * size, _CHUNK)
    return winner
