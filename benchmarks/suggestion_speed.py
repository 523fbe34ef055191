"""Time one suggestion per strategy: fit on 500 measurements, score 100,000 candidates, one core.

The issue's target: one suggestion (fit on up to 500 points, score 100,000 candidates) in under
1 s on one core. The measurements are 500 (formulation, temperature) points of the FZJ data
(mean conductivity per formulation and temperature, a seeded draw), or of the built-in data set
when the file is absent; the candidates are a Sobol sample of the (r, c, T) space. Each strategy
builds its model exactly as a campaign does (``Strategy.build_model``), fits it and proposes one
candidate with :func:`~aiida_bigmap_al.learning.propose`. Times are the median of ``--repeats``
runs; the first run of each strategy is not timed (imports, caches).

Run it from the repository root::

    .venv/bin/python benchmarks/suggestion_speed.py
    .venv/bin/python benchmarks/suggestion_speed.py -s gp-landesfeind-ucb --points 200
"""

from __future__ import annotations

import os

# One core: set before numpy (and its BLAS) is imported anywhere.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from aiida_bigmap_al.datasets import load_or_builtin  # noqa: E402
from aiida_bigmap_al.learning import STRATEGIES, propose  # noqa: E402
from aiida_bigmap_al.space import fzj_space  # noqa: E402

DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[1]
                / "../shared/data/fzj_conductivity/HTE_dataset_PC_EMC_EC_LiPF6.csv").resolve()
TARGET_SECONDS = 1.0


def training_set(data, n_points, seed):
    """``n_points`` distinct (r, c, T) rows of the data's pools with their mean conductivity."""
    X, y = [], []
    for temperature in data.temperatures():
        X_T, y_T, _ = data.pool(temperature)
        X.append(np.column_stack([X_T, np.full(len(y_T), temperature)]))
        y.append(y_T)
    X, y = np.vstack(X), np.concatenate(y)
    if n_points > len(y):
        raise SystemExit(f"the data have only {len(y)} (formulation, temperature) points, not {n_points}")
    rows = np.random.default_rng(seed).choice(len(y), size=n_points, replace=False)
    return X[rows], y[rows]


def time_suggestion(strategy, space, X, y, candidates, seed):
    """Seconds for the fit and for the proposal, and the proposal."""
    start = time.perf_counter()
    model = strategy.build_model(space.bounds, seed, space.names).fit(X, y)
    fitted = time.perf_counter()
    [proposal] = propose(model, X, y, candidates, strategy.acquisition_function())
    return fitted - start, time.perf_counter() - fitted, proposal


def measure(name, space, X, y, candidates, repeats, seed):
    strategy = STRATEGIES[name]
    time_suggestion(strategy, space, X, y, candidates, seed)  # warm-up, not timed
    runs = [time_suggestion(strategy, space, X, y, candidates, seed) for _ in range(repeats)]
    fit = statistics.median(run[0] for run in runs)
    score = statistics.median(run[1] for run in runs)
    return {"fit_s": fit, "score_s": score, "total_s": fit + score, "index": runs[0][2].index}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=pathlib.Path, default=DEFAULT_DATA,
                        help="FZJ-format file (the built-in data set when it does not exist)")
    parser.add_argument("-s", "--strategy", action="append", dest="strategies",
                        help="strategy to time (repeatable; default: all)")
    parser.add_argument("--points", type=int, default=500, help="measurements to fit on")
    parser.add_argument("--candidates", type=int, default=100_000, help="candidates to score")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per strategy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures here")
    args = parser.parse_args(argv)

    data = load_or_builtin(args.data if args.data.exists() else None)
    space = fzj_space(temperature_variable=True)
    X, y = training_set(data, args.points, args.seed)
    candidates = space.sample(args.candidates, seed=args.seed)
    names = args.strategies or list(STRATEGIES)
    print(f"data: {data.source}; {len(y)} measurements, {len(candidates)} candidates, one core")
    print(f"{'strategy':24s}{'fit':>8s}{'score':>8s}{'total':>8s}")
    figures = {}
    for name in names:
        figures[name] = measure(name, space, X, y, candidates, args.repeats, args.seed)
        row = figures[name]
        flag = "" if not name.startswith("gp") or row["total_s"] < TARGET_SECONDS else "  > 1 s"
        print(f"{name:24s}{row['fit_s']:8.3f}{row['score_s']:8.3f}{row['total_s']:8.3f}{flag}")
    if args.json:
        args.json.write_text(json.dumps({"points": len(y), "candidates": len(candidates),
                                         "strategies": figures}, indent=2))


if __name__ == "__main__":
    main()
