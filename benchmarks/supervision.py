"""What the benchmark scripts share: a supervisor that never imports AiiDA and cleans up after it.

Each script runs its AiiDA work in a child process with ``AIIDA_PATH`` set to a private temporary
folder; the parent uses these helpers to start that child, and to stop the child and any daemon
left in the folder whatever happened (failure, ``--timeout``, Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

#: The PostgreSQL server of the machine (trust authentication for ``postgres``).
POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

__all__ = ["create_database", "drop_database", "end_process", "environment", "exit_on_sigterm",
           "postgresql_rabbitmq_profile", "stop_daemon", "supervise", "verdi", "worker_plan"]

#: Files in the worker's folder: what the supervisor prepared for it, and the figures it found.
PLAN, FIGURES = "plan.json", "figures.json"


def exit_on_sigterm(*_):
    """SIGTERM handler: leave through ``SystemExit`` so the ``finally`` clean-up runs."""
    raise SystemExit(143)


def environment(workdir: pathlib.Path) -> dict:
    """This environment with ``AIIDA_PATH`` = ``workdir`` and this Python's scripts first on ``PATH``."""
    env = {key: value for key, value in os.environ.items() if key != "AIIDA_PROFILE"}
    env["AIIDA_PATH"] = str(workdir)
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def verdi(workdir: pathlib.Path, *arguments: str) -> str:
    """Run this environment's ``verdi`` on the (only, hence default) profile in ``workdir``."""
    command = [str(pathlib.Path(sys.executable).parent / "verdi"), *arguments]
    result = subprocess.run(command, env=environment(workdir), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise subprocess.SubprocessError(f"verdi {' '.join(arguments)}: {result.stdout}{result.stderr}".strip())
    return result.stdout


def end_process(process) -> None:
    """Terminate a child process of this script if it still runs, then kill it if it must."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_daemon(workdir: pathlib.Path) -> None:
    """Stop a daemon left running in ``workdir``: ``verdi daemon stop``, else end it by its pid file.

    The pid file lies in the script's private temporary folder, so the process is the daemon
    the benchmark started.
    """
    pid = _daemon_pid(workdir)
    if pid is None:
        return
    try:
        verdi(workdir, "daemon", "stop", "--timeout", "30")
    except (subprocess.SubprocessError, OSError) as error:
        print(f"verdi daemon stop failed ({error})", file=sys.stderr)
    if not _gone(pid, within=10):
        print(f"terminating the benchmark's daemon (pid {pid})", file=sys.stderr)
        os.kill(pid, signal.SIGTERM)
        if not _gone(pid, within=30):
            print(f"the daemon (pid {pid}) is still running; stop it with: kill {pid}", file=sys.stderr)


def _daemon_pid(workdir: pathlib.Path) -> int | None:
    for path in (workdir / ".aiida" / "daemon").glob("circus-*.pid"):
        with contextlib.suppress(ValueError, OSError):
            if _alive(pid := int(path.read_text().strip())):
                return pid
    return None


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # Linux: the state is the field after "(command)"
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def create_database() -> str:
    """A new, empty PostgreSQL database for a benchmark's profile; returns its name."""
    import psycopg  # aiida-core's PostgreSQL driver, so in the project's environment

    name = f"bigmap_al_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    return name


def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database` (its connections are closed first)."""
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgresql_rabbitmq_profile(workdir: pathlib.Path, database: str, name: str = "bench") -> str:
    """Create the default profile ``name`` of ``workdir``: PostgreSQL storage in ``database``, the
    RabbitMQ broker; the README's scale-up path, with the same ``verdi profile setup`` command."""
    verdi(workdir, "profile", "setup", "core.psql_dos", "--non-interactive", "--profile-name", name,
          "--email", "bench@example.org", "--first-name", "Bench", "--last-name", "Mark",
          "--institution", "BIG-MAP", "--broker", "core.rabbitmq", "--database-hostname", "127.0.0.1",
          "--database-username", "postgres", "--database-password", "", "--database-name", database,
          "--repository-uri", (workdir / "repository").as_uri(), "--set-as-default")
    return name


def supervise(script: pathlib.Path, argv: list[str], storage: str, timeout: float) -> dict:
    """Run ``script argv --worker-dir DIR`` with ``AIIDA_PATH`` = DIR, a new temporary folder, and
    return the figures the worker wrote to ``DIR/figures.json``.

    With ``storage == "postgresql"`` the worker gets a new database (its name in ``DIR/plan.json``,
    see :func:`worker_plan`). Whatever happens (failure, ``timeout``, Ctrl-C, SIGTERM), the worker,
    a daemon left in DIR, the database and DIR are removed; a failure raises ``RuntimeError``.
    """
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"bigmap-al-{pathlib.Path(script).stem}-"))
    child, database = None, None
    try:
        database = create_database() if storage == "postgresql" else None
        (workdir / PLAN).write_text(json.dumps({"database": database}))
        child = subprocess.Popen([sys.executable, str(script), *argv, "--worker-dir", str(workdir)],
                                 env=environment(workdir))
        if child.wait(timeout=timeout) != 0:
            raise RuntimeError(f"the benchmark failed (worker exit status {child.returncode})")
        return json.loads((workdir / FIGURES).read_text())
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the benchmark did not finish within {timeout:g} s; stopped") from None
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):  # let nothing cut the clean-up short
            signal.signal(number, signal.SIG_IGN)
        end_process(child)
        stop_daemon(workdir)
        if database is not None:
            drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)


def worker_plan(worker_dir: pathlib.Path) -> dict:
    """What :func:`supervise` prepared for the worker; refuses a ``--worker-dir`` given by hand."""
    if pathlib.Path(os.environ.get("AIIDA_PATH", "")).resolve() != pathlib.Path(worker_dir).resolve():
        raise SystemExit("--worker-dir is set by the benchmark itself; run the script without it")
    return json.loads((pathlib.Path(worker_dir) / PLAN).read_text())
