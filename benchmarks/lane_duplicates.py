"""Points measured twice by lanes on a two-worker daemon: the campaign ledger's claim, end to end.

Parallel instruments are only worth their cost if no two of them measure the same point. With
two daemon workers, two lanes can run their learner at the same moment; a lane that registered
its suggestion without checking what the other lanes registered meanwhile measured the same
point twice (3 of the 6 model-chosen points of ``examples/campaigns/simulation_lanes.yaml``).
This benchmark runs, as a user would:

* ``examples/campaigns/simulation_lanes.yaml`` (two simulator lanes, budget 8), and the same
  file with four lanes, for seeds 0 .. ``--seeds``-1 each;
* on a new profile in a temporary ``AIIDA_PATH``: the embedded one (SQLite + ZeroMQ), or with
  ``--storage postgresql`` PostgreSQL (a new database, dropped afterwards) + RabbitMQ on 127.0.0.1;
* submitted one after the other to a daemon with ``--workers`` workers (default 2).

Per campaign it counts the measurements launched by the lanes (every ``SimulationCalcJob``),
the distinct points among them (``duplicates`` = measurements - distinct points), and the
successful measurements against the budget (``over`` if above it, ``short`` if below).

The process that starts the worker and the daemon imports no AiiDA; whatever happens it stops
the daemon and deletes the temporary folder (and database). From the repository root::

    .venv/bin/python benchmarks/lane_duplicates.py --seeds 10 [--storage postgresql] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys
import time

import yaml

from supervision import FIGURES, postgresql_rabbitmq_profile, supervise, verdi, worker_plan

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = REPOSITORY / "examples" / "campaigns" / "simulation_lanes.yaml"
#: What a lane reports when another lane claimed its point first (see workchains.lane).
REFUSED = "another lane claimed the same point"


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="Seeds 0 .. N-1 per campaign file (default 10).")
    parser.add_argument("--lanes", type=int, nargs="+", default=[2, 4],
                        help="Lanes of the campaigns: 2 is the shipped example, more add simulator lanes "
                             "(default 2 4).")
    parser.add_argument("--workers", type=int, default=2, help="Daemon workers (default 2).")
    parser.add_argument("--storage", choices=("sqlite", "postgresql"), default="sqlite",
                        help="Embedded profile (SQLite + ZeroMQ, default) or PostgreSQL + RabbitMQ on 127.0.0.1.")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="Seconds the whole benchmark may take; then everything is stopped (default 3600).")
    parser.add_argument("--json", dest="json_path", type=pathlib.Path, help="Write the figures to this JSON file.")
    parser.add_argument("--worker-dir", type=pathlib.Path, help=argparse.SUPPRESS)  # set by the supervisor
    arguments = parser.parse_args(argv)
    for name in ("seeds", "workers"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(arguments, name)}")
    if any(n < 1 for n in arguments.lanes):
        parser.error(f"--lanes must be positive, got {arguments.lanes}")
    return arguments


# --- the supervisor: imports no AiiDA ----------------------------------------------------------


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    arguments = parse_arguments(argv)
    if arguments.worker_dir is not None:
        return worker(arguments)
    try:
        figures = supervise(pathlib.Path(__file__).resolve(), argv, arguments.storage, arguments.timeout)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the worker and the daemon are stopped", file=sys.stderr)
        return 130
    print(report(figures))
    if arguments.json_path is not None:
        arguments.json_path.write_text(json.dumps(figures, indent=2))
        print(f"figures: {arguments.json_path}")
    return 0


def report(figures: dict) -> str:
    """One line per campaign file, and the totals the target is about."""
    settings = figures["settings"]
    lines = [f"{settings['example']}, seeds 0-{settings['seeds'] - 1}, daemon with {settings['workers']} "
             f"workers, storage {settings['storage']}",
             f"{'lanes':>5s}{'campaigns':>10s}{'budget':>7s}{'measured':>9s}{'duplicates':>11s}"
             f"{'with dup.':>10s}{'over':>5s}{'short':>6s}{'failed':>7s}{'refused':>8s}{'mean s':>7s}"]
    for lanes, runs in figures["campaigns"].items():
        lines.append(f"{lanes:>5s}{len(runs):10d}{runs[0]['budget']:7d}"
                     f"{sum(r['measured'] for r in runs):9d}{sum(r['duplicates'] for r in runs):11d}"
                     f"{sum(r['duplicates'] > 0 for r in runs):10d}{sum(r['measured'] > r['budget'] for r in runs):5d}"
                     f"{max(r['budget'] - r['measured'] for r in runs):6d}{sum(r['failed'] for r in runs):7d}"
                     f"{sum(r.get('refused_claims', 0) for r in runs):8d}"
                     f"{sum(r['wall_s'] for r in runs) / len(runs):7.1f}")
    lines.append("measured: successful measurements over all seeds; duplicates: measurements of a point "
                 "already measured or being measured; with dup.: campaigns with any; over: campaigns above "
                 "the budget; short: the most any campaign stayed below it; refused: claims refused because another lane had "
                 "claimed the same point (the lane then suggested again)")
    return "\n".join(lines)


# --- the worker: everything that imports AiiDA --------------------------------------------------


def worker(arguments) -> int:
    database = worker_plan(arguments.worker_dir)["database"]
    if database is not None:
        postgresql_rabbitmq_profile(arguments.worker_dir, database)
    from aiida_bigmap_al import profile

    profile.setup()
    verdi(arguments.worker_dir, "daemon", "start", str(arguments.workers), "--timeout", "60")
    try:
        campaigns = {str(n): [campaign(arguments, n, seed) for seed in range(arguments.seeds)]
                     for n in arguments.lanes}
    finally:
        verdi(arguments.worker_dir, "daemon", "stop", "--timeout", "60")
    settings = {"example": str(EXAMPLE.relative_to(REPOSITORY)), "seeds": arguments.seeds,
                "workers": arguments.workers, "storage": arguments.storage}
    (arguments.worker_dir / FIGURES).write_text(json.dumps({"settings": settings, "campaigns": campaigns}))
    return 0


def campaign_file(worker_dir: pathlib.Path, lanes: int, seed: int) -> pathlib.Path:
    """The shipped example with ``lanes`` simulator lanes and this seed."""
    spec = yaml.safe_load(EXAMPLE.read_text())
    code = next(iter(spec["methods"]["instruments"].values()))
    spec["methods"]["instruments"] = {f"lane_{chr(ord('a') + i)}": code for i in range(lanes)}
    spec["seed"] = seed
    path = worker_dir / f"lanes_{lanes}_seed_{seed}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def campaign(arguments, lanes: int, seed: int) -> dict:
    """Submit one campaign, wait for it, and count what its lanes measured."""
    from aiida import orm
    from aiida.engine import submit

    from aiida_bigmap_al.campaign_spec import load_spec
    from aiida_bigmap_al.workchains import ActiveLearningWorkChain

    spec = load_spec(campaign_file(arguments.worker_dir, lanes, seed))
    start = time.monotonic()
    node = submit(ActiveLearningWorkChain, **spec.inputs())
    while not node.is_terminated:
        time.sleep(1)
    wall = time.monotonic() - start
    if node.is_excepted or node.is_killed:  # its figures would mean nothing
        raise RuntimeError(f"campaign {node.pk} ({lanes} lanes, seed {seed}) {node.process_state.value}: "
                           f"{node.exception}")
    lane_nodes = [call for call in node.called if call.process_label == "InstrumentLaneWorkChain"]
    jobs = [job for lane in lane_nodes for job in lane.called if job.process_label == "SimulationCalcJob"]
    logs = [log for lane in lane_nodes for log in orm.Log.collection.get_logs_for(lane)]
    refused = sum(REFUSED in log.message for log in logs)
    points = collections.Counter(_point(job.inputs.suggestion) for job in jobs)
    figures = {"seed": seed, "pk": node.pk, "exit_status": node.exit_status, "budget": spec.budget,
               "launched": len(jobs), "measured": sum(job.is_finished_ok for job in jobs),
               "failed": sum(not job.is_finished_ok for job in jobs),
               "duplicates": len(jobs) - len(points), "refused_claims": refused, "wall_s": round(wall, 1)}
    print(f"{lanes} lanes, seed {seed}: {json.dumps(figures)}", flush=True)
    return figures


def _point(suggestion) -> tuple:
    """A suggestion's point, to the rounding the ledger's tolerance allows (exact for candidates)."""
    document = suggestion.get_dict()
    return (*(round(value, 9) for _, value in sorted(document["variables"].items())),
            round(document["temperature"]["value"], 6))


if __name__ == "__main__":
    sys.exit(main())
