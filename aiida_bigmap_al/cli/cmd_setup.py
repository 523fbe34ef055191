"""``bigmap-al setup``: make the active AiiDA profile ready to run campaigns.

The work is done by :func:`aiida_bigmap_al.profile.setup`; this command only prints what it did.
AiiDA is imported inside the command, after :func:`aiida_bigmap_al.profile.ensure_environment`
had its say about which configuration to use.
"""

import click

from .root import main


@main.command("setup")
def setup():
    """Create what the suite needs in the active AiiDA profile, if missing.

    \b
    The active profile is AIIDA_PROFILE, else the default profile of the configuration in
    AIIDA_PATH, else of the repository's own .aiida/ (whose profile `bigmap-al`, with SQLite
    storage and the ZeroMQ broker, is created when there is none). In it this command creates:
      * the computer `localhost` (core.local transport, core.direct scheduler), configured
        for the default user;
      * the code `bigmap-sim@localhost`, the simulator of this Python environment.
    Safe to run again: existing items are reported and left unchanged.
    """
    from .. import profile

    try:
        steps = profile.setup()
    except (RuntimeError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    for step in steps:
        click.echo(str(step))
    click.echo(f"Ready. With verdi: AIIDA_PATH={_aiida_path()} verdi -p {_profile_name()} ...")


def _aiida_path() -> str:
    """The ``AIIDA_PATH`` that selects the configuration just used (its folder's parent)."""
    import pathlib

    from aiida.manage.configuration import get_config

    return str(pathlib.Path(get_config().dirpath).parent)


def _profile_name() -> str:
    from aiida.manage.configuration import get_profile

    return get_profile().name
