"""Register a broker in the AiiDA profile: a computer whose experiments a broker's tenants answer, and its code.

``register("broker", "http://127.0.0.1:8000", "alice", "lab-a", password_file="~/.config/alice.pw")``
makes

* the computer ``broker``: hostname = the broker's URL, transport ``core.local`` (the job's files
  stay in a local work directory), scheduler ``bigmap.broker``, the account, the password's
  source (a file or an environment variable name; never the password itself) and the asking
  tenant in its ``bigmap_broker`` property (:func:`.scheduler.configure`);
* the code ``broker-experiment@broker`` running ``bigmap.experiment`` (``ExperimentCalcJob``), the
  code a campaign takes as ``methods.experiment.code`` or one of its lanes.

It mirrors :func:`aiida_bigmap_al.instrument_bridge.register.register`: idempotent, a changed
account, password source, tenant or poll interval is applied, and a computer of that name that is
not this broker is an error (stored computers carry the provenance of the jobs that ran on them).
The tenant may be named by UUID or by name (a name is looked up at the broker). Finally it logs in
and reports what the broker says (or why it cannot: a broker may legitimately be down).

``bigmap-al broker register`` is the command-line face of :func:`register`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import typing as t
import uuid as uuidlib

from aiida.schedulers import SchedulerError

from ..broker.client import BrokerClient, BrokerClientError
from ..instrument_bridge.client import check_url
from ..instrument_bridge.register import EXPERIMENT_PLUGIN, ensure_experiment_code
from ..profile import SetupStep
from .scheduler import PLUGIN, PROPERTY, configure, read_password

if t.TYPE_CHECKING:
    from aiida.orm import Computer, InstalledCode

__all__ = ["DEFAULT_POLL_INTERVAL", "Registration", "password_file_for", "register"]

TRANSPORT = "core.local"
#: Seconds between AiiDA's polls of a request's status.
DEFAULT_POLL_INTERVAL = 2.0
#: What the code "executes": nothing, the scheduler posts the job's request to the broker.
EXECUTABLE = "/bin/true"


@dataclasses.dataclass(frozen=True)
class Registration:
    """The computer and code of a registered broker, and what :func:`register` did."""

    computer: Computer
    code: InstalledCode
    steps: list[SetupStep]


def password_file_for(name: str) -> pathlib.Path:
    """Where ``bigmap-al broker register --password-stdin`` keeps computer ``name``'s password (mode 600)."""
    from aiida.manage.configuration import get_config

    return pathlib.Path(get_config().dirpath) / "bigmap-broker" / f"{name}.password"


def register(name: str, url: str, user: str, tenant: str, *, password_file: str | pathlib.Path | None = None,
             password_env: str | None = None, quantity: str = "conductivity", workdir: str | None = None,
             poll_interval: float = DEFAULT_POLL_INTERVAL, check: bool = True) -> Registration:
    """Create (or check) the computer and code ``name`` whose jobs ask the broker at ``url`` as ``user``.

    ``tenant``: the asking tenant's UUID or name. Give the password's source as ``password_file``
    (preferred: daemon workers read it whatever their environment) or ``password_env``.
    """
    try:
        url = check_url(url)
    except ValueError:
        raise ValueError(f"broker URL must look like http://HOST:PORT, got {url!r}") from None
    source = _password_source(password_file, password_env)
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 s, got {poll_interval}")
    tenant_uuid, found = _tenant_uuid(url, user, tenant, source) if check or not _is_uuid(tenant) else (tenant, None)
    workdir = str(pathlib.Path(workdir or password_file_for(name).parent / "work" / name).expanduser().absolute())
    computer, action = _ensure_computer(name, url, workdir)
    steps = [SetupStep(f"computer `{name}`", action, f"{PLUGIN} scheduler, {url}, jobs in {workdir}")]
    steps.append(_ensure_configuration(computer, user, source, tenant_uuid, quantity, poll_interval))
    code, action = ensure_experiment_code(computer, EXECUTABLE, f"Measurements answered by the broker {url}'s tenants")
    steps.append(SetupStep(f"code `{code.full_label}`", action, f"runs {EXPERIMENT_PLUGIN} (ExperimentCalcJob)"))
    if check:
        steps.append(found if isinstance(found, SetupStep) else _describe(url, found))
    return Registration(computer, code, steps)


def _password_source(password_file, password_env) -> dict[str, str]:
    if bool(password_file) == bool(password_env):
        raise ValueError("give exactly one source of the broker password: password_file or password_env")
    if password_env:
        return {"password_env": password_env}
    path = pathlib.Path(password_file).expanduser().absolute()
    if not path.is_file():
        raise FileNotFoundError(f"broker password file {str(path)!r} does not exist")
    return {"password_file": str(path)}


def _is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return True


def _tenant_uuid(url: str, user: str, tenant: str, source: dict[str, str]) -> tuple[str, dict | SetupStep]:
    """The tenant's UUID and its entry at the broker, or (for a UUID) why the broker cannot say now."""
    try:
        with BrokerClient(url, user, read_password(source), timeout=10, retries=0) as client:
            tenants = client.tenants()
    except (BrokerClientError, OSError, SchedulerError) as error:
        if not _is_uuid(tenant):
            raise ValueError(f"cannot look up tenant {tenant!r} at {url}: {_reason(error)}") from None
        return tenant, SetupStep(f"broker {url}", "not usable now", _reason(error))
    for entry in tenants:
        if tenant in (entry["uuid"], entry["name"]):
            return entry["uuid"], entry
    raise ValueError(f"the broker at {url} has no tenant {tenant!r} (see `bigmap-al broker tenant list`)")


def _reason(error: Exception) -> str:
    if isinstance(error, BrokerClientError):
        return f"{error.status_code} {error.detail}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _describe(url: str, tenant: dict) -> SetupStep:
    return SetupStep(f"broker {url}", "reachable",
                     f"tenant {tenant['name']!r} ({tenant['uuid']}) serves {', '.join(tenant['methods']) or 'nothing'}")


def _ensure_computer(name: str, url: str, workdir: str) -> tuple[Computer, str]:
    from aiida.common.exceptions import NotExistent
    from aiida.orm import Computer

    try:
        computer = Computer.collection.get(label=name)
    except NotExistent:
        pathlib.Path(workdir).mkdir(parents=True, exist_ok=True)
        computer = Computer(label=name, hostname=url, description=f"Measurement broker at {url} (bigmap-al)",
                            transport_type=TRANSPORT, scheduler_type=PLUGIN, workdir=workdir).store()
        return computer, "created"
    found = (computer.hostname, computer.transport_type, computer.scheduler_type)
    if found != (url, TRANSPORT, PLUGIN):
        raise ValueError(f"a computer `{name}` exists but is not this broker (hostname {found[0]}, transport "
                         f"{found[1]}, scheduler {found[2]}); register the broker under another name")
    return computer, "already exists"


def _ensure_configuration(computer: Computer, user: str, source: dict[str, str], tenant_uuid: str, quantity: str,
                          poll_interval: float) -> SetupStep:
    """Configure the transport (once), the account, password source, tenant and poll interval where they differ."""
    before = (computer.get_property(PROPERTY, None), computer.get_minimum_job_poll_interval())
    if not computer.is_configured:
        computer.configure(safe_interval=0)  # a local directory: no cool-down between "connections"
    configure(computer, user, source.get("password_file"), tenant_uuid, quantity,
              password_env=source.get("password_env"))
    computer.set_minimum_job_poll_interval(poll_interval)
    after = (computer.get_property(PROPERTY), poll_interval)
    action = "configured" if before[0] is None else "already configured" if before == after else "reconfigured"
    where = f"password from file {source['password_file']}" if "password_file" in source else \
        f"password from ${source['password_env']}"
    return SetupStep(f"computer `{computer.label}`", action,
                     f"user {user}, {where}, tenant {tenant_uuid}, {quantity}, poll every {poll_interval:g} s")
