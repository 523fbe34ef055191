"""Plots written to files: best-so-far curves of benchmarks and campaign histories."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["best_so_far_plot", "campaign_plot"]


def best_so_far_plot(curves, path, title="Best so far, mean over temperatures and seeds"):
    """Plot one best-so-far curve (fraction of the best value vs. measurements) per strategy."""
    figure, axes = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for name, curve in curves.items():
        axes.plot(range(1, len(curve) + 1), curve, label=name,
                  linestyle="--" if name == "random" else "-")
    axes.set_xlabel("measurements")
    axes.set_ylabel("best measured / best in pool")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def campaign_plot(values, best, kinds, path, title="Best so far", unit=""):
    """Plot one campaign: each measured value (marked by its kind) and the best-so-far staircase.

    ``values``, ``best`` and ``kinds`` run over the measurements in the order they were made;
    ``kinds`` labels each (e.g. its origin, or ``initial data`` for rows the campaign started with).
    """
    if not values:
        raise ValueError("a campaign plot needs at least one measurement")
    x = range(1, len(values) + 1)
    figure, axes = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for kind in dict.fromkeys(kinds):
        points = [(i, v) for i, v, k in zip(x, values, kinds) if k == kind]
        axes.scatter(*zip(*points), s=18, alpha=0.7, label=kind)
    axes.step(x, best, where="post", color="black", label="best so far")
    axes.set_xlabel("measurements")
    axes.set_ylabel(f"value ({unit})" if unit else "value")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.savefig(path, dpi=120, format="png")
    plt.close(figure)
    return path
