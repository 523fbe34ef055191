"""How predictable is the best formulation at each temperature? Why 10 °C resists active learning.

For every temperature of an FZJ-format file this prints:

- the pool size and how many formulations lie within 5 % of the best mean conductivity;
- the best's lead over the second best, and the standard error of its mean (replicate sd / sqrt n);
- the best's leave-one-out rank under each strategy's model: the model is fitted on every other
  formulation of that temperature, then every formulation is predicted the same way (left out of
  its own fit), and the rank is 1 + the number predicted higher than the best.

The leave-one-out rank is what a model that knew everything else at that temperature would do:
if it is large, the best is a formulation-specific outlier that the smooth trend of its
neighbours does not announce, and a campaign confined to that temperature finds it mostly by
luck. It is not a strict bound (early, poorly informed models can stumble on an outlier), but a
campaign that picks by its model cannot expect to do much better.

    .venv/bin/python benchmarks/fzj_predictability.py [PATH] [-s STRATEGY ...]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402

import numpy as np  # noqa: E402

from aiida_bigmap_al.datasets import load_fzj  # noqa: E402
from aiida_bigmap_al.learning.strategy import STRATEGIES  # noqa: E402
from aiida_bigmap_al.space import fzj_space  # noqa: E402

DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[1]
                / "../shared/data/fzj_conductivity/HTE_dataset_PC_EMC_EC_LiPF6.csv").resolve()
DEFAULT_STRATEGIES = ("gp-exploit", "gp-landesfeind-ucb", "rf-ucb")


def leave_one_out_rank(strategy, X, y, temperature):
    """1 + how many formulations a model fitted without each one predicts above the best."""
    space = fzj_space()
    predicted = np.empty(len(y))
    for i in range(len(y)):
        others = np.arange(len(y)) != i
        model = strategy.build_model(space.bounds, 0, space.names, {"temperature": temperature})
        predicted[i] = model.fit(X[others], y[others]).predict_mean(X[i:i + 1])[0]
    return 1 + int(np.sum(predicted > predicted[np.argmax(y)]))


def temperature_row(data, temperature, strategies):
    X, groups = data.replicates(temperature)
    y = np.array([group.mean() for group in groups])
    best, second = np.sort(y)[::-1][:2]
    spread = groups[int(np.argmax(y))]
    standard_error = spread.std(ddof=1) / np.sqrt(spread.size) if spread.size > 1 else float("nan")
    ranks = [leave_one_out_rank(STRATEGIES[name], X, y, temperature) for name in strategies]
    return [f"{temperature - 273.15:4.0f}", f"{len(y):3d}", f"{np.sum(y >= 0.95 * best):3d}",
            f"{100 * (best / second - 1):4.1f} %", f"{standard_error:5.2f}", *(f"{r:3d}" for r in ranks)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("-s", "--strategy", action="append", dest="strategies", choices=sorted(STRATEGIES),
                        help=f"strategy whose model ranks (repeatable; default {' '.join(DEFAULT_STRATEGIES)})")
    args = parser.parse_args(argv)
    strategies = tuple(args.strategies or DEFAULT_STRATEGIES)
    data = load_fzj(args.data)
    header = ["T °C", "n", "<5%", "lead", "s.e.", *(f"LOO rank {name}" for name in strategies)]
    print(f"data: {args.data.resolve()}")
    print("  ".join(header))
    for temperature in data.temperatures():
        print("  ".join(temperature_row(data, float(temperature), strategies)), flush=True)
    print("n: pool size; <5%: formulations within 5 % of the best; lead: best over second best;\n"
          "s.e.: standard error of the best's mean (mS/cm); LOO rank: see the module docstring.")


if __name__ == "__main__":
    main()
