"""``bigmap-al campaign run SPEC.yaml``: start an active-learning campaign described in a file."""

import pathlib

import click

from .cmd_campaign import campaign


@campaign.command("run")
@click.argument("spec_path", metavar="SPEC.yaml",
                type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--submit", is_flag=True,
              help="Submit to the daemon (`verdi daemon start`) instead of running here.")
def run(spec_path, submit):
    """Run (or submit) the ActiveLearningWorkChain that SPEC.yaml describes; print its pk.

    The campaign is checked before anything runs or is submitted (temperatures inside the range
    of the code that measures them, names, sizes within their limits, each code's plugin): a
    refusal is one line naming the field and what it may be, and nothing is stored. Run here,
    the command exits non-zero when the campaign does not finish ok, after printing its exit
    code and message.

    See `aiida_bigmap_al.campaign_spec` for the fields; codes are named by their labels
    (`bigmap-al setup` makes `bigmap-sim@localhost`, `bigmap-al instrument register` one per rig).
    """
    from .. import profile
    from ..campaign_spec import load_spec
    from ..datasets import DataFormatError

    try:
        spec = load_spec(spec_path)
    except ValueError as error:  # names the file (and line and column) itself
        raise click.ClickException(str(error)) from None
    profile.load()
    from aiida.common.exceptions import MultipleObjectsError, NotExistent
    from aiida.engine import run_get_node, submit as submit_process

    from ..workchains import ActiveLearningWorkChain

    try:
        inputs = spec.inputs()
        refusal = ActiveLearningWorkChain.refusal(inputs)  # before anything runs or is stored
    except DataFormatError as error:  # the data file's own error: it names that file, not SPEC.yaml
        raise click.ClickException(str(error)) from None
    except (NotExistent, MultipleObjectsError, OSError, ValueError) as error:
        raise click.ClickException(f"{spec_path}: {error}") from None
    if refusal:
        raise click.ClickException(f"{spec_path}: {refusal}")
    if submit:
        node = submit_process(ActiveLearningWorkChain, **inputs)
        click.echo(f"submitted; follow it with `verdi process report {node.pk}`")
        click.echo(f"pk={node.pk}")
        return
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    status = "finished" if node.is_finished_ok else f"failed [{node.exit_status}] {node.exit_message}"
    click.echo(f"campaign {status}; `bigmap-al campaign show {node.pk}`")
    click.echo(f"pk={node.pk}")
    if not node.is_finished_ok:
        raise SystemExit(1)  # a campaign that did not finish ok is a failed command
