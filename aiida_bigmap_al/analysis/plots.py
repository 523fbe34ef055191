"""Plots written to files: best-so-far curves of benchmarks and campaign histories."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["best_so_far_plot"]


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
