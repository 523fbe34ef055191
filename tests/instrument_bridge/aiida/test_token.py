"""A token the instrument server refuses (or none at all): the CalcJob pauses at once, with the fix in its status.

Retrying cannot help when the token is wrong, so AiiDA's back-off (20 s, 40 s, ... by default) must
not be spent on it; the calculation is kept (paused, not excepted), and continues with ``play``
once the token file is right.
"""

from __future__ import annotations

import asyncio
import time

from aiida import orm
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob

from ..conftest import TOKEN
from .test_experiment import _jobs_of, _suggestion

#: Far less than AiiDA's first retry interval (``transport.task_retry_initial_interval``, 20 s by default).
PAUSED_WITHIN = 8.0


async def _until_paused(process, task, timeout):
    deadline = time.monotonic() + timeout
    while not process.paused:
        assert not task.done(), "the process ended instead of pausing"
        if time.monotonic() > deadline:
            raise TimeoutError(f"the process did not pause within {timeout} s (retried as if the server were down?)")
        await asyncio.sleep(0.05)


def test_a_refused_token_pauses_the_experiment_at_once_and_play_resumes_it(instrument, server, tmp_path):
    token_file = tmp_path / "lab.token"
    token_file.write_text("not-the-token-0123456789\n")
    registration = instrument(server.url, token_file=token_file)
    runner = get_manager().get_runner()
    process = instantiate_process(runner, ExperimentCalcJob, code=registration.code, suggestion=_suggestion())
    node = process.node

    async def drive():
        task = asyncio.ensure_future(process.step_until_terminated())
        try:
            await _until_paused(process, task, PAUSED_WITHIN)
            status = node.process_status
            assert node.paused and "remote_folder" not in node.outputs  # paused before the upload
            for expected in (f"`{registration.computer.label}`", server.url, "refused the bearer token",
                             str(token_file), f"bigmap-al instrument register {registration.computer.label} "
                             f"{server.url} --token-file", "verdi process play"):
                assert expected in status, (expected, status)
            assert "not-the-token" not in status
            assert _jobs_of(server, node) == []  # nothing reached the rig

            token_file.write_text(TOKEN + "\n")  # the fix the message asks for, then `verdi process play`
            process.play()
            await asyncio.wait_for(task, timeout=120)
        finally:
            if not task.done():
                task.cancel()

    runner.loop.run_until_complete(drive())
    assert node.is_finished_ok, node.exit_message
    assert [job["state"] for job in _jobs_of(server, node)] == ["done"]
    retried = [log.message for log in orm.Log.collection.get_logs_for(node) if "retrying" in log.message]
    assert retried == [], "a refused token must not go through AiiDA's back-off"


def test_a_missing_token_file_pauses_the_experiment_at_once(instrument, server, tmp_path):
    token_file = tmp_path / "gone.token"
    token_file.write_text(TOKEN)
    registration = instrument(server.url, token_file=token_file)
    token_file.unlink()
    runner = get_manager().get_runner()
    process = instantiate_process(runner, ExperimentCalcJob, code=registration.code, suggestion=_suggestion())

    async def drive():
        task = asyncio.ensure_future(process.step_until_terminated())
        try:
            await _until_paused(process, task, PAUSED_WITHIN)
        finally:
            task.cancel()

    runner.loop.run_until_complete(drive())
    status = process.node.process_status
    assert "cannot read the instrument token file" in status and str(token_file) in status
    assert f"bigmap-al instrument register {registration.computer.label}" in status


def test_a_token_refused_while_the_job_waits_on_the_rig_keeps_the_measurement(instrument, server, tmp_path):
    """A token changed while the experiment is queued: paused at the next poll, its job kept; play collects it."""
    token_file = tmp_path / "lab.token"
    token_file.write_text(TOKEN)
    registration = instrument(server.url, token_file=token_file)
    runner = get_manager().get_runner()
    process = instantiate_process(runner, ExperimentCalcJob, code=registration.code, suggestion=_suggestion())
    node = process.node

    async def drive(client, blocker):
        task = asyncio.ensure_future(process.step_until_terminated())
        try:
            deadline = time.monotonic() + 60
            while node.get_job_id() is None:  # submitted: it waits behind the blocker
                assert time.monotonic() < deadline and not task.done()
                await asyncio.sleep(0.05)
            token_file.write_text("rotated-elsewhere-0123456789")
            await _until_paused(process, task, PAUSED_WITHIN)
            assert "refused the bearer token" in node.process_status
            assert client.get(f"/jobs/{node.get_job_id()}").json()["state"] == "queued"  # not abandoned

            client.post(f"/jobs/{blocker['id']}/cancel")
            token_file.write_text(TOKEN)
            process.play()
            await asyncio.wait_for(task, timeout=120)
        finally:
            if not task.done():
                task.cancel()

    with server.client() as client:
        blocker = client.post("/jobs", json={"method": "hold", "parameters": {"seconds": 300}}).json()
        runner.loop.run_until_complete(drive(client, blocker))
    assert node.is_finished_ok, node.exit_message
    assert [job["state"] for job in _jobs_of(server, node)] == ["done"]
