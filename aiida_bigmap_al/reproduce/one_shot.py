"""D10.1 Figures 8-10: the one-shot study, the top formulations per temperature from one model.

The demonstrator fitted one model on all FZJ data and proposed, per temperature from -30 to
60 °C, the top-percentile formulations by predicted mean; measured afresh, the best reached about
2 mS/cm at -30 °C and 13.8 mS/cm at 60 °C. Here, as in ``OneShotWorkChain`` (without AiiDA):
the package's best model by cross-validation, ``n_candidates`` Sobol points of the FZJ space,
per temperature the ``k`` best by predicted mean that lie at least ``min_distance`` apart in the
unit square (the rule of :func:`~aiida_bigmap_al.workchains.one_shot.distinct_top`; not imported,
as importing AiiDA writes its configuration folder), each with the std of a future measurement,
beside the best formulation measured in the data.
"""

from __future__ import annotations

import numpy as np

from ..electrolyte import w_from_molality
from ..space import fzj_space
from .common import best_measured, celsius

__all__ = ["REPORTED", "plot", "run", "spread_top"]

#: What D10.1 measured for its one-shot proposals (mS/cm, by °C).
REPORTED = {"-30": 2.0, "60": 13.8}


def spread_top(unit_points, means, k, min_distance) -> list[int]:
    """The best remaining candidate, k times, each time dropping those within ``min_distance``."""
    remaining = np.argsort(-np.asarray(means, dtype=float), kind="stable")
    chosen = []
    while remaining.size and len(chosen) < k:
        best, remaining = remaining[0], remaining[1:]
        chosen.append(int(best))
        gaps = np.linalg.norm(unit_points[remaining] - unit_points[best], axis=1)
        remaining = remaining[gaps >= min_distance]
    return chosen


def run(data, model, model_name, k=5, n_candidates=4096, min_distance=0.1, seed=0):
    """Per temperature of ``data``: the top ``k`` distinct proposals and the best measured row."""
    space = fzj_space()
    sample = space.sample(n_candidates, seed=seed, method="sobol")
    unit = space.normalise(sample)
    figures = {"data": str(data.source), "model": model_name, "k": k, "n_candidates": n_candidates,
               "min_distance": min_distance, "reported": REPORTED, "temperatures": []}
    for T in data.temperatures():
        X = np.column_stack([sample, np.full(len(sample), T)])
        rows = spread_top(unit, model.model.predict_mean(X), k, min_distance)
        mean, std = model.predict(X[rows], X[rows, 2])
        figures["temperatures"].append({
            "T_C": celsius(T), "best_measured": best_measured(data, T),
            "proposals": [{"rank": rank, "r": float(X[row, 0]), "c": float(X[row, 1]),
                           "w": w_from_molality(float(X[row, 1])), "mean": float(m), "std": float(s)}
                          for rank, (row, m, s) in enumerate(zip(rows, mean, std), start=1)]})
    return figures


def plot(figures, path):
    """Top-k predictions with their std per temperature, the best measured value beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4.8), constrained_layout=True)
    k = figures["k"]
    for i, entry in enumerate(figures["temperatures"]):
        offsets = i + np.linspace(-0.3, 0.1, k)[: len(entry["proposals"])]
        axes.errorbar(offsets, [p["mean"] for p in entry["proposals"]],
                      yerr=[p["std"] for p in entry["proposals"]], fmt="o", color="tab:blue",
                      markersize=4, capsize=2, label="proposals (rank 1..k), ± 1 std" if i == 0 else None)
        axes.plot(i + 0.3, entry["best_measured"]["value"], "s", color="tab:red",
                  label="best measured in the data" if i == 0 else None)
    labels = [f"{entry['T_C']:g}" for entry in figures["temperatures"]]
    for T, value in figures["reported"].items():
        if T in labels:
            axes.plot(labels.index(T) + 0.3, value, "k*", markersize=11,
                      label="D10.1: measured one-shot proposal" if T == "-30" else None)
    axes.set_xticks(range(len(labels)), labels)
    axes.set(xlabel="temperature (°C)", ylabel="conductivity (mS/cm)",
             title=f"One-shot: top {k} distinct proposals per temperature ({figures['model']})")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
