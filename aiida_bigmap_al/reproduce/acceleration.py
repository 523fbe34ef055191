"""D10.1 Figure 2: how much sooner than random does active learning find the best formulation?

The demonstrator reported an acceleration of "3x after 18 cycles, up to 5x" on the FZJ data. We
read it as the enhancement factor

    EF(n) = P(best found within n measurements) / (n / N),

the probability that a campaign has measured the best of N formulations after n measurements,
divided by that of random sampling (n / N exactly, in expectation). EF is at most N / n, so
with N = 85 EF(18) <= 4.7: "3x after 18" means a campaign finds the best within 18
measurements in 3 * 18 / 85 = 64 % of the runs.

Campaigns are those of :mod:`aiida_bigmap_al.benchmark`: per temperature, the pool is the
formulations with their mean conductivity, shuffled per seed, starting from one random
formulation; random sampling is run with the same seeds. P(n) is estimated over seeds per
temperature, and EF averaged over temperatures; its band is a bootstrap over seeds.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..benchmark import pools_from_data
from ..learning import RANDOM, STRATEGIES, pool_campaign
from ..space import fzj_space
from .common import celsius, mean_band, select_pools

__all__ = ["DEFAULT_STRATEGIES", "REPORTED", "run", "plot"]

DEFAULT_STRATEGIES = (RANDOM, "gp-exploit", "gp-landesfeind-ucb")

#: What D10.1 reported (its Figure 2).
REPORTED = {"n": 18, "ef_at_n": 3.0, "max_ef": 5.0}

BOOTSTRAP = 200


def _campaign(task):
    """Measurements until the best, and the best-so-far (fraction of the best) after each."""
    name, pool, seed = task
    pool = pool.shuffled(seed)
    space = fzj_space()
    strategy = RANDOM if name == RANDOM else STRATEGIES[name]
    order = pool_campaign(pool.X, pool.y, strategy, seed, space.bounds, space.names,
                          conditions={"temperature": pool.temperature}, stop_at=pool.best)
    curve = np.ones(len(pool.y))
    curve[: len(order)] = np.maximum.accumulate(pool.y[order]) / pool.y.max()
    return name, pool.temperature, seed, len(order), curve


def _map(tasks, jobs, progress):
    from tqdm import tqdm

    with tqdm(total=len(tasks), desc="campaigns", unit="campaign", disable=not progress) as bar:
        if jobs <= 1:
            results = []
            for task in tasks:
                results.append(_campaign(task))
                bar.update()
            return results
        with ProcessPoolExecutor(max_workers=jobs) as executor:
            results = []
            for result in executor.map(_campaign, tasks, chunksize=1):
                results.append(result)
                bar.update()
            return results


def run(data, strategies=DEFAULT_STRATEGIES, seeds=30, temperatures_c=None, jobs=1, progress=True):
    """Run the campaigns and return EF(n) and best-so-far curves per strategy (JSON-able)."""
    unknown = [name for name in strategies if name != RANDOM and name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {[RANDOM, *STRATEGIES]}")
    strategies = tuple(dict.fromkeys((RANDOM, *strategies)))
    pools = select_pools(pools_from_data(data), temperatures_c)
    tasks = [(name, pool, seed) for name in strategies for pool in pools for seed in range(seeds)]
    results = _map(tasks, jobs, progress)
    n_max = max(len(pool.y) for pool in pools)
    figures = {"data": str(data.source), "seeds": seeds,
               "temperatures_C": [celsius(pool.temperature) for pool in pools],
               "pool_size": {f"{celsius(p.temperature):g}": len(p.y) for p in pools},
               "reported": REPORTED, "ef": {}, "best_so_far": {}, "summary": {}}
    for name in strategies:
        mine = [r for r in results if r[0] == name]
        ef, low, high = _enhancement(mine, pools, seeds, n_max)
        curves = np.array([np.pad(c, (0, n_max - len(c)), constant_values=1.0) for *_, c in mine])
        mean, half = mean_band(curves)
        n = np.arange(1, n_max + 1)
        figures["ef"][name] = {"n": n.tolist(), "ef": ef.tolist(), "low": low.tolist(),
                               "high": high.tolist()}
        figures["best_so_far"][name] = {"n": n.tolist(), "mean": mean.tolist(),
                                        "low": (mean - half).tolist(), "high": (mean + half).tolist()}
        k = REPORTED["n"] - 1
        figures["summary"][name] = {
            "mean_to_best": float(np.mean([r[3] for r in mine])),
            f"ef_at_{REPORTED['n']}": float(ef[k]), f"ef_at_{REPORTED['n']}_band": [float(low[k]), float(high[k])],
            "max_ef": float(ef.max()), "n_at_max_ef": int(np.argmax(ef)) + 1}
    return figures


def _enhancement(results, pools, seeds, n_max):
    """EF(n), n = 1..n_max, averaged over temperatures, and its 95 % bootstrap band over seeds."""
    n = np.arange(1, n_max + 1)
    found = {T: np.zeros((seeds, n_max)) for T in (p.temperature for p in pools)}
    for _, T, seed, to_best, _ in results:
        found[T][seed] = n >= to_best
    sizes = {p.temperature: len(p.y) for p in pools}

    def ef_of(picks):
        return np.mean([found[T][picks].mean(axis=0) / np.minimum(n / sizes[T], 1.0) for T in found], axis=0)

    rng = np.random.default_rng(0)
    boot = np.array([ef_of(rng.integers(seeds, size=seeds)) for _ in range(BOOTSTRAP)])
    return ef_of(np.arange(seeds)), np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0)


def plot(figures, path):
    """Best-so-far curves (left) and EF(n) (right), with 95 % bands, D10.1's figure marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for name, curve in figures["best_so_far"].items():
        style = "--" if name == RANDOM else "-"
        [line] = left.plot(curve["n"], curve["mean"], style, label=name)
        left.fill_between(curve["n"], curve["low"], curve["high"], color=line.get_color(), alpha=0.2)
        ef = figures["ef"][name]
        right.plot(ef["n"], ef["ef"], style, color=line.get_color(), label=name)
        right.fill_between(ef["n"], ef["low"], ef["high"], color=line.get_color(), alpha=0.2)
    reported = figures["reported"]
    right.plot([reported["n"]], [reported["ef_at_n"]], "k*", markersize=12, label="D10.1: 3x after 18")
    right.axhline(reported["max_ef"], color="grey", linestyle=":", label="D10.1: up to 5x")
    n = np.asarray(figures["ef"][RANDOM]["n"], dtype=float)
    right.plot(n, max(figures["pool_size"].values()) / n, color="lightgrey", linewidth=1,
               label="largest possible, N / n")
    left.set(xlabel="measurements", ylabel="best measured / best in pool", xlim=(1, 60),
             title=f"Best so far ({figures['seeds']} seeds x {len(figures['temperatures_C'])} "
                   f"temperatures, 95 % band)")
    right.set(xlabel="measurements n", ylabel="EF(n) = P(best within n) / (n / N)", xlim=(1, 60),
              ylim=(0, 6), title="Enhancement factor against random")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
