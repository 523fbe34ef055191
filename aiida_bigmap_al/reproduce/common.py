"""What every reproduced figure shares: where the data are, temperatures, bands and output."""

from __future__ import annotations

import json
import pathlib

import numpy as np

__all__ = ["DEFAULT_DATA", "ZERO_CELSIUS", "celsius", "mean_band", "select_pools", "write_json"]

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
