"""Shared fixtures: aiida-core's own pytest fixtures and the path of the shared FZJ data."""

import atexit
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

# Never touch ~/.aiida: aiida-core's fixtures make their own temporary profiles, but importing
# aiida without AIIDA_PATH creates the default configuration folder in the home directory.
if "AIIDA_PATH" not in os.environ:
    os.environ["AIIDA_PATH"] = tempfile.mkdtemp(prefix="bigmap-al-tests-")
    atexit.register(shutil.rmtree, os.environ["AIIDA_PATH"], ignore_errors=True)
# The daemon that `submit_and_await` starts runs `verdi` of this environment.
os.environ["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

pytest_plugins = "aiida.tools.pytest_fixtures"

FZJ_CSV = (
    pathlib.Path(__file__).resolve().parents[1].parent
    / "shared" / "data" / "fzj_conductivity" / "HTE_dataset_PC_EMC_EC_LiPF6.csv"
)


@pytest.fixture(scope="session")
def fzj_csv() -> pathlib.Path:
    """The FZJ conductivity file beside the repository (``../shared``); skip where it is absent."""
    if not FZJ_CSV.is_file():
        pytest.skip(f"FZJ data not found at {FZJ_CSV}")
    return FZJ_CSV


#: Seconds the daemon client waits for the daemon's answer. aiida-core's default, 2 s, is too
#: short on a loaded two-core machine: stopping the daemon at the end of a session timed out
#: (DaemonTimeoutException) in about one run of three while other work ran beside the tests.
DAEMON_TIMEOUT = 30


@pytest.fixture(scope="session")
def aiida_profile(aiida_config, aiida_profile_factory):
    """aiida-core's temporary profile, with the ZeroMQ broker so that tests can use the daemon."""
    with aiida_profile_factory(aiida_config, broker_backend="core.zeromq") as profile:
        aiida_config.set_option("daemon.timeout", DAEMON_TIMEOUT, scope=profile.name)
        yield profile


# --- services that CI requires --------------------------------------------------------------

#: Tests with one of these markers need a service or a long run; they skip where it is absent,
#: but ``.ci/run`` (``BIGMAP_AL_REQUIRE_SERVICES=1``) must run every one of them: a skip there would
#: let a broken service, a missing package or a lost fixture pass CI unseen.
REQUIRED_MARKERS = frozenset({"production", "chaos", "fuzz", "security", "ssh", "postgres", "rabbitmq",
                              "browser"})


#: The markers of the tests that keep the hardening true (issue 12): CI runs each, none skipped.
CI_MARKERS = frozenset({"production", "chaos", "fuzz", "security"})


def services_required() -> bool:
    """Whether this run must not skip a test of :data:`REQUIRED_MARKERS` (``.ci/run`` says so)."""
    return os.environ.get("BIGMAP_AL_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Where services are required, a skipped test of :data:`REQUIRED_MARKERS` is a failure, with the reason."""
    report = (yield).get_result()
    if not (report.skipped and services_required()) or hasattr(report, "wasxfail"):
        return
    marks = sorted(REQUIRED_MARKERS.intersection(mark.name for mark in item.iter_markers()))
    if marks:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = (f"skipped ({reason}), but BIGMAP_AL_REQUIRE_SERVICES=1 requires the tests "
                           f"marked {', '.join(marks)} to run")


def pytest_collection_modifyitems(config, items):
    """Where services are required, the whole suite must hold tests of every one of :data:`CI_MARKERS`.

    A renamed marker or a lost file would otherwise drop them from CI without a sign. Runs that
    select tests themselves (paths, ``-m``, ``-k``) are not checked.
    """
    selected = config.args_source is not pytest.Config.ArgsSource.TESTPATHS
    if not services_required() or selected or config.option.markexpr or config.option.keyword:
        return
    missing = CI_MARKERS.difference(mark.name for item in items for mark in item.iter_markers())
    if missing:
        raise pytest.UsageError(f"no test is marked {', '.join(sorted(missing))}, but BIGMAP_AL_REQUIRE_SERVICES=1 "
                                f"requires the tests of {', '.join(sorted(CI_MARKERS))} to run")


# --- what a campaign that survived a crash must show ----------------------------------------

def assert_measured_once(node, budget: int, failed: int = 0) -> None:
    """Every suggestion of batch campaign ``node`` went to one job, every job that worked to one row.

    After a kill and a restart, a step replayed from its checkpoint could submit a suggestion's
    measurement again (a lab day spent twice) or lose it; a campaign that counted wrong would end
    over or under its budget. ``failed`` is how many measurements are expected to have failed
    (reported in the history, their points not measured again).
    """
    from collections import Counter

    from aiida.orm import CalcJobNode

    assert node.is_finished_ok, f"campaign {node.pk}: {node.exit_status} {node.exit_message}"
    history = node.outputs.history["iterations"]
    suggested = [uuid for entry in history for uuid in entry["suggestions"]]
    from aiida_bigmap_al.workchains.relaunch import LOST

    # A job whose task was lost with the worker that submitted it never ran (and was marked so).
    jobs = [child for child in node.called_descendants
            if isinstance(child, CalcJobNode) and not child.base.extras.get(LOST, False)]
    per_suggestion = Counter(job.inputs.suggestion.uuid for job in jobs)
    assert len(set(suggested)) == len(suggested), f"a suggestion was made twice: {suggested}"
    assert sorted(per_suggestion) == sorted(suggested), "a suggestion was never measured, or a job measured none"
    assert set(per_suggestion.values()) == {1}, f"a suggestion was measured twice: {per_suggestion}"
    rows = [row["measurement"] for row in node.outputs.dataset["rows"]]
    worked = [job.outputs.measurement.uuid for job in jobs if job.is_finished_ok]
    assert len(rows) == budget, f"{len(rows)} measurements for a budget of {budget}"
    assert sorted(rows) == sorted(worked), "the dataset's rows are not the measurements of the jobs"
    failures = sorted(failure["process"] for entry in history for failure in entry["failed"])
    assert failures == sorted(job.pk for job in jobs if not job.is_finished_ok), "a failure went unreported"
    assert len(failures) == failed, f"{len(failures)} failed measurements, expected {failed}"


@pytest.fixture
def measured_once():
    """:func:`assert_measured_once`, for tests in packages that cannot import this module."""
    return assert_measured_once
