"""Wall time of one campaign on 1, 2, 4 ... emulated instruments sharing one learner.

The issue's speed target: with experiments of fixed duration, long against the learner (20 s
here), a campaign of M measurements on 2 instruments is at least 1.9x faster than on 1, and on 4
at least 3.6x. This benchmark measures it end to end over the real bridge:

* one instrument server per instrument (``bigmap-al instrument serve``, a process of its own on
  127.0.0.1 with its own data directory and port, like a lab PC per rig), serving the example
  conductivity rig with emulated devices behind real serial links, whose ``conductivity``
  method gets an extra step that waits ``--duration`` wall-clock seconds (the other, emulated
  steps run at 1/1000 of device time), so every measurement takes the same time;
* each server registered in a new embedded profile (SQLite + ZeroMQ) in a temporary
  ``AIIDA_PATH``, as the computer and code ``bench_rig_<i>-experiment@bench_rig_<i>``; with
  ``--storage postgresql`` the profile is the scale-up one instead, PostgreSQL storage in a new
  database (dropped afterwards) and the RabbitMQ broker, both on 127.0.0.1;
* the same ``ActiveLearningWorkChain`` (same budget, seed, strategy and candidates) with
  ``methods.instruments`` = the first n instruments, for each n of ``--instruments``: one lane
  per instrument keeps it busy, all lanes share one learner.

Wall time runs from the submission of the campaign to its end; speed-up[n] = wall[1] / wall[n].
Beside it, the servers' own job records (created, started, finished) show where the rest of the
time goes: the start (campaign submitted -> first experiment running), the gaps on each
instrument between one experiment's end and the next one's start (poll, retrieve, parse, fit,
suggest, upload, submit), and the tail (last experiment done -> campaign finished).

The campaigns are submitted to a daemon (``verdi daemon start W``, W = ``--workers``, by default
one per instrument of the largest campaign), as a lab would run them: one lane's learner work
(record, fit, suggest, upload) can run while another lane's does. An untimed warm-up campaign of
one experiment per instrument comes first, so that every worker has imported the project's code
and opened its first connections, as in a lab whose daemon is already running; the timed
campaigns then run from the largest number of instruments down, so that whatever warming up is
left is charged to the parallel campaigns, never to the baseline. ``--engine run`` runs them in
the benchmark's worker process instead (``run_get_node``): all lanes share one event loop, and
when several experiments end together their learner work queues up.

The process that starts the servers, the worker and the daemon imports no AiiDA; whatever
happens (an error, ``--timeout``, Ctrl-C, SIGTERM) it stops them all and deletes the temporary
folder. Run it from the repository root::

    .venv/bin/python benchmarks/parallel_instruments.py --instruments 1 2 4 --json parallel.json
    .venv/bin/python benchmarks/parallel_instruments.py --duration 3 --budget 4   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pathlib
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone

from supervision import (create_database, drop_database, end_process, environment, exit_on_sigterm,
                         postgresql_rabbitmq_profile, stop_daemon, verdi)

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
VENV_PYTHON = REPOSITORY / ".venv" / "bin" / "python"
EXAMPLE_RIG = REPOSITORY / "examples" / "rigs" / "conductivity_rig.yaml"
#: Speed-up each number of instruments must reach (the issue's targets).
TARGETS = {2: 1.9, 4: 3.6}
#: Environment variable through which the servers get their token.
TOKEN_ENV = "BIGMAP_BENCH_TOKEN"
#: Files in the temporary folder.
PLAN, FIGURES, TOKEN_FILE = "plan.json", "figures.json", "rig.token"
#: Device time of the emulated steps runs this much faster than wall time.
DEVICE_TIME_SCALE = 0.001
#: Name of the step that makes an experiment last ``--duration`` seconds.
FIXED_STEP = "experiment"
TEMPERATURE = 298.15


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instruments", type=int, nargs="+", default=[1, 2, 4],
                        help="Numbers of instruments to run the campaign on; must include 1 (default 1 2 4).")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="Wall-clock seconds of every experiment's fixed step (default 20).")
    parser.add_argument("--budget", type=int, default=8, help="Measurements per campaign, M (default 8).")
    parser.add_argument("--strategy", default="gp-ucb",
                        help="Strategy of `bigmap-al benchmark --list` (default gp-ucb).")
    parser.add_argument("--n-candidates", type=int, default=256, help="Sobol candidates (default 256).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the campaign (default 0).")
    parser.add_argument("--poll-interval", type=float, default=0.5,
                        help="Seconds between polls of an instrument's queue (computer setting, default 0.5).")
    parser.add_argument("--safe-interval", type=float, default=0.0,
                        help="Transport cool-down between connections to an instrument (s, default 0).")
    parser.add_argument("--runner-poll", type=float, default=0.1,
                        help="With --engine run: seconds between the local runner's checks whether a "
                             "child process finished (default 0.1).")
    parser.add_argument("--engine", choices=("daemon", "run"), default="daemon",
                        help="Submit the campaigns to a daemon (default) or run them in the worker process.")
    parser.add_argument("--storage", choices=("sqlite", "postgresql"), default="sqlite",
                        help="The profile: embedded (SQLite + ZeroMQ, default) or PostgreSQL + RabbitMQ "
                             "on 127.0.0.1 (the scale-up path).")
    parser.add_argument("--workers", type=int,
                        help="Daemon workers (default: the largest number of --instruments).")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="Seconds the whole benchmark may take; then everything is stopped (default 1800).")
    parser.add_argument("--json", dest="json_path", type=pathlib.Path, help="Write the figures to this JSON file.")
    parser.add_argument("--check", action="store_true",
                        help="Exit with status 1 when a speed-up target (2: 1.9x, 4: 3.6x) is missed.")
    parser.add_argument("--worker-dir", type=pathlib.Path, help=argparse.SUPPRESS)  # set by the supervisor
    arguments = parser.parse_args(argv)
    problems = validation_problems(arguments)
    if problems:
        parser.error("; ".join(problems))
    arguments.instruments = sorted(set(arguments.instruments))
    arguments.workers = arguments.workers or max(arguments.instruments)
    return arguments


def validation_problems(arguments) -> list[str]:
    """What is wrong with the options, each naming the option."""
    counts = arguments.instruments
    problems = []
    if 1 not in counts:
        problems.append("--instruments must include 1, the baseline of the speed-up")
    if any(n < 1 for n in counts):
        problems.append(f"--instruments must be positive, got {counts}")
    if arguments.budget < max(counts):
        problems.append(f"--budget ({arguments.budget}) must be at least the largest number of instruments "
                        f"({max(counts)}): every instrument starts with one point of the initial design")
    for name in ("duration", "poll_interval", "runner_poll", "timeout"):
        if not getattr(arguments, name) > 0:
            problems.append(f"--{name.replace('_', '-')} must be > 0, got {getattr(arguments, name)}")
    if arguments.safe_interval < 0:
        problems.append(f"--safe-interval must be >= 0, got {arguments.safe_interval}")
    if arguments.n_candidates < arguments.budget:
        problems.append(f"--n-candidates ({arguments.n_candidates}) must be at least --budget ({arguments.budget})")
    if arguments.workers is not None and arguments.workers < 1:
        problems.append(f"--workers must be at least 1, got {arguments.workers}")
    return problems


# --- the supervisor: servers, worker, clean-up; imports no AiiDA ------------------------------------


def main(argv=None) -> int:
    """Start the servers and a worker in a temporary ``AIIDA_PATH``; stop everything whatever happens.

    The supervisor never imports AiiDA: cleaning up in the process that runs AiiDA is not
    reliable, because a signal handler's exception can land in a garbage-collector callback,
    where Python ignores it.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    reexec_in_venv(argv)
    arguments = parse_arguments(argv)
    if arguments.worker_dir is not None:
        return worker(arguments)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    deadline = time.monotonic() + arguments.timeout
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bigmap-al-parallel-"))
    servers, child, database = [], None, None
    try:
        token = write_token(workdir)
        servers = start_servers(workdir, max(arguments.instruments), arguments.duration, token, deadline)
        if arguments.storage == "postgresql":
            database = create_database()
        (workdir / PLAN).write_text(json.dumps({"servers": [server.url for server in servers],
                                                "database": database}))
        child = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).resolve()), *argv,
                                  "--worker-dir", str(workdir)], env=environment(workdir))
        status = child.wait(timeout=max(deadline - time.monotonic(), 1))
        if status != 0:
            print(f"the benchmark failed (worker exit status {status}); server logs follow", file=sys.stderr)
            print_logs(servers)
            return 2
        figures = json.loads((workdir / FIGURES).read_text())
    except subprocess.TimeoutExpired:
        print(f"the benchmark did not finish within --timeout {arguments.timeout:g} s; stopped", file=sys.stderr)
        return 2
    except ServerError as error:
        print(f"an instrument server did not start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: stopping the worker, the daemon and the servers", file=sys.stderr)
        return 130
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):  # let nothing cut the clean-up short
            signal.signal(number, signal.SIG_IGN)
        end_process(child)
        stop_daemon(workdir)
        for server in servers:
            server.stop()
        if database is not None:
            drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)
    return finish(figures, arguments)


def reexec_in_venv(argv) -> None:
    """Run under the project's ``.venv`` Python (which has AiiDA) when started by another one."""
    if VENV_PYTHON.exists() and pathlib.Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(pathlib.Path(__file__).resolve()), *argv])


def write_token(workdir: pathlib.Path) -> str:
    """A fresh token, in a file only this user can read (the AiiDA side reads it from there)."""
    token = secrets.token_urlsafe(24)
    path = workdir / TOKEN_FILE
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


class ServerError(RuntimeError):
    """An instrument server process did not come up."""


class ServerProcess:
    """``bigmap-al instrument serve CONFIG --port N`` of one emulated rig, in a process of its own."""

    def __init__(self, config: pathlib.Path, port: int, token: str, workdir: pathlib.Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log = config.with_suffix(".log")
        command = [str(pathlib.Path(sys.executable).parent / "bigmap-al"), "instrument", "serve", str(config),
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env={**environment(workdir), TOKEN_ENV: token})

    def wait_ready(self, deadline: float) -> bool:
        """True once ``/health`` answers; False if the process ended (e.g. its port was taken)."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return True
            time.sleep(0.1)
        raise ServerError(f"{self.url} did not answer /health in time; log: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        end_process(self.process)


def start_servers(workdir, count: int, duration: float, token: str, deadline: float) -> list[ServerProcess]:
    """``count`` servers, each on a free port of 127.0.0.1, with its own rig file and data directory."""
    servers = []
    try:
        for index in range(1, count + 1):
            config = write_rig(workdir, index, duration)
            for _attempt in range(5):  # a free port can be taken by someone else before the server binds it
                server = ServerProcess(config, free_port(), token, workdir)
                if server.wait_ready(min(deadline, time.monotonic() + 120)):
                    break
                server.stop()
            else:
                raise ServerError(f"rig {index} exited at start; log: {server.log.read_text()[-2000:]}")
            servers.append(server)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_rig(workdir: pathlib.Path, index: int, duration: float) -> pathlib.Path:
    """The example conductivity rig with a fixed-duration step, as ``rig-<index>.yaml`` in ``workdir``.

    Every device is emulated and made fast (the emulated steps take well under a second); the
    step ``experiment`` (action ``wait``) before ``measure`` makes every measurement last
    ``duration`` wall-clock seconds more, so the experiment's time is fixed and known.
    """
    import yaml  # in the project's environment (the supervisor runs there, see reexec_in_venv)

    raw = yaml.safe_load(EXAMPLE_RIG.read_text())
    raw.update(instrument=f"bench_rig_{index}", token_env=TOKEN_ENV, data_dir=str(workdir / f"rig-{index}"),
               base_dir=str(EXAMPLE_RIG.parent), host="127.0.0.1")
    for offset, device in enumerate(raw["devices"].values()):
        device["time_scale"] = DEVICE_TIME_SCALE
        device["timeout"] = 2.0
        device["emulator"]["seed"] = 100 * index + offset
    steps = raw["methods"]["conductivity"]["steps"]
    measure = next(i for i, step in enumerate(steps) if step["action"] == "measure_conductivity")
    steps.insert(measure, {"name": FIXED_STEP, "action": "wait", "params": {"seconds": duration}})
    path = workdir / f"rig-{index}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def print_logs(servers) -> None:
    for server in servers:
        with contextlib.suppress(OSError):
            print(f"--- {server.log.name} ---\n{server.log.read_text()[-3000:]}", file=sys.stderr)


def finish(figures: dict, arguments) -> int:
    """Print the table and the JSON, write the JSON file; exit status 1 only with ``--check`` and a miss."""
    print(report(figures))
    print(json.dumps({"wall_s": figures["wall_s"], "speedup": figures["speedup"]}))
    if arguments.json_path is not None:
        arguments.json_path.write_text(json.dumps(figures, indent=2))
        print(f"figures: {arguments.json_path}")
    missed = [n for n, target in figures["targets"].items() if not target["met"]]
    return 1 if arguments.check and missed else 0


def report(figures: dict) -> str:
    """The table: wall time, speed-up and where the time went, per number of instruments."""
    settings = figures["settings"]
    lines = [f"campaign of {settings['budget']} measurements of {settings['duration_s']:g} s each "
             f"({settings['strategy']}, {settings['n_candidates']} candidates, seed {settings['seed']}, "
             f"poll every {settings['poll_interval_s']:g} s), engine: {settings['engine']}, "
             f"storage: {settings['storage']}; untimed warm-up campaign first ({figures['warmup_wall_s']:.1f} s)",
             f"{'n':>3s}{'wall s':>9s}{'speedup':>9s}{'ideal s':>9s}{'start s':>9s}{'gap s':>8s}"
             f"{'tail s':>8s}{'exp s':>8s}{'busy':>7s}  measurements per instrument"]
    for n, c in figures["campaigns"].items():
        speedup = figures["speedup"].get(n)
        lines.append(f"{n:>3s}{c['wall_s']:9.1f}{(f'{speedup:.2f}x' if speedup else '-'):>9s}{c['ideal_s']:9.1f}"
                     f"{c['start_s']:9.2f}{c['median_gap_s']:8.2f}{c['tail_s']:8.2f}{c['median_experiment_s']:8.2f}"
                     f"{c['utilization']:7.0%}  {' '.join(str(i['experiments']) for i in c['instruments'].values())}")
    names = list(next(iter(figures["campaigns"].values()))["phases_s"])
    lines.append("median s per measurement:" + "".join(f"{name:>{len(name) + 2}s}" for name in names))
    for n, c in figures["campaigns"].items():
        lines.append(f"{n:>24s}:" + "".join(f"{_seconds(c['phases_s'][name]):>{len(name) + 2}s}" for name in names))
    for n, target in figures["targets"].items():
        lines.append(f"target {n} instruments: >= {target['min']}x, got {target['speedup']:.2f}x: "
                     f"{'met' if target['met'] else 'NOT met'}")
    lines.append("ideal: rounds of experiments x median experiment; start: submission -> first experiment "
                 "running; gap: median idle time of an instrument between experiments; tail: last experiment "
                 "done -> campaign finished; busy: instrument time used / (n x wall)")
    return "\n".join(lines)


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.2f}"


# --- the worker: everything that imports AiiDA ----------------------------------------------------


def worker(arguments) -> int:
    """Register the servers and run the campaigns in ``--worker-dir`` (the supervisor's ``AIIDA_PATH``)."""
    if pathlib.Path(os.environ.get("AIIDA_PATH", "")).resolve() != arguments.worker_dir.resolve():
        raise SystemExit("--worker-dir is set by the benchmark itself; run the script without it")
    plan = json.loads((arguments.worker_dir / PLAN).read_text())
    figures = benchmark(arguments, plan["servers"], plan["database"])
    (arguments.worker_dir / FIGURES).write_text(json.dumps(figures))
    return 0


def benchmark(arguments, urls: list[str], database: str | None) -> dict:
    """The campaign on each number of instruments, on a new profile (embedded, or on ``database``)."""
    from aiida.manage.configuration import load_profile

    from aiida_bigmap_al.profile import ensure_embedded_profile

    if database is None:
        load_profile(ensure_embedded_profile().name, allow_switch=True)
    else:
        load_profile(postgresql_rabbitmq_profile(arguments.worker_dir, database), allow_switch=True)
    codes = register_instruments(arguments, urls)
    if arguments.engine == "daemon":
        verdi(arguments.worker_dir, "daemon", "start", str(arguments.workers), "--timeout", "60")
    campaigns = {}
    try:
        warmup = campaign(arguments, codes, urls, budget=len(codes))
        print(f"warm-up, {len(codes)} instrument(s), {len(codes)} experiment(s): {warmup['wall_s']:.1f} s", flush=True)
        for n in sorted(arguments.instruments, reverse=True):  # warm-up costs go to the parallel runs
            campaigns[str(n)] = campaign(arguments, dict(list(codes.items())[:n]), urls[:n], arguments.budget)
            print(f"{n} instrument(s): {campaigns[str(n)]['wall_s']:.1f} s", flush=True)
        campaigns = {str(n): campaigns[str(n)] for n in arguments.instruments}
    finally:
        if arguments.engine == "daemon":
            try:
                verdi(arguments.worker_dir, "daemon", "stop", "--timeout", "60")
            except subprocess.SubprocessError as error:  # the supervisor ends it by its pid file
                print(f"warning: {error}", file=sys.stderr)
    return {**summarize(arguments, campaigns), "warmup_wall_s": warmup["wall_s"]}


def register_instruments(arguments, urls: list[str]) -> dict:
    """The computer and code of each server, as ``bench_rig_<i>``; checked to answer.

    The names are port names of ``methods.instruments``, so letters, digits and underscores only.
    """
    from aiida_bigmap_al.instrument_bridge.register import register

    codes = {}
    for index, url in enumerate(urls, start=1):
        registration = register(f"bench_rig_{index}", url, token_file=arguments.worker_dir / TOKEN_FILE,
                                poll_interval=arguments.poll_interval, safe_interval=arguments.safe_interval)
        check = registration.steps[-1]
        if check.action != "reachable":
            raise RuntimeError(f"instrument {url} is not usable: {check.detail}")
        codes[f"bench_rig_{index}"] = registration.code
    return codes


def campaign_inputs(arguments, codes: dict, budget: int) -> dict:
    """The campaign: same space, strategy, budget, seed and candidates whatever the instruments."""
    from aiida import orm

    from aiida_bigmap_al.learning import STRATEGIES
    from aiida_bigmap_al.space import fzj_space

    if arguments.strategy not in STRATEGIES:
        raise SystemExit(f"unknown --strategy {arguments.strategy!r}; choose one of {sorted(STRATEGIES)}")
    return {
        "space": orm.Dict(fzj_space(temperatures=[TEMPERATURE]).to_dict()),
        "strategy": orm.Dict(STRATEGIES[arguments.strategy].model_dump(mode="json")),
        "budget": orm.Int(budget),
        "seed": orm.Int(arguments.seed),
        "n_candidates": orm.Int(arguments.n_candidates),
        "methods": {"instruments": codes},
    }


def campaign(arguments, codes: dict, urls: list[str], budget: int) -> dict:
    """Run the campaign on these instruments; its wall time and what the servers say about their jobs."""
    inputs = campaign_inputs(arguments, codes, budget)
    began = datetime.now(timezone.utc)
    node, wall = (run_in_process if arguments.engine == "run" else run_on_daemon)(arguments, inputs)
    if not node.is_finished_ok:
        raise RuntimeError(f"campaign {node.pk} on {len(codes)} instrument(s) failed: "
                           f"[{node.exit_status}] {node.exit_message}")
    rows = node.outputs.dataset["rows"]
    if len(rows) != budget:
        raise RuntimeError(f"campaign {node.pk} measured {len(rows)} points, not the budget {budget}")
    jobs = {name: server_jobs(arguments, url, began) for name, url in zip(codes, urls)}
    return {**timeline(node, wall, began, jobs, budget, len(codes)), "phases_s": phases(node, jobs)}


def run_in_process(arguments, inputs: dict):
    """``run_get_node`` on a local runner that checks every ``--runner-poll`` s whether a child finished.

    A local runner has no broker to hear that a child process finished: it polls, every
    ``runner.poll.interval`` seconds (an integer option, 1 s in the embedded profile), so every
    lane waiting for its experiment and the campaign waiting for its lanes would lose half a
    second on average. The runner itself takes any interval.
    """
    from aiida.manage import get_manager

    from aiida_bigmap_al.workchains import ActiveLearningWorkChain

    runner = get_manager().create_runner(communicator=None, poll_interval=arguments.runner_poll)
    try:
        start = time.perf_counter()
        _, node = runner.run_get_node(ActiveLearningWorkChain, **inputs)
        return node, time.perf_counter() - start
    finally:
        runner.close()


def run_on_daemon(arguments, inputs: dict):
    """Submit the campaign; its wall time runs from just before ``submit`` to the node's last change.

    The node is sealed (its last change) when the campaign terminates, so the figure does not
    depend on how often this process looks, and looking only twice a second takes next to no CPU
    from the daemon's workers.
    """
    from aiida import orm
    from aiida.engine import submit

    from aiida_bigmap_al.workchains import ActiveLearningWorkChain

    submitted, start = datetime.now(timezone.utc), time.monotonic()
    pk = submit(ActiveLearningWorkChain, **inputs).pk
    while not (node := orm.load_node(pk)).is_terminated:
        if time.monotonic() - start > arguments.timeout:
            raise TimeoutError(f"the daemon's campaign {pk} did not finish in {arguments.timeout} s")
        time.sleep(0.5)
    return node, (node.mtime - submitted).total_seconds()


def server_jobs(arguments, url: str, since: datetime) -> list[dict]:
    """The server's jobs created since ``since``, in submission order."""
    from aiida_bigmap_al.instrument_bridge.client import InstrumentClient, load_token

    with InstrumentClient(url, load_token(token_file=arguments.worker_dir / TOKEN_FILE)) as client:
        return [job for job in client.jobs() if datetime.fromisoformat(job["created"]) >= since]


def timeline(node, wall: float, began: datetime, jobs: dict, budget: int, n: int) -> dict:
    """Where the campaign's time went, from the servers' job records (same clock as this process).

    ``jobs``: each instrument's jobs of this campaign, by instrument name.
    """
    ended = node.mtime.astimezone(timezone.utc)
    at = lambda stamp: (datetime.fromisoformat(stamp) - began).total_seconds()  # noqa: E731
    instruments, gaps, durations, starts, ends = {}, [], [], [], []
    for name, records in jobs.items():
        runs = [(at(job["started"]), at(job["finished"])) for job in records if job["started"] and job["finished"]]
        durations += [end - start for start, end in runs]
        gaps += [later[0] - earlier[1] for earlier, later in zip(runs, runs[1:])]
        starts += [start for start, _ in runs[:1]]
        ends += [end for _, end in runs[-1:]]
        instruments[name] = {"experiments": len(records), "states": sorted({job["state"] for job in records}),
                            "busy_s": sum(end - start for start, end in runs), "runs_s": runs}
    median_experiment = statistics.median(durations)
    return {
        "pk": node.pk, "wall_s": wall, "measurements": budget,
        "ideal_s": math.ceil(budget / n) * median_experiment,
        "median_experiment_s": median_experiment,
        "start_s": min(starts), "tail_s": (ended - began).total_seconds() - max(ends),
        "median_gap_s": statistics.median(gaps) if gaps else 0.0, "max_gap_s": max(gaps, default=0.0),
        "utilization": sum(i["busy_s"] for i in instruments.values()) / (n * wall),
        "instruments": instruments,
    }


#: Calcfunctions of a lane between one measurement and the next (its learner's work).
LEARNER_STEPS = ("assemble_dataset", "fit_model", "suggest")


def phases(node, jobs: dict) -> dict:
    """Median seconds of each phase of a measurement's round trip, from provenance and the servers.

    ``submit``: experiment CalcJob created -> job created on the server (upload, submit);
    ``queued``: job created -> started on the instrument; ``collect``: job finished on the
    instrument -> CalcJob finished (poll, retrieve, parse); ``learner``: time in the lane's
    calcfunctions (assemble, fit, suggest) per step; ``lane_other``: the rest of a lane's time
    between one CalcJob's end and the next one's creation (bookkeeping, waiting for the event loop).
    """
    by_id = {job["id"]: job for records in jobs.values() for job in records}
    stamp = datetime.fromisoformat
    collected = {"submit": [], "queued": [], "collect": [], "lane_other": []}
    learner = {label: [] for label in LEARNER_STEPS}
    for lane in (c for c in node.called if c.process_label == "InstrumentLaneWorkChain"):
        called = sorted(lane.called, key=lambda process: process.ctime)
        calcjobs = [c for c in called if c.process_label == "ExperimentCalcJob"]
        for calcjob in calcjobs:
            job = by_id.get(calcjob.get_job_id())
            if job and job["started"] and job["finished"]:
                collected["submit"].append((stamp(job["created"]) - calcjob.ctime).total_seconds())
                collected["queued"].append((stamp(job["started"]) - stamp(job["created"])).total_seconds())
                collected["collect"].append((calcjob.mtime - stamp(job["finished"])).total_seconds())
        for earlier, later in zip(calcjobs, calcjobs[1:]):
            between = [c for c in called if earlier.ctime < c.ctime < later.ctime and c.process_label in learner]
            for step in between:
                learner[step.process_label].append((step.mtime - step.ctime).total_seconds())
            busy = sum((step.mtime - step.ctime).total_seconds() for step in between)
            collected["lane_other"].append((later.ctime - earlier.mtime).total_seconds() - busy)
    return {name: statistics.median(values) if values else None
            for name, values in {**collected, **learner}.items()}


def summarize(arguments, campaigns: dict) -> dict:
    """The figures: wall times, speed-ups against one instrument, the targets, the settings, the details."""
    wall = {n: c["wall_s"] for n, c in campaigns.items()}
    speedup = {n: wall["1"] / w for n, w in wall.items() if n != "1"}
    targets = {str(n): {"min": goal, "speedup": speedup[str(n)], "met": speedup[str(n)] >= goal}
               for n, goal in TARGETS.items() if str(n) in speedup}
    settings = {"budget": arguments.budget, "duration_s": arguments.duration, "strategy": arguments.strategy,
                "n_candidates": arguments.n_candidates, "seed": arguments.seed,
                "poll_interval_s": arguments.poll_interval, "safe_interval_s": arguments.safe_interval,
                "runner_poll_s": arguments.runner_poll if arguments.engine == "run" else None,
                "engine": arguments.engine if arguments.engine == "run" else f"daemon ({arguments.workers} workers)",
                "storage": "SQLite + ZeroMQ" if arguments.storage == "sqlite" else "PostgreSQL + RabbitMQ",
                "device_time_scale": DEVICE_TIME_SCALE}
    return {"wall_s": wall, "speedup": speedup, "targets": targets, "settings": settings, "campaigns": campaigns}


if __name__ == "__main__":
    sys.exit(main())
