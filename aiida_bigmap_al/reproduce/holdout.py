"""D10.1 Figure 3: models trained on the middle of the data fail on its extremes.

For each surrogate, train on the rows whose y lies between its 15th and 85th percentile and test
on the tails (the 30 % below and above), against a random split of the same sizes. Reported per
split: RMSE and bias on the test rows, and how often they fall within 1 and 2 standard
deviations and the calibration curve (expected vs observed coverage of central intervals),
before ("raw": the model's own std) and after the recalibration of :mod:`..learning.scoring`: a
scale factor on the std per condition, fitted by cross-validation on the *training* rows only,
plus the measurement noise (:class:`~aiida_bigmap_al.learning.scoring.CalibratedModel`).

Two data sets:

- the 2-D Schwefel function on [-500, 500]^2, scaled by 1/837.97 to 0..2, as the package's
  emulated droplet cell measures it (the demonstrator's mock scanning droplet cell), at
  ``n_points`` scrambled Sobol points (default 512). D10.1 does not say how it sampled the
  function; this is our choice. No noise, one condition, each row its own fold group;
- the FZJ conductivity means over (r, c, T), with the package's candidate models (with and
  without the Landesfeind prior), folds grouped by formulation and one calibration factor per
  temperature, and the data's own replicate and between-batch noise.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from ..conductivity_models import CANDIDATES, TrainingData
from ..learning.calibration import Calibration, MeasurementNoise
from ..learning.crossval import coverage, cross_validate
from ..learning.scoring import LEVELS, CalibratedModel

__all__ = ["PERCENTILES", "SCHWEFEL_MODELS", "plot", "run", "schwefel_data"]

#: The training band of y: its 15th to 85th percentile.
PERCENTILES = (15.0, 85.0)

#: Surrogates on the Schwefel function: those without a conductivity prior.
SCHWEFEL_MODELS = tuple(name for name in CANDIDATES if "+" not in name)

#: The scale of the droplet cell's Schwefel values (``DropletCellOptions.scale``): 0..~2.
SCHWEFEL_SCALE = 1.0 / 837.9658


def schwefel(X):
    """Schwefel's function of each row: 418.9829 d - sum x_i sin(sqrt(|x_i|))."""
    X = np.asarray(X, dtype=float)
    return 418.9829 * X.shape[1] - np.sum(X * np.sin(np.sqrt(np.abs(X))), axis=1)


def schwefel_data(n_points=512, seed=0):
    """``n_points`` Sobol points of [-500, 500]^2 and their scaled Schwefel values."""
    X = qmc.scale(qmc.Sobol(2, scramble=True, seed=seed).random(n_points), [-500, -500], [500, 500])
    return X, SCHWEFEL_SCALE * schwefel(X)


def splits(y, seed=0):
    """``{"tails": (train, test), "random": (train, test)}`` as boolean masks of the rows."""
    low, high = np.percentile(y, PERCENTILES)
    train = (y >= low) & (y <= high)
    shuffled = np.zeros(len(y), dtype=bool)
    shuffled[np.random.default_rng(seed).permutation(len(y))[: train.sum()]] = True
    return {"tails": (train, ~train), "random": (shuffled, ~shuffled)}


class _Problem:
    """One data set: inputs, values, fold groups, conditions and the noise of the values."""

    def __init__(self, X, y, groups, condition, noise, n_replicates, build):
        self.X, self.y, self.groups, self.condition = X, y, groups, condition
        self.noise, self.n_replicates, self.build = noise, np.broadcast_to(n_replicates, y.shape), build

    def row_noise(self, rows):
        return self.noise.std(self.y[rows], self.n_replicates[rows], batch=False)

    def evaluate(self, strategy, train, test, folds, seed):
        """Test figures of ``strategy`` trained on ``train``, raw and recalibrated."""
        noise = self.row_noise(train) if self.noise.replicate > 0 else None
        cv = cross_validate(lambda: self.build(strategy, seed), self.X[train], self.y[train],
                            self.groups[train], folds, seed, noise_std=noise)
        calibration = Calibration.fit(cv.residual, cv.std,
                                      self.noise.std(cv.mean, self.n_replicates[train], batch=False),
                                      self.condition[train])
        fitted = self.build(strategy, seed).fit(self.X[train], self.y[train], noise_std=noise)
        mean, raw_std = fitted.predict(self.X[test])
        _, std = CalibratedModel(fitted, calibration, self.noise).predict(self.X[test], self.condition[test])
        residual = self.y[test] - mean
        return {"n_train": int(train.sum()), "n_test": int(test.sum()),
                "rmse": float(np.sqrt(np.mean(residual**2))), "bias": float(np.mean(residual)),
                "raw": _coverage(residual, raw_std), "calibrated": _coverage(residual, std),
                "calibration": calibration.as_dict()}


def _coverage(residual, std):
    within = coverage(residual, std, (1.0, 2.0))
    curve = coverage(residual, std, ndtri(0.5 + np.asarray(LEVELS) / 2))
    return {"within_1_std": within[1.0], "within_2_std": within[2.0],
            "curve": {"expected": list(LEVELS), "observed": list(curve.values())}}


def _schwefel_problem(n_points, seed):
    X, y = schwefel_data(n_points, seed)
    bounds = np.array([[-500.0, 500.0]] * 2)
    return _Problem(X, y, np.arange(len(y)), np.zeros(len(y)), MeasurementNoise(0.0, 0.0), 1,
                    lambda strategy, s: strategy.build_model(bounds, s, ["x1", "x2"]))


def _fzj_problem(data):
    training = TrainingData.from_data(data)
    return _Problem(training.X, training.y, training.formulation, training.temperature,
                    training.noise, training.n_replicates,
                    lambda strategy, s: training.build(strategy, s))


def run(data, schwefel_models=SCHWEFEL_MODELS, fzj_models=tuple(CANDIDATES), n_points=512,
        folds=5, seed=0, progress=True):
    """Every model on both data sets and both splits; JSON-able."""
    from tqdm import tqdm

    problems = {"schwefel": (_schwefel_problem(n_points, seed), schwefel_models),
                "fzj": (_fzj_problem(data), fzj_models)}
    figures = {"data": str(data.source), "percentiles": list(PERCENTILES), "folds": folds,
               "seed": seed, "schwefel": {"dimension": 2, "domain": [-500, 500], "points": n_points,
                                          "sampling": "scrambled Sobol", "scale": SCHWEFEL_SCALE}}
    total = sum(2 * len(models) for _, models in problems.values())
    with tqdm(total=total, desc="hold-out fits", unit="model", disable=not progress) as bar:
        for key, (problem, models) in problems.items():
            figures[key] = figures.get(key, {}) | {"models": {}}
            for name in models:
                figures[key]["models"][name] = {}
                for split, (train, test) in splits(problem.y, seed).items():
                    figures[key]["models"][name][split] = problem.evaluate(
                        CANDIDATES[name], train, test, folds, seed)
                    bar.update()
    return figures


def plot(figures, path):
    """Per data set: RMSE, fraction within 2 std (raw / recalibrated) and calibration curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    for row, key in zip(grid, ("schwefel", "fzj")):
        models = figures[key]["models"]
        names, x = list(models), np.arange(len(models))
        unit = "" if key == "schwefel" else " (mS/cm)"
        for offset, split, colour in ((-0.2, "tails", "tab:red"), (0.2, "random", "tab:blue")):
            row[0].bar(x + offset, [models[n][split]["rmse"] for n in names], 0.4, color=colour,
                       label=f"test: {split}")
            for shift, kind, hatch in ((-0.1, "raw", "//"), (0.1, "calibrated", "")):
                row[1].bar(x + offset + shift, [models[n][split][kind]["within_2_std"] for n in names],
                           0.2, color=colour, hatch=hatch, alpha=0.5 if kind == "raw" else 0.9,
                           label=f"{split}, {kind}")
        row[1].axhline(0.954, color="black", linestyle=":", label="Gaussian: 95.4 %")
        best = min(names, key=lambda n: models[n]["random"]["rmse"])
        for split, colour in (("tails", "tab:red"), ("random", "tab:blue")):
            for kind, style in (("raw", ":"), ("calibrated", "-")):
                curve = models[best][split][kind]["curve"]
                row[2].plot(curve["expected"], curve["observed"], style, color=colour,
                            label=f"{split}, {kind}")
        row[2].plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        title = ("2-D Schwefel" if key == "schwefel" else "FZJ conductivity")
        row[0].set(title=f"{title}: test RMSE{unit}", ylabel=f"RMSE{unit}")
        row[1].set(title=f"{title}: test values within 2 std", ylim=(0, 1.05))
        row[2].set(title=f"{title}: calibration of {best}", xlabel="expected coverage",
                   ylabel="observed coverage")
        for axes in row[:2]:
            axes.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
        for axes in row:
            axes.grid(alpha=0.3)
            axes.legend(fontsize=7)
    figure.suptitle(f"Train on the {figures['percentiles'][0]:g}-{figures['percentiles'][1]:g} % "
                    f"percentile of y, test on the tails, against a random split of the same size")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
