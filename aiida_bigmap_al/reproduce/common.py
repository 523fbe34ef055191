"""What every reproduced figure shares: where the data are, temperatures, bands and output."""

from __future__ import annotations

import json
import pathlib

import numpy as np

__all__ = ["DEFAULT_DATA", "ZERO_CELSIUS", "best_measured", "celsius", "chosen_model", "mean_band",
           "select_pools", "write_json"]

#: The FZJ conductivity file beside the repository (``../shared/data/...``).
DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"
                / "fzj_conductivity" / "HTE_dataset_PC_EMC_EC_LiPF6.csv")

ZERO_CELSIUS = 273.15


def celsius(kelvin_value) -> float:
    return round(float(kelvin_value) - ZERO_CELSIUS, 2)


def select_pools(pools, temperatures_c=None):
    """The pools at ``temperatures_c`` (°C; all when None or empty); a missing one is an error."""
    if not temperatures_c:
        return pools
    have = [celsius(pool.temperature) for pool in pools]
    missing = [T for T in temperatures_c if not any(abs(T - h) < 0.01 for h in have)]
    if missing:
        raise ValueError(f"no data at {missing} °C; the data have {have} °C")
    return [pool for pool, h in zip(pools, have) if any(abs(T - h) < 0.01 for T in temperatures_c)]


def mean_band(samples, axis=0, z=1.96):
    """Mean and the half-width of its normal 95 % confidence interval over ``axis``."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    if n < 2:
        return samples.mean(axis=axis), np.zeros_like(samples.mean(axis=axis))
    return samples.mean(axis=axis), z * samples.std(axis=axis, ddof=1) / np.sqrt(n)


def write_json(figures: dict, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.write_text(json.dumps(figures, indent=2))
    return path


def chosen_model(data, model_names=None, folds=10, seed=0, progress=True):
    """The best candidate model by leave-formulation-out cross-validation, fitted on all of
    ``data`` and calibrated (its std is that of a future measurement), and every score."""
    from tqdm import tqdm

    from ..conductivity_models import (TrainingData, calibrated_model, candidates, choose,
                                       score_candidates)

    strategies = candidates(model_names)
    training = TrainingData.from_data(data)
    with tqdm(total=len(strategies), desc="cross-validating", unit="model", disable=not progress) as bar:
        scores = score_candidates(training, strategies, folds, seed, progress=lambda _: bar.update())
    best = choose(scores)
    return best, calibrated_model(training, strategies[best.name], best.calibration, seed), scores


def best_measured(data, temperature):
    """``{"r", "c", "w", "value"}`` of the formulation with the highest mean at ``temperature``."""
    from ..electrolyte import w_from_molality

    X, y, _ = data.pool(temperature)
    i = int(np.argmax(y))
    return {"r": float(X[i, 0]), "c": float(X[i, 1]), "w": w_from_molality(float(X[i, 1])),
            "value": float(y[i])}
