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
