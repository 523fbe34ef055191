"""A daemon worker killed with SIGKILL mid-campaign (an OOM kill, a power cut) and restarted.

The campaign's workchain and the simulations it submitted live in the worker's memory between
checkpoints. After the kill the daemon starts a new worker, which takes the processes up again
from their last checkpoint: a step replayed there could submit a measurement twice or lose it.
The campaign must end as if nothing had happened: every suggestion measured exactly once, the
budget exact.

The worker is frozen (SIGSTOP) before it is killed, so that the test knows exactly where the
campaign stood: the database does not change while the only worker is stopped.
"""

import contextlib
import os
import pathlib
import signal
import sqlite3
import time

import pytest
from aiida.engine import ProcessState, submit
from aiida.manage import get_manager
from aiida.orm import CalcJobNode

from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from .test_lane_claims import wait_for
from .test_simulation_campaign import campaign_inputs, simulator_code  # noqa: F401 (fixture)

pytestmark = pytest.mark.chaos

BUDGET, BATCH = 4, 2  # the start, then one suggested batch: the kill lands in that batch


def worker_pids(daemon_client) -> set[int]:
    return {int(pid) for pid in daemon_client.get_worker_info().get("info", {})}


def jobs_of(node) -> list[CalcJobNode]:
    return [child for child in node.called if isinstance(child, CalcJobNode)]


def waiting_for_a_suggested_batch(node) -> bool:
    """The first suggested batch is submitted, its step over, and its jobs still running."""
    jobs = jobs_of(node)
    return (node.process_state is ProcessState.WAITING and len(jobs) == 2 * BATCH
            and not all(job.is_terminated for job in jobs))


def inside_the_measuring_step(node) -> bool:
    """The step that submits the first suggested batch has submitted one job and not the next."""
    return len(jobs_of(node)) == BATCH + 1


def kill_when(daemon_client, condition, settle=0.0, timeout=180) -> int:
    """SIGKILL the daemon's only worker at a moment when ``condition()`` holds; its pid.

    The worker is frozen first and the condition asked again: a moment seen while it ran may be
    gone by the time the signal lands. ``settle`` seconds between seeing the moment and freezing
    let the worker finish writing what belongs to it (its checkpoint after a step).
    """
    [worker] = worker_pids(daemon_client)
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            time.sleep(settle)
            os.kill(worker, signal.SIGSTOP)
            if still_holds(condition):
                os.kill(worker, signal.SIGKILL)
                return worker
            os.kill(worker, signal.SIGCONT)
        if time.monotonic() > deadline:
            raise TimeoutError("the campaign never reached the moment of the kill")
        time.sleep(0.01)


def still_holds(condition) -> bool:
    """``condition()`` asked while the worker is frozen; False if the worker froze inside a write.

    SQLite's lock is then held by a stopped process and any read waits for it in vain. A frozen
    process takes no new lock, so a database readable now stays readable until the kill: it is
    tried first on a connection of its own, outside the storage's session.
    """
    path = pathlib.Path(get_manager().get_profile().storage_config["filepath"]) / "database.sqlite"
    with contextlib.closing(sqlite3.connect(path, timeout=0.5)) as connection:
        try:
            connection.execute("SELECT count(*) FROM db_dbnode").fetchone()
        except sqlite3.OperationalError:  # "database is locked"
            return False
    return condition()


def campaign_killed_and_restarted(code, daemon_client, submit_and_await, condition, settle=0.0):
    """Submit a campaign, kill its worker at ``condition``, let the daemon restart it; the finished node."""
    node = submit(ActiveLearningWorkChain, **campaign_inputs(code, [298.15], budget=BUDGET, batch_size=BATCH))
    worker = kill_when(daemon_client, lambda: condition(node), settle)
    try:
        wait_for(lambda: worker_pids(daemon_client) - {worker}, timeout=60)  # circus starts a new worker
    except AssertionError as error:
        raise TimeoutError("the daemon did not start a new worker after the kill") from error
    return submit_and_await(node, timeout=240)


def test_a_worker_killed_while_the_campaign_waits_for_its_jobs_loses_and_repeats_nothing(
        aiida_profile, simulator_code, started_daemon_client, submit_and_await, measured_once):  # noqa: F811
    node = campaign_killed_and_restarted(simulator_code, started_daemon_client, submit_and_await,
                                         waiting_for_a_suggested_batch, settle=0.2)
    measured_once(node, BUDGET)


def test_a_worker_killed_inside_the_step_that_submits_a_batch_measures_no_suggestion_twice(
        aiida_profile, simulator_code, started_daemon_client, submit_and_await, measured_once):  # noqa: F811
    node = campaign_killed_and_restarted(simulator_code, started_daemon_client, submit_and_await,
                                         inside_the_measuring_step)
    measured_once(node, BUDGET)
