"""A simulation campaign whose jobs run on a computer reached over SSH (AiiDA's ``core.ssh``).

Users who outgrow one machine run the simulator on a cluster they reach with SSH. This test takes
that path end to end with the real parts: Debian's ``sshd`` (installed by ``.ci/run``), started by
the test on 127.0.0.1 as the current user, with a host key and a client key it makes in a temporary
folder, nothing written to ``~/.ssh`` or ``/etc/ssh``; an AiiDA computer with the ``core.ssh``
transport and the ``core.direct`` scheduler, configured with that key; the simulator's code on it,
as ``bigmap-al setup`` makes it; and a campaign that the daemon runs to its end, every job copied
to the work folder over SFTP and started through the SSH connection. The same campaign then runs
with the ``core.slurm`` scheduler on Debian's Slurm (``slurm-wlm``), started by the test as a
one-node cluster (munged, slurmctld, slurmd in a temporary folder, on free ports).

Skips where sshd or Slurm cannot start, unless ``BIGMAP_AL_REQUIRE_SERVICES=1`` (set by ``.ci/run``).
"""

import getpass
import os
import pathlib
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from aiida import orm

from aiida_bigmap_al.calcjobs import SimulationCalcJob
from aiida_bigmap_al.profile import ensure_simulator_code
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from instrument_bridge.conftest import free_port
from workchains.test_simulation_campaign import campaign_inputs

pytestmark = [pytest.mark.ssh, pytest.mark.production]

SSHD = pathlib.Path("/usr/sbin/sshd")  # sshd refuses to start unless called by its absolute path
BUDGET = 4


class Sshd:
    """Debian's sshd in the foreground on 127.0.0.1, with its own keys and no system configuration."""

    def __init__(self, folder: pathlib.Path, env: dict[str, str] | None = None):
        self.folder, self.port, self.log, self.env = folder, free_port(), folder / "sshd.log", env or {}
        self.key = folder / "client_key"
        for key in (folder / "host_key", self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", key], check=True)
        shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
        self.process = None

    def options(self) -> list[str]:
        """Everything on the command line (``-f /dev/null``: no ``/etc/ssh/sshd_config``)."""
        settings = {"ListenAddress": "127.0.0.1", "HostKey": self.folder / "host_key",
                    "AuthorizedKeysFile": self.folder / "authorized_keys", "PasswordAuthentication": "no",
                    "KbdInteractiveAuthentication": "no", "UsePAM": "no", "PidFile": "none",
                    "StrictModes": "no",  # the temporary folder's modes are pytest's, not ~/.ssh's
                    "Subsystem": "sftp internal-sftp"}  # AiiDA copies files over SFTP
        if self.env:  # what a cluster's login shell would set up (here: where Slurm's configuration is)
            settings["SetEnv"] = " ".join(f"{name}={value}" for name, value in self.env.items())
        return [arg for name, value in settings.items() for arg in ("-o", f"{name}={value}")]

    def start(self, timeout: float = 10) -> "Sshd":
        """Start sshd and wait until it listens; the reason why it did not, if it did not."""
        if os.geteuid() == 0:  # root's sshd needs its privilege-separation folder, made by Debian's service
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        with self.log.open("w") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", "/dev/null", "-p", str(self.port),
                                             *self.options()], stderr=log, stdout=log)
        deadline = time.monotonic() + timeout
        while "Server listening" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not start on 127.0.0.1:{self.port}: {self.log.read_text().strip()}")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def logins(self) -> int:
        """How many times the client key logged in."""
        return self.log.read_text().count(f"Accepted publickey for {getpass.getuser()} from 127.0.0.1")


class SlurmCluster:
    """Debian's Slurm as a one-node cluster in a folder: munged, slurmctld and slurmd in the foreground.

    Its own munge key and socket, its own ports, state and logs: nothing of ``/etc/slurm`` or
    ``/etc/munge`` is read or changed. Commands find it through ``SLURM_CONF``.
    """

    def __init__(self, folder: pathlib.Path):
        self.folder, self.conf, self.processes = folder, folder / "slurm.conf", []
        self.node = socket.gethostname()

    def configuration(self) -> str:
        user, munge = getpass.getuser(), self.folder / "munge.socket"
        return "\n".join([
            "ClusterName=bigmap", f"SlurmctldHost={self.node}(127.0.0.1)", f"SlurmUser={user}",
            f"SlurmdUser={user}", f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
            "AuthType=auth/munge", f"AuthInfo=socket={munge}", "CredType=cred/munge",
            f"StateSaveLocation={self.folder / 'state'}", f"SlurmdSpoolDir={self.folder / 'spool'}",
            f"SlurmctldPidFile={self.folder / 'slurmctld.pid'}", f"SlurmdPidFile={self.folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.folder / 'slurmctld.log'}", f"SlurmdLogFile={self.folder / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",
            "SchedulerType=sched/builtin", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            "ReturnToService=2", "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN",
            f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP", ""])

    def start(self, timeout: float = 30) -> "SlurmCluster":
        """Start the three daemons and wait until the node is idle; the reason why it is not, if it is not."""
        for folder in ("state", "spool"):
            (self.folder / folder).mkdir()
        key = self.folder / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", key], check=True, capture_output=True)
        self.conf.write_text(self.configuration())
        self._spawn("munged", "--foreground", "--force", f"--socket={self.folder / 'munge.socket'}",
                    f"--key-file={key}", f"--pid-file={self.folder / 'munged.pid'}",
                    f"--log-file={self.folder / 'munged.log'}", f"--seed-file={self.folder / 'munged.seed'}")
        self._spawn("/usr/sbin/slurmctld", "-D", "-i", "-f", self.conf)
        self._spawn("/usr/sbin/slurmd", "-D", "-f", self.conf, "-N", self.node)
        deadline = time.monotonic() + timeout
        while (state := self._node_state()) != "idle":
            if time.monotonic() > deadline or any(process.poll() is not None for process in self.processes):
                self.stop()
                raise RuntimeError(f"the one-node Slurm cluster did not come up (node: {state!r}); "
                                   f"see {self.folder}/*.log")
            time.sleep(0.2)
        return self

    def _spawn(self, *command):
        with (self.folder / f"{pathlib.Path(command[0]).name}.out").open("w") as out:
            self.processes.append(subprocess.Popen(command, stdout=out, stderr=out, env=self.env()))
        time.sleep(0.2)  # munged's socket before slurmctld, slurmctld before slurmd

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _node_state(self) -> str:
        result = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=self.env(), capture_output=True,
                                text=True)
        return result.stdout.strip()

    def stop(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def start_or_skip(service):
    """``service.start()``, or a skip (in CI: a failure, see ``tests/conftest.py``) with the reason."""
    try:
        return service.start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        pytest.skip(str(error))


def require(*paths: str, package: str):
    missing = [path for path in paths if not shutil.which(path)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found: apt-get install {package}")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A running :class:`Sshd`; skips (or, in CI, fails) with the reason where it cannot start."""
    require(str(SSHD), "ssh-keygen", package="openssh-server")
    server = start_or_skip(Sshd(tmp_path_factory.mktemp("sshd")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slurm_sshd(tmp_path_factory):
    """An :class:`Sshd` whose sessions find (``SLURM_CONF``) a one-node :class:`SlurmCluster`; both."""
    require(str(SSHD), "ssh-keygen", package="openssh-server")
    require("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "munged", "mungekey", "sinfo", package="slurm-wlm")
    cluster = start_or_skip(SlurmCluster(tmp_path_factory.mktemp("slurm")))
    try:
        server = start_or_skip(Sshd(tmp_path_factory.mktemp("sshd"), env={"SLURM_CONF": str(cluster.conf)}))
        yield server, cluster
        server.stop()
    finally:
        cluster.stop()


def ssh_computer(sshd: Sshd, workdir: pathlib.Path, scheduler: str = "core.direct") -> orm.Computer:
    """A ``core.ssh`` computer on that sshd, configured with its key only (no agent, no ``~/.ssh``).

    paramiko, under AiiDA's ``core.ssh``, takes no known-hosts file: the host key is accepted on
    first connection (``AutoAddPolicy``) and kept in memory only. A real cluster's key belongs in
    ``~/.ssh/known_hosts`` with ``load_system_host_keys`` and ``RejectPolicy`` (AiiDA's defaults).
    """
    computer = orm.Computer(label=f"{scheduler.split('.')[-1]}-ssh-{uuid.uuid4().hex[:8]}", hostname="127.0.0.1",
                            transport_type="core.ssh", scheduler_type=scheduler, workdir=str(workdir)).store()
    computer.set_minimum_job_poll_interval(0.5)
    computer.set_default_mpiprocs_per_machine(1)
    computer.configure(username=getpass.getuser(), port=sshd.port, key_filename=str(sshd.key),
                       look_for_keys=False, allow_agent=False, load_system_host_keys=False,
                       key_policy="AutoAddPolicy", timeout=30, safe_interval=0)
    return computer


def campaign_on(computer, sshd, submit_and_await, measured_once):
    """A simulation campaign with the simulator's code on ``computer``, run to its end by the daemon."""
    with computer.get_transport() as transport:  # the connection works before anything is submitted
        assert transport.whoami() == getpass.getuser()
    code, _ = ensure_simulator_code(computer)
    logins = sshd.logins()
    node = submit_and_await(ActiveLearningWorkChain, timeout=300,
                            **campaign_inputs(code, [298.15], budget=BUDGET))
    measured_once(node, BUDGET)
    jobs = [child for child in node.called if child.process_label == "SimulationCalcJob"]
    assert {job.computer.uuid for job in jobs} == {computer.uuid}
    for job in jobs:  # each ran in the SSH computer's work folder, and its output came back from there
        assert pathlib.Path(job.outputs.remote_folder.get_remote_path()).is_relative_to(computer.get_workdir())
        assert SimulationCalcJob.FILENAME_OUTPUT in job.outputs.retrieved.base.repository.list_object_names()
    assert sshd.logins() > logins, "the daemon did not log in over SSH"
    return jobs


def test_a_simulation_campaign_runs_its_jobs_on_a_computer_reached_over_ssh(
        aiida_profile, sshd, tmp_path, submit_and_await, measured_once):
    campaign_on(ssh_computer(sshd, tmp_path / "work"), sshd, submit_and_await, measured_once)


def test_the_same_campaign_runs_on_slurm_over_ssh(aiida_profile, slurm_sshd, tmp_path, submit_and_await,
                                                  measured_once):
    sshd, cluster = slurm_sshd
    jobs = campaign_on(ssh_computer(sshd, tmp_path / "work", scheduler="core.slurm"), sshd, submit_and_await,
                       measured_once)
    log = (cluster.folder / "slurmctld.log").read_text()
    for job in jobs:  # each job went through Slurm: its id is a Slurm job's, which ran to its end
        assert f"_job_complete: JobId={job.get_job_id()} done" in log
