"""``bigmap-al instrument``: run an instrument server on the lab PC next to the hardware."""

from __future__ import annotations

import click

from .root import main


@main.group("instrument")
def instrument():
    """Instrument servers that carry out measurement jobs on (real or emulated) lab hardware."""


@instrument.command("serve")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--host", default=None, help="Interface to bind (default: the config's host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: the config's port).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--insecure-http", is_flag=True,
              help="Allow plain http on an interface other than loopback (the token then crosses the network "
                   "in clear). Without it, such a --host needs tls_certfile and tls_keyfile in CONFIG.")
def serve(config, host, port, log_level, insecure_http):
    """Serve the rig described by the YAML file CONFIG over HTTP or HTTPS (FastAPI + uvicorn).

    Starts the configured device emulators (if any), opens every device, and runs the queued jobs
    one at a time. Stop it with Ctrl-C; a job running at that moment ends failed. With
    tls_certfile and tls_keyfile in CONFIG it serves https.
    """
    import logging

    import uvicorn

    from ..instrument_bridge.protocol import is_loopback
    from ..instrument_bridge.server.app import create_app
    from ..instrument_bridge.server.config import ConfigError, load_config
    from ..instrument_bridge.server.drivers import DeviceError
    from ..instrument_bridge.server.instrument import DataDirInUse, Instrument

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rig = load_config(config)
        rig.resolve_token()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    host = host or rig.host
    port = rig.port if port is None else port
    if not rig.tls and not insecure_http and not is_loopback(host):
        raise click.ClickException(
            f"refusing to serve plain http on {host}: the token would cross the network in clear; set tls_certfile "
            f"and tls_keyfile in {config}, or give --insecure-http")
    instrument = Instrument(rig)
    try:
        instrument.start()  # before binding the port: a dead device is reported here, by name
    except (DeviceError, DataDirInUse, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot start instrument {rig.instrument!r}: {exc}") from None
    scheme = "https" if rig.tls else "http"
    click.echo(f"instrument {rig.instrument!r}: serving on {scheme}://{host}:{port} (data in {rig.data_dir})")
    tls = {"ssl_certfile": str(rig.tls_certfile), "ssl_keyfile": str(rig.tls_keyfile)} if rig.tls else {}
    try:
        uvicorn.run(create_app(rig, instrument), host=host, port=port, log_level=log_level, **tls)
    finally:
        instrument.stop()


@instrument.command("register")
@click.argument("name")
@click.argument("url")
@click.option("--token-env", metavar="VAR",
              help="Environment variable holding the server's token (in the daemon's environment).  "
                   "[default: BIGMAP_RIG_TOKEN unless --token-file is given]")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding the server's token (robust for the daemon, whatever its environment).")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Seconds between polls of the instrument's job queue.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Try the connection after registering (the server may be off; that is not an error).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False),
              help="PEM file of the certificate(s) verifying an https:// URL, e.g. the rig's self-signed "
                   "certificate (default: the system's trusted authorities).")
@click.option("--insecure-http", is_flag=True,
              help="Allow an http:// URL of another host than this one (the token then crosses the network in clear).")
def register(name, url, token_env, token_file, poll_interval, check, ca_bundle, insecure_http):
    """Make the instrument server at URL usable by campaigns, as the AiiDA computer NAME.

    \b
    Creates, in the active AiiDA profile (see `bigmap-al setup`):
      * the computer NAME: hostname URL, transport and scheduler bigmap.instrument,
        configured for the default user with the token's source (never the token itself);
      * the code NAME-experiment@NAME, running bigmap.experiment (ExperimentCalcJob): give it
        to a campaign as methods.experiment.code or methods.instruments.<name>.
    Safe to run again: what exists is reported; a new token source or poll interval is applied.
    URL is https://HOST:PORT for a server with TLS (see --ca-bundle); plain http:// is accepted
    for this machine's loopback only, unless --insecure-http is given.
    """
    from .. import profile

    if token_env and token_file:
        raise click.UsageError("give --token-env or --token-file, not both")
    if not token_file:
        token_env = token_env or "BIGMAP_RIG_TOKEN"
    try:
        profile.load()
        from ..instrument_bridge.register import register as register_instrument

        registration = register_instrument(name, url, token_env=token_env, token_file=token_file,
                                           poll_interval=poll_interval, check=check, ca_bundle=ca_bundle,
                                           insecure_http=insecure_http)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    for step in registration.steps:
        click.echo(str(step))
