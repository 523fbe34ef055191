"""Simulated campaigns on pre-generated data: how much faster than random does a strategy find the best?

For every temperature of a data set the pool is its formulations with their mean conductivity.
A campaign counts the measurements (the random start included) until it has measured the best
formulation, and until it has measured one within 5 % of the best. Random sampling is run, not
computed, from the same seeds, so it starts from the same formulations.

*Sequential* campaigns visit the temperatures from coldest to warmest; each knows everything the
earlier ones measured, through a surrogate over formulation and temperature. Their figure is the
total number of measurements until all best formulations were found.

*Joint* campaigns see all temperatures' pools at once: each (formulation, temperature) is a
candidate, worth that formulation's mean at that temperature. They start from one random
formulation at each temperature (the first pick of the independent campaign there) and then
choose one (formulation, temperature) per iteration, with a surrogate over (r, c, T) and the
strategy's objective (per temperature by default). Their figure is the number of measurements,
the start included, until the best formulation of every temperature has been measured.

Every campaign sees its pool in an order shuffled by its seed. The loader sorts formulations,
and a model that knows nothing yet (one measurement, a flat mean) ties all candidates, so
``argmax`` would pick the first row: the same formulation in every campaign. In the FZJ file
that row, (r, c) = (0.087, 0.614), lies in the band that holds the best formulation at -30 to
10 °C, which made uninformed strategies look about 20 % better than they are.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .learning import RANDOM, STRATEGIES, initial_picks, pool_campaign
from .space import fzj_space

__all__ = ["TemperaturePool", "pools_from_data", "run_benchmark", "format_table", "DEFAULT_STRATEGIES"]

#: The strategies benchmarked when none are named: the baseline and the project's best.
DEFAULT_STRATEGIES = ("random", "gp-exploit", "gp-landesfeind-ucb")

#: Measurements shown in the best-so-far plot.
CURVE_LENGTH = 60


@dataclass(frozen=True)
class TemperaturePool:
    """The formulations measured at one temperature and their mean conductivity."""

    temperature: float
    X: np.ndarray
    y: np.ndarray

    @property
    def best(self) -> int:
        return int(np.argmax(self.y))

    def shuffled(self, seed) -> TemperaturePool:
        """The same pool in an order drawn from ``seed`` (and the temperature)."""
        order = np.random.default_rng([seed, round(self.temperature * 100)]).permutation(len(self.y))
        return TemperaturePool(self.temperature, self.X[order], self.y[order])


def pools_from_data(data) -> list[TemperaturePool]:
    """One pool per temperature of a :class:`~aiida_bigmap_al.datasets.ConductivityData`."""
    return [TemperaturePool(float(T), *data.pool(T)[:2]) for T in data.temperatures()]


def _strategy(name):
    return RANDOM if name == RANDOM else STRATEGIES[name]


def _counts(order, y):
    """Measurements until the best, and until one within 5 % of the best, was measured."""
    values = y[order]
    to_best = int(np.argmax(values == y.max())) + 1
    to_near = int(np.argmax(values >= 0.95 * y.max())) + 1
    return to_best, to_near


def _independent(task):
    name, pool, seed = task
    pool = pool.shuffled(seed)
    space = fzj_space()
    order = pool_campaign(pool.X, pool.y, _strategy(name), seed, space.bounds, space.names,
                          conditions={"temperature": pool.temperature}, stop_at=pool.best)
    to_best, to_near = _counts(order, pool.y)
    best_so_far = np.maximum.accumulate(pool.y[order]) / pool.y.max()
    curve = np.ones(CURVE_LENGTH)
    curve[: min(len(order), CURVE_LENGTH)] = best_so_far[:CURVE_LENGTH]
    return name, pool.temperature, to_best, to_near, curve


def _sequential(task):
    """Campaigns from coldest to warmest, each knowing what the earlier ones measured."""
    name, pools, seed = task
    space = fzj_space(temperature_variable=True)
    X_known, y_known, counts = np.empty((0, 3)), np.empty(0), []
    for pool in (pool.shuffled(seed) for pool in pools):
        X = np.column_stack([pool.X, np.full(len(pool.X), pool.temperature)])
        known = (X_known, y_known) if len(y_known) else None
        order = pool_campaign(X, pool.y, _strategy(name), seed, space.bounds, space.names,
                              known=known, stop_at=pool.best)
        counts.append(len(order))
        X_known, y_known = np.vstack([X_known, X[order]]), np.concatenate([y_known, pool.y[order]])
    return name, counts


def _joint(task):
    """One campaign over every temperature at once, from one random formulation at each."""
    name, pools, seed = task
    space = fzj_space(temperature_variable=True)
    pools = [pool.shuffled(seed) for pool in pools]
    offsets = np.cumsum([0] + [len(pool.y) for pool in pools])[:-1]
    X = np.vstack([np.column_stack([pool.X, np.full(len(pool.X), pool.temperature)]) for pool in pools])
    y = np.concatenate([pool.y for pool in pools])
    start = [offset + initial_picks(len(pool.y), 1, seed)[0] for offset, pool in zip(offsets, pools)]
    targets = [offset + pool.best for offset, pool in zip(offsets, pools)]
    order = pool_campaign(X, y, _strategy(name), seed, space.bounds, space.names, start=start,
                          stop_at=targets)
    return name, len(order)


def _run(function, tasks, jobs, progress, description):
    """Map ``function`` over ``tasks`` in ``jobs`` processes, with a progress bar."""
    from tqdm import tqdm

    with tqdm(total=len(tasks), desc=description, disable=not progress, unit="campaign") as bar:
        if jobs <= 1:
            for task in tasks:
                yield function(task)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=jobs) as executor:
            for result in executor.map(function, tasks, chunksize=1):
                yield result
                bar.update()


def run_benchmark(data, strategies=DEFAULT_STRATEGIES, seeds=30, sequential=False, jobs=1,
                  progress=True, source=None, joint=False, temperatures=None):
    """Run the campaigns and return the figures as a JSON-able dictionary (plus curves).

    :param joint: also run joint campaigns over all temperatures at once (key ``joint``).
    :param temperatures: only the pools at these temperatures (K); all by default.
    """
    unknown = [name for name in strategies if name != RANDOM and name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {[RANDOM, *STRATEGIES]}")
    if RANDOM not in strategies:
        strategies = (RANDOM, *strategies)
    pools = _select(pools_from_data(data), temperatures)
    tasks = [(name, pool, seed) for name in strategies for pool in pools for seed in range(seeds)]
    results = list(_run(_independent, tasks, jobs, progress, "independent campaigns"))
    figures = {
        "data": str(source if source is not None else data.source),
        "seeds": seeds,
        "pool_size": {_key(pool.temperature): len(pool.y) for pool in pools},
        "strategies": _summarise(results, strategies, pools),
        "curves": _curves(results, strategies),
    }
    if sequential:
        tasks = [(name, pools, seed) for name in strategies for seed in range(seeds)]
        results = list(_run(_sequential, tasks, jobs, progress, "sequential campaigns"))
        figures["sequential"] = _summarise_sequential(results, strategies, pools)
    if joint:
        tasks = [(name, pools, seed) for name in strategies for seed in range(seeds)]
        results = list(_run(_joint, tasks, jobs, progress, "joint campaigns"))
        figures["joint"] = _summarise_joint(results, strategies, figures["strategies"][RANDOM])
    return figures


def _select(pools, temperatures):
    """The pools at ``temperatures`` (K, all when None); a temperature without a pool is an error."""
    if temperatures is None:
        return pools
    chosen = [pool for pool in pools if any(abs(pool.temperature - T) < 0.01 for T in temperatures)]
    missing = [T for T in temperatures if not any(abs(p.temperature - T) < 0.01 for p in pools)]
    if missing:
        raise ValueError(f"no data at {missing} K; the data have {[p.temperature for p in pools]} K")
    return chosen


def _key(temperature):
    return f"{temperature:.2f}"


def _summarise(results, strategies, pools):
    by = {(name, T): [] for name in strategies for T in (p.temperature for p in pools)}
    for name, T, to_best, to_near, _ in results:
        by[name, T].append((to_best, to_near))
    random_mean = {T: np.mean([b for b, _ in by[RANDOM, T]]) for T in (p.temperature for p in pools)}
    random_overall = np.mean(list(random_mean.values()))
    summary = {}
    for name in strategies:
        per_temperature = {}
        for pool in pools:
            runs = np.asarray(by[name, pool.temperature], dtype=float)
            mean_to_best = float(runs[:, 0].mean())
            per_temperature[_key(pool.temperature)] = {
                "mean_to_best": mean_to_best,
                "acceleration_to_best": float(random_mean[pool.temperature] / mean_to_best),
                "mean_to_within_5pct": float(runs[:, 1].mean()),
                "worst_to_best": int(runs[:, 0].max()),
            }
        mean_to_best = float(np.mean([v["mean_to_best"] for v in per_temperature.values()]))
        accelerations = [v["acceleration_to_best"] for v in per_temperature.values()]
        summary[name] = {
            "mean_to_best": mean_to_best,
            "acceleration_to_best": float(random_overall / mean_to_best),
            "min_acceleration_to_best": float(min(accelerations)),
            "mean_to_within_5pct": float(np.mean(
                [v["mean_to_within_5pct"] for v in per_temperature.values()])),
            "per_temperature": per_temperature,
        }
    return summary


def _curves(results, strategies):
    """Mean best-so-far (as a fraction of the best) after each measurement, per strategy."""
    return {name: np.mean([c for n, *_, c in results if n == name], axis=0).tolist()
            for name in strategies}


def _summarise_sequential(results, strategies, pools):
    totals = {name: [] for name in strategies}
    per_temperature = {name: [] for name in strategies}
    for name, counts in results:
        totals[name].append(sum(counts))
        per_temperature[name].append(counts)
    random_total = float(np.mean(totals[RANDOM]))
    return {
        name: {
            "total_to_best": float(np.mean(totals[name])),
            "acceleration": random_total / float(np.mean(totals[name])),
            "per_temperature": {_key(pool.temperature): float(value) for pool, value in
                                zip(pools, np.mean(per_temperature[name], axis=0))},
        }
        for name in strategies
    }


def _summarise_joint(results, strategies, independent_random):
    """Mean measurements to all best formulations, and the acceleration against random: the
    joint random campaigns run here (``acceleration``) and the sum of the independent random
    campaigns per temperature (``acceleration_vs_independent_random``, the issue's 429)."""
    totals = {name: [] for name in strategies}
    for name, total in results:
        totals[name].append(total)
    random_total = float(np.mean(totals[RANDOM]))
    independent_total = float(sum(T["mean_to_best"] for T in independent_random["per_temperature"].values()))
    return {
        name: {
            "total_to_best": float(np.mean(totals[name])),
            "acceleration": random_total / float(np.mean(totals[name])),
            "acceleration_vs_independent_random": independent_total / float(np.mean(totals[name])),
            "worst_total_to_best": int(max(totals[name])),
            "independent_random_total": independent_total,
        }
        for name in strategies
    }


def format_table(figures):
    """Measurements to the best formulation per strategy and temperature, and the acceleration."""
    temperatures = list(figures["pool_size"])
    header = f"{'strategy':22s}" + "".join(f"{float(T) - 273.15:>7.0f}" for T in temperatures)
    lines = ["measurements to the best formulation (mean over seeds), per temperature in °C",
             header + f"{'mean':>8s}{'accel':>7s}{'worst':>7s}"]
    for name, summary in figures["strategies"].items():
        cells = "".join(f"{summary['per_temperature'][T]['mean_to_best']:7.1f}" for T in temperatures)
        lines.append(f"{name:22s}{cells}{summary['mean_to_best']:8.1f}"
                     f"{summary['acceleration_to_best']:6.2f}x{summary['min_acceleration_to_best']:6.2f}x")
    sequential = figures.get("sequential", {})
    if sequential:
        lines.append("sequential campaigns, coldest first: measurements per temperature, total to all "
                     "ten best")
    for name, summary in sequential.items():
        cells = "".join(f"{summary['per_temperature'][T]:7.1f}" for T in temperatures)
        lines.append(f"{name:22s}{cells}{summary['total_to_best']:8.1f}{summary['acceleration']:6.2f}x")
    joint = figures.get("joint", {})
    if joint:
        lines.append("joint campaigns, all temperatures at once: measurements to all best (start "
                     "included), acceleration against joint random and against the independent "
                     f"random campaigns' sum ({joint[RANDOM]['independent_random_total']:.1f})")
    for name, summary in joint.items():
        lines.append(f"{name:22s}{summary['total_to_best']:8.1f}{summary['acceleration']:7.2f}x"
                     f"{summary['acceleration_vs_independent_random']:7.2f}x  worst "
                     f"{summary['worst_total_to_best']}")
    return "\n".join(lines)
