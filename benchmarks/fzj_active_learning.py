"""The active-learning benchmark of issue 2 on the FZJ conductivity data, against its targets.

Runs :func:`aiida_bigmap_al.benchmark.run_benchmark` (the same code as ``bigmap-al benchmark``)
with the default strategies (``random``, ``gp-exploit``, ``gp-landesfeind-ucb``), 30 seeds,
independent campaigns per temperature and sequential campaigns over the temperatures, prints
the table and the targets, and writes the figures (JSON) and the best-so-far plot (PNG).

Protocol: the pool at a temperature is its 85 formulations (84 at -30 °C) with their mean
conductivity, shuffled per seed; a campaign starts from one random formulation and picks one
per iteration; its figure is the number of measurements until the best formulation is measured.
``random`` is run from the same seeds (same first formulation). Sequential campaigns go from
-30 °C upwards, each knowing only what the earlier ones measured, with a surrogate over
(r, c, T); their figure is the total number of measurements until all ten best are found.

With ``--joint``, joint campaigns (issue 8) see all ten temperatures' pools at once: each
(formulation, temperature) is a candidate; they start from one random formulation at each
temperature (10 measurements, the same for every strategy of a seed) and pick one (formulation,
temperature) per iteration, scoring each candidate against the best at its own temperature;
their figure is the number of measurements, the start included, until every temperature's best
formulation has been measured. ``random`` is run too (same start, then uniform picks).

Targets (issue 2): best strategy >= 3.5x faster than random on average over the temperatures
(``acceleration_to_best`` = mean of random's per-temperature means / the strategy's) and >= 2x
at every temperature; sequential >= 8x fewer measurements in total. Issue 8: joint campaigns
>= 17x fewer measurements than random, counted as the sum of the independent random campaigns
(about 429 on the FZJ data); the acceleration against the joint random campaigns is printed too.

Run it from the repository root (two worker processes take about 6 minutes)::

    .venv/bin/python benchmarks/fzj_active_learning.py --jobs 2
    .venv/bin/python benchmarks/fzj_active_learning.py PATH --seeds 5 --no-sequential   # a quick look
    .venv/bin/python benchmarks/fzj_active_learning.py --joint --no-sequential -j 2 \
        -s gp-landesfeind-ucb -s gp-landesfeind-ei                                      # issue 8
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # one core per worker process

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

from aiida_bigmap_al.analysis.plots import best_so_far_plot  # noqa: E402
from aiida_bigmap_al.benchmark import DEFAULT_STRATEGIES, format_table, run_benchmark  # noqa: E402
from aiida_bigmap_al.datasets import load_fzj  # noqa: E402

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DATA = (REPOSITORY / "../shared/data/fzj_conductivity/HTE_dataset_PC_EMC_EC_LiPF6.csv").resolve()

MEAN_TARGET, PER_TEMPERATURE_TARGET, SEQUENTIAL_TARGET, JOINT_TARGET = 3.5, 2.0, 8.0, 17.0


def targets(figures):
    """One line per target: the best strategy's figure and whether it meets the target."""
    learners = {name: s for name, s in figures["strategies"].items() if name != "random"}
    best = max(learners, key=lambda name: learners[name]["acceleration_to_best"])
    summary = learners[best]
    worst_T = min(summary["per_temperature"],
                  key=lambda T: summary["per_temperature"][T]["acceleration_to_best"])
    worst = summary["per_temperature"][worst_T]
    analytic = (figures["pool_size"][worst_T] + 1) / 2 / worst["mean_to_best"]
    lines = [
        f"best strategy: {best}",
        _verdict(f"mean acceleration {summary['acceleration_to_best']:.2f}x", summary["acceleration_to_best"],
                 MEAN_TARGET),
        _verdict(f"worst temperature {float(worst_T) - 273.15:.0f} °C: {worst['mean_to_best']:.1f} "
                 f"measurements, {worst['acceleration_to_best']:.2f}x ({analytic:.2f}x against "
                 "the analytic (N+1)/2)", worst["acceleration_to_best"], PER_TEMPERATURE_TARGET),
    ]
    sequential = {name: s for name, s in figures.get("sequential", {}).items() if name != "random"}
    if sequential:
        name = max(sequential, key=lambda n: sequential[n]["acceleration"])
        lines.append(_verdict(f"sequential {name}: {sequential[name]['total_to_best']:.1f} in total, "
                              f"{sequential[name]['acceleration']:.2f}x", sequential[name]["acceleration"],
                              SEQUENTIAL_TARGET))
    joint = {name: s for name, s in figures.get("joint", {}).items() if name != "random"}
    if joint:
        name = min(joint, key=lambda n: joint[n]["total_to_best"])
        best = joint[name]
        lines.append(_verdict(
            f"joint {name}: {best['total_to_best']:.1f} in total, "
            f"{best['acceleration_vs_independent_random']:.2f}x against the independent random "
            f"campaigns' sum ({best['independent_random_total']:.1f}), {best['acceleration']:.2f}x "
            f"against joint random ({figures['joint']['random']['total_to_best']:.1f})",
            best["acceleration_vs_independent_random"], JOINT_TARGET))
    return "\n".join(lines)


def _verdict(text, value, target):
    return f"  {text}  (target >= {target}x: {'met' if value >= target else 'NOT met'})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=pathlib.Path, default=DEFAULT_DATA,
                        help="FZJ-format conductivity file")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("-s", "--strategy", action="append", dest="strategies",
                        help=f"strategy to run (repeatable; default {' '.join(DEFAULT_STRATEGIES)})")
    parser.add_argument("--no-sequential", action="store_true", help="skip the sequential campaigns")
    parser.add_argument("--joint", action="store_true", help="also run joint campaigns (issue 8)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--json", type=pathlib.Path, default=pathlib.Path("fzj_active_learning.json"))
    parser.add_argument("--plot", type=pathlib.Path, default=pathlib.Path("fzj_active_learning.png"))
    args = parser.parse_args(argv)

    data = load_fzj(args.data)
    start = time.perf_counter()
    figures = run_benchmark(data, tuple(args.strategies or DEFAULT_STRATEGIES), args.seeds,
                            sequential=not args.no_sequential, jobs=args.jobs,
                            source=args.data.resolve(), joint=args.joint)
    print(f"data: {args.data.resolve()}; {args.seeds} seeds; {time.perf_counter() - start:.0f} s")
    print(format_table(figures))
    print(targets(figures))
    best_so_far_plot(figures["curves"], args.plot)
    args.json.write_text(json.dumps(figures, indent=2))
    print(f"figures: {args.json}\nplot: {args.plot}")


if __name__ == "__main__":
    main()
