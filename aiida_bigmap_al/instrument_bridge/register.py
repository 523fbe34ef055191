"""Register an instrument server in the AiiDA profile: a computer and the code of its experiments.

``register("rig1", "http://127.0.0.1:8765", token_file="~/.config/rig1.token")`` makes

* the computer ``rig1``: hostname = the server's URL, transport and scheduler
  ``bigmap.instrument``, work directory ``/`` (the transport maps job directories to the server's
  workspaces), a job-poll interval suited to lab jobs, configured for the default user with the
  token's source (a file, or the name of an environment variable; never the token itself);
* the code ``rig1-experiment@rig1`` running ``bigmap.experiment`` (``ExperimentCalcJob``), the
  code a campaign takes as ``methods.experiment.code`` or ``methods.instruments.<name>``.

An ``https://`` server is verified with ``ca_bundle`` (a PEM file, e.g. the rig's self-signed
certificate), or else with the system's trusted authorities. An ``http://`` URL of a host other
than this machine's loopback is refused unless ``insecure_http=True``: the token would cross the
network in clear.

It is idempotent: what exists and matches is reported and left alone; a different token source
or poll interval is updated; a computer of that name that is not this instrument (another URL
or plugin) is an error, because stored computers carry the provenance of the jobs that ran on
them. Finally it tries the connection and reports what the server says (or why it cannot be
reached: a lab server may legitimately be off while it is registered). ``verdi computer test NAME``
passes on such a computer (its temporary file goes to the work directory's own workspace, see
:mod:`.transport`).

``bigmap-al instrument register`` is the command-line face of :func:`register`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import typing as t
import urllib.parse

from ..profile import SetupStep
from .client import InstrumentError, check_url
from .protocol import RAW_FILE, REQUEST_FILE, RESULT_FILE, is_loopback

if t.TYPE_CHECKING:
    from aiida.orm import Computer, InstalledCode

__all__ = ["DEFAULT_POLL_INTERVAL", "PLUGIN", "Registration", "check_connection", "code_label",
           "ensure_experiment_code", "register"]

#: Transport and scheduler entry point of instrument computers.
PLUGIN = "bigmap.instrument"
#: Calculation entry point of the experiment code.
EXPERIMENT_PLUGIN = "bigmap.experiment"
#: Seconds between polls of the instrument's queue.
DEFAULT_POLL_INTERVAL = 2.0
#: Work directory of instrument computers: job directories map to workspaces below it.
WORKDIR = "/"
#: What the code "executes": the instrument runs the job's request file (nothing else runs).
EXECUTABLE = REQUEST_FILE


@dataclasses.dataclass(frozen=True)
class Registration:
    """The computer and code of a registered instrument, and what :func:`register` did."""

    computer: Computer
    code: InstalledCode
    steps: list[SetupStep]


def code_label(name: str) -> str:
    """Label of the experiment code of instrument ``name`` (full label ``<label>@<name>``)."""
    return f"{name}-experiment"


def register(
    name: str,
    url: str,
    *,
    token_env: str | None = None,
    token_file: str | pathlib.Path | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    safe_interval: float = 0.5,
    timeout: float = 30.0,
    check: bool = True,
    ca_bundle: str | pathlib.Path | None = None,
    insecure_http: bool = False,
) -> Registration:
    """Create (or check) the computer and code of instrument ``name`` served at ``url`` in the loaded profile.

    Give the token's source as ``token_file`` (preferred: daemon workers read it whatever their
    environment) or ``token_env``. ``safe_interval`` is the transport's cool-down between
    connections (s), ``timeout`` its HTTP read timeout (s). ``check=False`` skips the connection test.
    """
    url = _checked_url(url, ca_bundle, insecure_http)
    auth = _auth_params(token_env, token_file, safe_interval, timeout)
    auth["ca_bundle"] = _checked_ca_bundle(ca_bundle)
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 s, got {poll_interval}")
    computer, action = _ensure_computer(name, url)
    steps = [SetupStep(f"computer `{name}`", action, f"{PLUGIN} transport and scheduler, {url}")]
    steps.append(_ensure_configuration(computer, auth, poll_interval))
    code, action = ensure_experiment_code(computer)
    steps.append(SetupStep(f"code `{code.full_label}`", action, f"runs {EXPERIMENT_PLUGIN} (ExperimentCalcJob)"))
    if check:
        steps.append(check_connection(computer))
    return Registration(computer, code, steps)


def _checked_url(url: str, ca_bundle: str | pathlib.Path | None, insecure_http: bool) -> str:
    url = check_url(url)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "http" and not insecure_http and not is_loopback(parsed.hostname or ""):
        raise ValueError(f"refusing the plain http URL {url}: the token would cross the network in clear; serve the "
                         f"instrument with TLS and register its https:// URL (with --ca-bundle for its own "
                         f"certificate), or give --insecure-http")
    if parsed.scheme == "http" and ca_bundle:
        raise ValueError(f"a CA bundle verifies https servers only; {url} is http")
    return url


def _checked_ca_bundle(ca_bundle: str | pathlib.Path | None) -> str:
    if not ca_bundle:
        return ""
    path = pathlib.Path(ca_bundle).expanduser().absolute()
    if not path.is_file():
        raise FileNotFoundError(f"CA bundle {str(path)!r} does not exist")
    return str(path)


def _auth_params(token_env: str | None, token_file: str | pathlib.Path | None, safe_interval: float,
                 timeout: float) -> dict[str, t.Any]:
    if bool(token_env) == bool(token_file):
        raise ValueError("give exactly one source of the instrument token: token_env (a variable name) or token_file")
    if token_file:
        path = pathlib.Path(token_file).expanduser().absolute()
        if not path.is_file():
            raise FileNotFoundError(f"instrument token file {str(path)!r} does not exist")
        token_file = str(path)
    if safe_interval < 0 or timeout <= 0:
        raise ValueError(f"safe_interval must be >= 0 and timeout > 0, got {safe_interval} and {timeout}")
    return {"token_file": token_file or "", "token_env": token_env or "", "timeout": float(timeout),
            "safe_interval": float(safe_interval), "use_login_shell": False}


def _ensure_computer(name: str, url: str) -> tuple[Computer, str]:
    from aiida.common.exceptions import NotExistent
    from aiida.orm import Computer

    try:
        computer = Computer.collection.get(label=name)
    except NotExistent:
        computer = Computer(
            label=name,
            hostname=url,
            description=f"Instrument server at {url} (bigmap-al instrument bridge)",
            transport_type=PLUGIN,
            scheduler_type=PLUGIN,
            workdir=WORKDIR,
        ).store()
        return computer, "created"
    found = (computer.hostname, computer.transport_type, computer.scheduler_type, computer.get_workdir())
    if found != (url, PLUGIN, PLUGIN, WORKDIR):
        raise ValueError(
            f"a computer `{name}` exists but is not this instrument (hostname {found[0]}, transport {found[1]}, "
            f"scheduler {found[2]}, workdir {found[3]}); register the instrument under another name"
        )
    return computer, "already exists"


def _ensure_configuration(computer: Computer, auth: dict[str, t.Any], poll_interval: float) -> SetupStep:
    """Configure the default user's token source, and the poll interval, where they differ."""
    if not computer.is_configured:
        action = "configured"
    elif computer.get_configuration() != auth:
        action = "reconfigured"
    elif computer.get_minimum_job_poll_interval() != poll_interval:
        action = "poll interval updated"
    else:
        action = "already configured"
    computer.configure(**auth)
    computer.set_minimum_job_poll_interval(poll_interval)
    source = f"token from file {auth['token_file']}" if auth["token_file"] else f"token from ${auth['token_env']}"
    return SetupStep(f"computer `{computer.label}` for the default user", action,
                     f"{source}, poll every {poll_interval:g} s")


def ensure_experiment_code(computer: Computer, executable: str = EXECUTABLE,
                           description: str | None = None) -> tuple[InstalledCode, str]:
    """The experiment code of ``computer`` (also the broker's: ``broker_bridge.register``), created if missing."""
    from aiida.common.exceptions import NotExistent
    from aiida.orm import InstalledCode, load_code

    label = code_label(computer.label)
    try:
        code = load_code(f"{label}@{computer.label}")
    except NotExistent:
        code = InstalledCode(
            label=label,
            description=description or (f"Measurements on the instrument {computer.label} "
                                         f"({REQUEST_FILE} -> {RESULT_FILE} + {RAW_FILE})"),
            computer=computer,
            filepath_executable=executable,
            default_calc_job_plugin=EXPERIMENT_PLUGIN,
        ).store()
        return code, "created"
    if code.default_calc_job_plugin != EXPERIMENT_PLUGIN:
        raise ValueError(
            f"code {code.full_label} exists but runs {code.default_calc_job_plugin}, not {EXPERIMENT_PLUGIN}")
    return code, "already exists"


def check_connection(computer: Computer) -> SetupStep:
    """Open the computer's transport: is the server there, does it take the token, what does it offer?"""
    from .transport import silenced  # the transport module imports this one

    item = f"instrument server {computer.hostname}"
    try:
        transport = computer.get_transport()
        with silenced(transport.logger), transport:  # the refusal below says it once
            instrument = transport.whoami()
            methods = sorted(transport.client.methods())
    except InstrumentError as error:
        return SetupStep(item, "not usable now", str(error))
    return SetupStep(item, "reachable", f"instrument {instrument!r}, methods {', '.join(methods)}")
