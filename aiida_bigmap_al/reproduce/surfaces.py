"""D10.1 Figures 4-7: response surfaces of conductivity over the formulation plane.

The demonstrator plotted the predicted conductivity over LiPF6/(EC+PC) and PC/(EC+PC) at -10,
0, 30 and 60 °C: a narrow optimum at low temperature, several at high temperature. The package's
variables are r = PC/(EC+PC) (mass ratio) and c = LiPF6 molality (mol/kg solvent); with
(EC+PC):EMC = 3:7 by mass, LiPF6/(EC+PC) is the mass ratio w = c * 151.905 / 300
(:func:`~aiida_bigmap_al.electrolyte.w_from_molality`). The figures plot **w (x axis) against r
(y axis)**, as D10.1 did, over the range of the data.

The model is the package's best by cross-validation (:func:`.common.chosen_model`), fitted on
every formulation mean at every temperature; its std is that of a future measurement
(recalibrated model std plus replicate and between-batch noise). Per temperature the JSON holds
the optimum of the predicted mean, the measured formulations' best, the local maxima within 10 %
of the optimum and the fraction of the plane within 5 % of it (small: a narrow optimum).
"""

from __future__ import annotations

import numpy as np

from ..electrolyte import w_from_molality
from .common import ZERO_CELSIUS, best_measured, celsius

__all__ = ["DEFAULT_TEMPERATURES", "plot", "run"]

#: The temperatures of D10.1's Figures 4-7 (°C).
DEFAULT_TEMPERATURES = (-10.0, 0.0, 30.0, 60.0)

#: Local maxima within this fraction of the optimum are reported; the near-optimal area is the
#: share of the plane within NEAR of it.
SECONDARY, NEAR = 0.10, 0.05


def run(data, model, model_name, temperatures_c=DEFAULT_TEMPERATURES, grid=41):
    """Predicted mean and std on a ``grid`` x ``grid`` plane of (r, c) per temperature."""
    r = np.linspace(data.r.min(), data.r.max(), grid)
    c = np.linspace(data.c.min(), data.c.max(), grid)
    R, C = np.meshgrid(r, c, indexing="ij")
    figures = {"data": str(data.source), "model": model_name, "axes": {
        "x": "w = LiPF6/(EC+PC) mass ratio", "y": "r = PC/(EC+PC) mass ratio",
        "r": r.tolist(), "c_mol_per_kg": c.tolist(), "w": [w_from_molality(v) for v in c]},
        "temperatures": []}
    for T_c in temperatures_c:
        T = T_c + ZERO_CELSIUS
        X = np.column_stack([R.ravel(), C.ravel(), np.full(R.size, T)])
        mean, std = (v.reshape(R.shape) for v in model.predict(X, X[:, 2]))
        figures["temperatures"].append(_surface(data, T, R, C, mean, std))
    return figures


def _surface(data, T, R, C, mean, std):
    i = np.unravel_index(np.argmax(mean), mean.shape)
    maxima = [_point(R, C, mean, std, j) for j in _local_maxima(mean)
              if mean[j] >= (1 - SECONDARY) * mean[i]]
    measured = _measured(data, T)
    return {"T_C": celsius(T), "mean": mean.tolist(), "std": std.tolist(),
            "optimum": _point(R, C, mean, std, i),
            "local_maxima": sorted(maxima, key=lambda p: -p["mean"]),
            "near_optimal_fraction": float(np.mean(mean >= (1 - NEAR) * mean[i])),
            "measured": measured,
            "best_measured": best_measured(data, T) if measured["r"] else None}


def _point(R, C, mean, std, index):
    return {"r": float(R[index]), "c": float(C[index]), "w": w_from_molality(float(C[index])),
            "mean": float(mean[index]), "std": float(std[index])}


def _local_maxima(values):
    """Grid indices not below any of their (up to 8) neighbours (each point of a flat top counts)."""
    padded = np.pad(values, 1, constant_values=-np.inf)
    n, m = values.shape
    neighbours = [padded[1 + a:1 + a + n, 1 + b:1 + b + m]
                  for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    peak = np.all([values >= other for other in neighbours], axis=0)
    return [tuple(index) for index in np.argwhere(peak)]


def _measured(data, T):
    """The formulation means measured at ``T`` (empty lists where the data have none)."""
    try:
        X, y, _ = data.pool(T)
    except ValueError:
        return {"r": [], "c": [], "w": [], "value": []}
    return {"r": X[:, 0].tolist(), "c": X[:, 1].tolist(),
            "w": [w_from_molality(v) for v in X[:, 1]], "value": y.tolist()}


def plot(figures, path):
    """Mean (top) and std (bottom) per temperature over (w, r), measured points and optimum."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    surfaces = figures["temperatures"]
    w, r = np.asarray(figures["axes"]["w"]), np.asarray(figures["axes"]["r"])
    figure, grid = plt.subplots(2, len(surfaces), figsize=(4.2 * len(surfaces), 7.4),
                                constrained_layout=True, squeeze=False)
    for column, surface in enumerate(surfaces):
        for row, key, cmap in ((0, "mean", "viridis"), (1, "std", "magma")):
            axes = grid[row, column]
            filled = axes.contourf(w, r, np.asarray(surface[key]), levels=20, cmap=cmap)
            figure.colorbar(filled, ax=axes, label=f"{'predicted' if row == 0 else 'std of'} "
                                                   f"conductivity (mS/cm)")
            measured = surface["measured"]
            axes.scatter(measured["w"], measured["r"], s=10, c="white", edgecolors="black",
                         linewidths=0.5, label="measured")
            optimum = surface["optimum"]
            axes.plot(optimum["w"], optimum["r"], "r*", markersize=14,
                      label=f"optimum {optimum['mean']:.2f} ± {optimum['std']:.2f}")
            if surface["best_measured"]:
                best = surface["best_measured"]
                axes.plot(best["w"], best["r"], "s", mfc="none", mec="red", markersize=9,
                          label=f"best measured {best['value']:.2f}")
            axes.set(xlabel="LiPF6/(EC+PC) (g/g)", ylabel="PC/(EC+PC) (g/g)",
                     title=f"{surface['T_C']:g} °C: {'mean' if row == 0 else 'std'}")
            axes.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"Predicted conductivity ({figures['model']}), EC/PC/EMC with (EC+PC):EMC = 3:7")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
