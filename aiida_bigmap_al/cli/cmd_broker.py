"""``bigmap-al broker``: run the FINALES2-compatible broker and administer its users, capabilities and tenants.

The admin commands write to the broker's database directly (``--db``, the same URL the server
uses), so users and tenants exist only if someone with access to that database made them.
"""

from __future__ import annotations

import json
import os
import sys

import click

from .root import main

DB_OPTION = click.option("--db", envvar="BIGMAP_BROKER_DB", default="broker.sqlite", show_default=True,
                         help="Database: a SQLite file path or URL, or postgresql://USER@HOST/NAME "
                              "(env BIGMAP_BROKER_DB).")


def _open(db: str):
    from sqlalchemy.exc import SQLAlchemyError

    from ..broker.admin import open_database

    try:
        return open_database(db)
    except (SQLAlchemyError, ImportError) as error:
        raise click.ClickException(f"cannot open broker database {db!r}: {error}") from None


def _admin(call, *args, **kwargs):
    from ..broker.admin import AdminError

    try:
        return call(*args, **kwargs)
    except AdminError as error:
        raise click.ClickException(str(error)) from None


@main.group("broker")
def broker():
    """The measurement broker: requests and results between clients (FINALES2 REST API)."""


@broker.command("serve")
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes (on SQLite they share the database file; 2 on a 2-core machine).")
@click.option("--token-seconds", type=click.IntRange(min=1), default=8 * 3600, show_default=True,
              help="Lifetime of an access token.")
@click.option("--max-body", type=click.IntRange(min=1), default=1024 * 1024, show_default=True,
              help="Largest request body in bytes (larger ones get 413 before anything else).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every HTTP call.")
def serve(db, host, port, workers, token_seconds, max_body, log_level, access_log):
    """Serve the broker over HTTP; the token signing secret comes from BIGMAP_BROKER_SECRET (required)."""
    import uvicorn

    from ..broker.settings import ConfigurationError, Settings

    try:
        settings = Settings(secret=os.environ.get("BIGMAP_BROKER_SECRET", ""), db=db,
                            token_seconds=token_seconds, max_body=max_body)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    if len(settings.secret.encode()) < 32:
        click.echo("warning: BIGMAP_BROKER_SECRET is shorter than 32 bytes; a short HS256 key can be guessed", err=True)
    _open(db).dispose()  # tables made once, and a bad URL reported here rather than by each worker
    os.environ.update(settings.to_env())  # how the worker processes get the settings
    click.echo(f"broker: serving on http://{host}:{port} (database {db}, {workers} worker(s))")
    uvicorn.run("aiida_bigmap_al.broker.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=access_log)


@broker.group("user")
def user():
    """Accounts that log in at POST /user_management/authenticate."""


@user.command("add")
@click.argument("name")
@DB_OPTION
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--read-only", is_flag=True, help="The account can read but not post or change anything.")
def user_add(name, db, password_stdin, read_only):
    """Add the user NAME (password: prompted, or from standard input with --password-stdin)."""
    from ..broker.admin import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    _admin(add_user, _open(db), name, password, read_only)
    click.echo(f"user {name!r} added{' (read-only)' if read_only else ''}")


@broker.group("capability")
def capability():
    """What can be requested: FINALES2 capability files (quantity, method, JSON schemas)."""


@capability.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@DB_OPTION
@click.option("--strict-results", is_flag=True,
              help="Refuse (422) results whose data do not fit the result schema; by default the misfit is "
                   "recorded with the result, as FINALES2 tenants post data that do not always fit.")
def capability_add(files, db, strict_results):
    """Register the FINALES2 capability FILES unchanged (request parameters are always checked)."""
    from ..broker.admin import add_capability

    database = _open(db)
    for path in files:
        key = _admin(add_capability, database, path, strict_results)
        click.echo(f"capability {key} registered{' (strict results)' if strict_results else ''}")


@capability.command("list")
@DB_OPTION
def capability_list(db):
    """The registered capabilities, one quantity/method a line."""
    from ..broker.capabilities import CapabilityCache

    for found in CapabilityCache(_open(db)).all():
        click.echo(f"{found.key}{'' if found.is_active else ' (inactive)'}")


@broker.group("tenant")
def tenant():
    """Clients that serve methods: instruments, simulations, people, AiiDA."""


@tenant.command("add")
@click.argument("name")
@click.option("--user", "user_name", required=True, help="The account the tenant logs in with.")
@click.option("--method", "methods", multiple=True, required=True, metavar="QUANTITY/METHOD",
              help="A method the tenant serves (repeat the option, or give several after it).")
@click.argument("more_methods", nargs=-1, metavar="[QUANTITY/METHOD]...")
@click.option("--limitations", type=click.Path(exists=True, dir_okay=False),
              help="JSON file: the tenant's FINALES2 limitations (a list, or a tenant file with 'limitations').")
@click.option("--contact", default="", help="Contact person.")
@DB_OPTION
def tenant_add(name, user_name, methods, more_methods, limitations, contact, db):
    """Register the tenant NAME of user --user serving the given methods; prints its uuid last."""
    from ..broker.admin import add_tenant

    limits = None
    if limitations:
        try:
            limits = json.loads(open(limitations).read())
        except json.JSONDecodeError as error:
            raise click.ClickException(f"{limitations}: {error}") from None
        limits = limits.get("limitations", []) if isinstance(limits, dict) else limits
    uuid = _admin(add_tenant, _open(db), name, user_name, [*methods, *more_methods], limits, contact)
    click.echo(f"tenant {name!r} of user {user_name!r} serves {', '.join([*methods, *more_methods])}")
    click.echo(uuid)


@tenant.command("list")
@DB_OPTION
def tenant_list(db):
    """The tenants: uuid, name and methods."""
    from ..broker.capabilities import CapabilityCache
    from ..broker.store import Store

    database = _open(db)
    for found in Store(database, CapabilityCache(database)).tenants():
        click.echo(f"{found['uuid']}  {found['name']}  {' '.join(found['methods'])}")


def _method_key(key: str) -> tuple[str, str]:
    quantity, _, method = key.partition("/")
    if not quantity or not method:
        raise click.BadParameter(f"{key!r} is not QUANTITY/METHOD", param_hint="--method")
    return quantity, method


@capability.command("point")
@click.option("--method", "key", default="conductivity/simulation", show_default=True, metavar="QUANTITY/METHOD")
def capability_point(key):
    """Print the capability of a point measurement (r, c, temperature -> value, unit): what an
    ExperimentCalcJob asks through the broker and `broker tenant run` serves. Register it with `capability add`."""
    from ..broker_bridge.capability import point_capability

    quantity, method = _method_key(key)
    click.echo(json.dumps(point_capability(quantity, method), indent=2))


def _broker_client(url: str, user: str, password_stdin: bool):
    """A logged-in client; the password from standard input or ``BIGMAP_BROKER_PASSWORD``."""
    from ..broker.client import BrokerClient, BrokerClientError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else os.environ.get("BIGMAP_BROKER_PASSWORD")
    if not password:
        raise click.UsageError("give the password on standard input (--password-stdin) or in BIGMAP_BROKER_PASSWORD")
    try:
        return BrokerClient(url, user, password)
    except BrokerClientError as error:
        raise click.ClickException(f"cannot log in to {url} as {user!r}: {error.detail}") from None


@tenant.command("run")
@click.option("--url", required=True, help="The broker's base URL, e.g. http://127.0.0.1:8000.")
@click.option("--user", required=True, help="The account the tenant logs in with.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input "
                                                     "(else from BIGMAP_BROKER_PASSWORD).")
@click.option("--tenant", "tenant_uuid", required=True, help="The tenant's uuid (`broker tenant add` printed it).")
@click.option("--method", "key", default="conductivity/simulation", show_default=True, metavar="QUANTITY/METHOD",
              help="The method to serve: a point capability (see `broker capability point`) or a FINALES2 "
                   "conductivity method that asks by formulation, e.g. conductivity/polynomial_interpolation.")
@click.option("--code", "code_label", default="bigmap-sim@localhost", show_default=True,
              help="AiiDA code of the simulator.")
@click.option("--model", default=None, help="Conductivity model of the simulator (default: the calcjob's).")
@click.option("--poll", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds between passes.")
@click.option("--once", is_flag=True, help="One pass, then stop (the jobs go on in the daemon).")
def tenant_run(url, user, password_stdin, tenant_uuid, key, code_label, model, poll, once):
    """Serve the broker's requests of --method with SimulationCalcJobs on the AiiDA daemon.

    Which request each process serves is kept in the provenance graph (the process's label and
    extras), so this command can be stopped or killed at any time and started again: no request
    is lost and none is served twice. Needs a running daemon (`verdi daemon start`).
    """
    from .. import profile

    quantity, method = _method_key(key)
    client = _broker_client(url, user, password_stdin)
    profile.load()
    from aiida.common.exceptions import NotExistent
    from aiida.orm import load_code

    from ..broker_bridge.tenant import AiidaTenant

    try:
        code = load_code(code_label)
    except NotExistent as error:
        raise click.ClickException(f"no AiiDA code {code_label!r}: {error}") from None
    options = {"model": model} if model else {}
    served = AiidaTenant(client, tenant_uuid, quantity, method, code, poll_seconds=poll, **options)
    click.echo(f"serving {key} of {url} as tenant {tenant_uuid}", err=True)
    try:
        served.serve_pending() if once else served.run()
    except KeyboardInterrupt:
        pass


@broker.command("trace")
@click.argument("uuid")
@click.option("--url", required=True, help="The broker's base URL.")
@click.option("--user", required=True, help="An account of the broker (read-only is enough).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input "
                                                     "(else from BIGMAP_BROKER_PASSWORD).")
def trace(uuid, url, user, password_stdin):
    """Where the result (or request) UUID comes from: the AiiDA process, suggestion and model that asked
    for it (when AiiDA asked), and the AiiDA process that answered it (when AiiDA answered)."""
    from .. import profile
    from ..broker.client import BrokerClientError

    client = _broker_client(url, user, password_stdin)
    profile.load()
    from ..broker_bridge.trace import describe
    from ..broker_bridge.trace import trace as follow

    try:
        found = follow(client, uuid)
    except BrokerClientError as error:
        raise click.ClickException(f"{uuid}: {error.detail}") from None
    request, result = found["request"], found["result"]
    click.echo(f"request   {request['uuid']}  {request['status']}  by tenant {request['request']['tenant_uuid']}")
    if result is not None:
        click.echo(f"result    {result['uuid']}  {result['status']}  by tenant {result['result']['tenant_uuid']}")
    asked = found["asked_by"]
    if asked is None:
        missing = f" (process {found['asked_by_uuid']} is not in this profile)" if found["asked_by_uuid"] else ""
        click.echo(f"asked by  no AiiDA process{missing}")
    else:
        for key in ("process", "suggestion", "suggested_by", "model", "campaign"):
            click.echo(f"{key.replace('_', ' '):<13} {describe(asked[key]) or '-'}")
    if found["answered_by_uuid"]:
        click.echo(f"answered by {describe(found['answered_by']) or found['answered_by_uuid'] + ' (not in this profile)'}")


def _store_password(name: str) -> str:
    """The password from standard input, kept in a file only its owner reads (the daemon reads it there)."""
    from ..broker_bridge.register import password_file_for

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("--password-stdin: standard input has no password on its first line")
    path = password_file_for(name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(password + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return str(path)


@broker.command("register")
@click.argument("name")
@click.option("--url", required=True, help="The broker's base URL, e.g. http://127.0.0.1:8000.")
@click.option("--user", required=True, help="The broker account the experiments ask as.")
@click.option("--tenant", required=True, help="The asking tenant: its uuid, or its name (looked up at the broker).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding the password (robust for the daemon, whatever its environment).")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password (in the daemon's "
                                                    "environment).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input and keep it in a file of mode 600 beside the AiiDA "
                   "configuration.")
@click.option("--quantity", default="conductivity", show_default=True, help="The quantity the experiments ask for.")
@click.option("--workdir", type=click.Path(file_okay=False),
              help="Local directory of the jobs' files.  [default: bigmap-broker/work/NAME beside the AiiDA "
                   "configuration]")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Seconds between AiiDA's polls of a request's status.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Log in and look the tenant up after registering (the broker may be down: not an error "
                   "when --tenant is a uuid).")
def register(name, url, user, tenant, password_file, password_env, password_stdin, quantity, workdir, poll_interval,
             check):
    """Make the broker at --url usable by campaigns, as the AiiDA computer NAME.

    \b
    Creates, in the active AiiDA profile (see `bigmap-al setup`):
      * the computer NAME: hostname URL, transport core.local, scheduler bigmap.broker, with the
        account, the password's source (never the password itself) and the asking tenant;
      * the code NAME-experiment@NAME, running bigmap.experiment (ExperimentCalcJob): give it
        to a campaign as methods.experiment.code or as one of its lanes.
    Safe to run again: what exists is reported; a new account, password source, tenant or poll
    interval is applied.
    """
    from .. import profile

    if sum(map(bool, (password_file, password_env, password_stdin))) != 1:
        raise click.UsageError("give exactly one of --password-file, --password-env, --password-stdin")
    try:
        profile.load()
        from ..broker_bridge.register import register as register_broker

        if password_stdin:
            password_file = _store_password(name)
        registration = register_broker(name, url, user, tenant, password_file=password_file,
                                       password_env=password_env, quantity=quantity, workdir=workdir,
                                       poll_interval=poll_interval, check=check)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    for step in registration.steps:
        click.echo(str(step))
