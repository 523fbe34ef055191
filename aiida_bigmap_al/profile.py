"""The embedded AiiDA profile: a campaign runs from a fresh checkout with no services to install.

``.aiida/`` at the repository root is the project's own AiiDA configuration (``AIIDA_PATH`` = the
repository root), holding a ``verdi presto --use-zeromq`` style profile: SQLite storage, the
ZeroMQ broker that lives inside the daemon, a default user and the ``localhost`` computer.

Choosing the configuration follows one rule: an ``AIIDA_PATH`` or ``AIIDA_PROFILE`` already set
in the environment (or a configuration that the process has already loaded, e.g. under
``verdi run`` or pytest) always wins; only when there is none does the suite fall back to the
repository's ``.aiida/``. The user's ``~/.aiida`` is never touched by that fallback.

AiiDA picks its configuration folder when ``aiida.manage.configuration.settings`` is first
imported (and creates it), so :func:`ensure_environment` must run before anything imports AiiDA.
That is why this module imports AiiDA only inside its functions.

:func:`setup` makes the active profile ready for the suite (computer and simulator code) and is
safe to run any number of times: what exists is reported and left alone.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
import typing as t

if t.TYPE_CHECKING:
    from aiida.manage.configuration import Config, Profile
    from aiida.orm import Computer, InstalledCode

__all__ = [
    "LOCALHOST_LABEL",
    "PROFILE_NAME",
    "SIMULATOR_CODE_LABEL",
    "SIMULATOR_EXECUTABLE",
    "SetupStep",
    "ensure_embedded_profile",
    "ensure_environment",
    "ensure_localhost",
    "ensure_simulator_code",
    "load",
    "repository_root",
    "setup",
    "simulator_executable",
]

#: Name of the profile created in the embedded configuration.
PROFILE_NAME = "bigmap-al"
#: Label of the computer that runs simulations (and the embedded daemon's own jobs).
LOCALHOST_LABEL = "localhost"
#: Console script of the simulator, installed beside the Python interpreter of this environment.
SIMULATOR_EXECUTABLE = "bigmap-sim"
#: Label of the simulator's code; its full label is ``bigmap-sim@localhost``.
SIMULATOR_CODE_LABEL = "bigmap-sim"
#: Entry point of the calculation that the simulator code runs by default.
SIMULATION_ENTRY_POINT = "bigmap.simulation"

_ENV_PATH = "AIIDA_PATH"
_ENV_PROFILE = "AIIDA_PROFILE"
_STORAGE_BACKEND = "core.sqlite_dos"
_BROKER_BACKEND = "core.zeromq"
#: Seconds between job-status polls on localhost: short, so a simulation returns in about a second.
_POLL_INTERVAL = 0.5


@dataclasses.dataclass(frozen=True)
class SetupStep:
    """One thing :func:`setup` looked at, what it did with it (or that it was there), and details."""

    item: str
    action: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.item}: {self.action}" + (f" ({self.detail})" if self.detail else "")


# --- where the configuration lives ------------------------------------------------------------


def repository_root() -> pathlib.Path:
    """The absolute path of the source checkout this package is installed from (editable install).

    The embedded configuration only makes sense next to the sources; an installed wheel has no
    repository, and then the user must say where AiiDA's configuration is.
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(
            f"aiida-bigmap-al is not installed from a source checkout ({root} has no pyproject.toml), "
            f"so there is no embedded profile: set {_ENV_PATH} (and optionally {_ENV_PROFILE})"
        )
    return root


def ensure_environment() -> pathlib.Path | None:
    """Point ``AIIDA_PATH`` at the repository root unless the environment already chose a configuration.

    Returns the repository root when it set the variable, ``None`` when it left things alone
    (``AIIDA_PATH`` or ``AIIDA_PROFILE`` set, or AiiDA's configuration already loaded in this
    process). Call it before AiiDA is imported; if AiiDA was imported but has not loaded its
    configuration yet, its configuration folder is re-pointed as well.
    """
    if os.environ.get(_ENV_PATH) or os.environ.get(_ENV_PROFILE) or _config_loaded():
        return None
    root = repository_root()
    os.environ[_ENV_PATH] = str(root)
    settings = sys.modules.get("aiida.manage.configuration.settings")
    if settings is not None:
        settings.AiiDAConfigDir.set(root / settings.DEFAULT_CONFIG_DIR_NAME)
    return root


def _config_loaded() -> bool:
    """Whether this process has already read an AiiDA configuration (which then stays in charge)."""
    configuration = sys.modules.get("aiida.manage.configuration")
    return configuration is not None and configuration.CONFIG is not None


def _config() -> Config:
    """AiiDA's configuration, created (empty) if the folder has none yet."""
    from aiida.manage.configuration import get_config

    return get_config(create=True)


# --- the profile ------------------------------------------------------------------------------


def ensure_embedded_profile(name: str = PROFILE_NAME) -> Profile:
    """The profile ``name`` of the active configuration, created like ``verdi presto --use-zeromq`` if missing.

    A new profile gets SQLite storage in ``<config>/repository/<name>``, the ZeroMQ broker, a
    default user, the ``localhost`` computer, and becomes the default profile if there is none.
    Idempotent: an existing profile is returned unchanged. Whatever profile was loaded before
    stays loaded.
    """
    ensure_environment()  # before the first import of AiiDA, which fixes its configuration folder
    from aiida.manage.configuration import profile_context

    config = _config()
    if name in config.profile_names:
        return config.get_profile(name)
    profile = _create_profile(config, name)
    with profile_context(profile, allow_switch=True):
        ensure_localhost()
    return profile


def _create_profile(config: Config, name: str) -> Profile:
    """Create profile ``name`` with storage, broker and default user (no computer yet)."""
    from aiida.manage.configuration import create_profile, get_config_option
    from aiida.plugins import BrokerFactory

    profile = create_profile(
        config,
        name=name,
        email=get_config_option("autofill.user.email") or "aiida@localhost",
        storage_backend=_STORAGE_BACKEND,
        storage_config={"filepath": str(pathlib.Path(config.dirpath) / "repository" / name)},
        broker_backend=_BROKER_BACKEND,
        broker_config=BrokerFactory(_BROKER_BACKEND).get_default_config(),
    )
    _use_write_ahead_log(profile)
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=False)
    config.store()
    return profile


def _use_write_ahead_log(profile: Profile) -> None:
    """Switch the profile's SQLite database to write-ahead logging.

    A campaign commits after every process step; with SQLite's default rollback journal each
    commit waits on the disk, and that was a third of the engine's time per iteration
    (``benchmarks/engine_overhead.py``). The mode is stored in the database file, so the daemon's
    workers use it too.
    """
    import contextlib
    import sqlite3

    path = pathlib.Path(profile.storage_config["filepath"]) / "database.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def load() -> Profile:
    """Load the active profile, falling back to (and creating) the embedded one; return it.

    The active profile is, in order: the one already loaded in this process; ``AIIDA_PROFILE``;
    the default profile of the configuration (``AIIDA_PATH``, else the repository's ``.aiida/``);
    and when that configuration has no profile at all, a new embedded profile ``bigmap-al``
    (with its ``localhost`` computer, like ``verdi presto``).
    """
    profile, created = _load()
    if created:
        ensure_localhost()
    return profile


def _load() -> tuple[Profile, bool]:
    """:func:`load`, also saying whether the profile had to be created."""
    if _config_loaded():
        from aiida.manage import get_manager

        if (loaded := get_manager().get_profile()) is not None:
            return loaded, False
    ensure_environment()  # before the first import of AiiDA, which fixes its configuration folder
    from aiida.manage.configuration import load_profile

    config = _config()
    name = os.environ.get(_ENV_PROFILE) or config.default_profile_name
    created = name is None
    if created:
        name = _create_profile(config, PROFILE_NAME).name
    elif name not in config.profile_names:
        raise RuntimeError(
            f"profile {name!r} (from {_ENV_PROFILE}) does not exist in the AiiDA configuration at {config.dirpath}; "
            f"existing profiles: {', '.join(config.profile_names) or 'none'}"
        )
    return load_profile(name, allow_switch=True), created


# --- what a profile needs for the suite -------------------------------------------------------


def ensure_localhost(label: str = LOCALHOST_LABEL) -> tuple[Computer, str]:
    """The computer ``label`` of the loaded profile, created (local transport, direct scheduler) if missing.

    A new computer works in ``<config>/scratch/<profile>`` and is configured for the default user;
    an existing one is only configured for that user if it was not yet. Returns the computer and
    what was done: ``"created"``, ``"configured"`` or ``"already exists"``.
    """
    from aiida.common.exceptions import NotExistent
    from aiida.manage import get_manager
    from aiida.orm import Computer

    try:
        computer = Computer.collection.get(label=label)
        action = "already exists"
    except NotExistent:
        profile = get_manager().get_profile()
        computer = Computer(
            label=label,
            hostname="localhost",
            description="This machine (local transport, direct scheduler), set up by aiida-bigmap-al",
            transport_type="core.local",
            scheduler_type="core.direct",
            workdir=str(pathlib.Path(_config().dirpath) / "scratch" / profile.name),
        ).store()
        computer.set_minimum_job_poll_interval(_POLL_INTERVAL)
        computer.set_default_mpiprocs_per_machine(1)
        action = "created"
    if not computer.is_configured:
        computer.configure(safe_interval=0)
        action = "created" if action == "created" else "configured"
    return computer, action


def simulator_executable() -> pathlib.Path:
    """Absolute path of ``bigmap-sim`` in this Python environment (beside ``sys.executable``).

    Symlinks are not resolved: a virtual environment's ``python`` links to the system
    interpreter, but its scripts live in the environment's own ``bin/``.
    """
    path = pathlib.Path(sys.executable).absolute().parent / SIMULATOR_EXECUTABLE
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise FileNotFoundError(
            f"{SIMULATOR_EXECUTABLE} not found at {path}: install aiida-bigmap-al into this environment "
            f"(pip install -e .) and run this command with its Python"
        )
    return path


def ensure_simulator_code(computer: Computer, executable: pathlib.Path | None = None) -> tuple[InstalledCode, str]:
    """The simulator's code ``bigmap-sim@<computer>``, created pointing at ``executable`` if missing.

    ``executable`` defaults to :func:`simulator_executable`. An existing code is never changed (a
    stored code is part of the provenance of every job that used it); if it points elsewhere the
    returned action says so, and a code with a new label is the way to switch executables.
    """
    from aiida.common.exceptions import NotExistent
    from aiida.orm import InstalledCode, load_code

    executable = executable or simulator_executable()
    try:
        code = load_code(f"{SIMULATOR_CODE_LABEL}@{computer.label}")
    except NotExistent:
        code = InstalledCode(
            label=SIMULATOR_CODE_LABEL,
            description="Conductivity of electrolyte formulations from published models (aiida-bigmap-al)",
            computer=computer,
            filepath_executable=str(executable),
            default_calc_job_plugin=SIMULATION_ENTRY_POINT,
        ).store()
        return code, "created"
    current = str(code.filepath_executable)
    if current != str(executable):
        return code, f"already exists, pointing at {current} instead of {executable}; left unchanged"
    return code, "already exists"


def setup() -> list[SetupStep]:
    """Make the active profile ready for the suite: profile, ``localhost`` computer, simulator code.

    Safe to run twice: the second run reports everything as already existing and changes nothing.
    """
    profile, created = _load()
    config_dir = _config().dirpath
    steps = [
        SetupStep(
            f"profile `{profile.name}`",
            "created" if created else "loaded",
            f"{config_dir}; storage {profile.storage_backend}, broker {profile.process_control_backend or 'none'}",
        )
    ]
    computer, action = ensure_localhost()
    steps.append(
        SetupStep(
            f"computer `{computer.label}`",
            action,
            f"{computer.transport_type}, {computer.scheduler_type}, workdir {computer.get_workdir()}",
        )
    )
    code, action = ensure_simulator_code(computer)
    steps.append(SetupStep(f"code `{code.full_label}`", action, str(code.filepath_executable)))
    return steps
