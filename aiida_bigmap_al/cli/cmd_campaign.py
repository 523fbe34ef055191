"""``bigmap-al campaign``: look at a finished active-learning campaign and export it.

The commands work on the active AiiDA profile (see :func:`aiida_bigmap_al.profile.load`): AiiDA
is imported inside each command, after :func:`aiida_bigmap_al.profile.ensure_environment` chose
the configuration. What they show and write comes from :mod:`aiida_bigmap_al.export` (reading the
provenance graph) and :mod:`aiida_bigmap_al.analysis.history` (tables and plots).
"""

import pathlib

import click

from .root import main

_FILE = click.Path(dir_okay=False, writable=True, path_type=pathlib.Path)


class _PkOrUuid(click.ParamType):
    """A node's pk (an integer), or its UUID (or the start of one, as ``verdi`` takes), which
    stays the same when an archive is imported into another profile."""

    name = "PK|UUID"

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        if text.isdigit():
            return int(text)
        if len(text) >= 4 and set(text) <= set("0123456789abcdef-"):
            return text
        self.fail(f"{value!r} is neither a pk (an integer) nor a UUID", param, ctx)


PK_OR_UUID = _PkOrUuid()


@main.group("campaign")
def campaign():
    """Show, time and export active-learning campaigns (ActiveLearningWorkChain nodes), by pk or UUID.

    `bigmap-al campaign run SPEC.yaml` starts one from a campaign file."""


@campaign.command("show")
@click.argument("pk", type=PK_OR_UUID)
@click.option("--plot", "plot_path", type=_FILE,
              help="Where to write the best-so-far plot (PNG)  [default: campaign-<PK>.png]")
def show(pk, plot_path):
    """Print what campaign PK suggested and measured, iteration by iteration, and its best.

    \b
    One line per suggestion: the iteration and model version that proposed it, the point, the
    model's prediction, the measured value and its origin (or why its measurement failed), and
    the best value found so far. A best-so-far plot is written as well.
    """
    from ..analysis.history import format_table, write_plot
    from ..export import campaign_record

    record = campaign_record(_campaign(pk))
    click.echo(format_table(record))
    plot_path = plot_path or pathlib.Path(f"campaign-{pk}.png")
    write_plot(record, plot_path)
    click.echo(f"plot: {plot_path}")


@campaign.command("export")
@click.argument("pk", type=PK_OR_UUID)
@click.argument("archive", type=_FILE)
@click.option("--hdf5", "hdf5_path", type=_FILE,
              help="The HDF5 file with the data table and model history  [default: ARCHIVE with suffix .h5]")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing files.")
def export(pk, archive, hdf5_path, force):
    """Write campaign PK as an AiiDA archive (ARCHIVE) and as an HDF5 file.

    \b
    The archive holds the campaign's whole provenance graph (every calculation, input and
    output); import it with `verdi archive import`, or upload it to Materials Cloud Archive.
    The HDF5 file holds the campaign's data table (with units), the model history and the
    suggestions, readable with h5py alone.
    """
    from .. import export as exporting

    hdf5_path = hdf5_path or archive.with_suffix(".h5")
    if hdf5_path.resolve() == archive.resolve():
        raise click.BadParameter(f"the HDF5 file must differ from the archive ({archive})", param_hint="--hdf5")
    for path in (archive, hdf5_path):
        if path.exists() and not force:
            raise click.ClickException(f"{path} exists; use --force to overwrite it")
    node = _campaign(pk)
    record = exporting.campaign_record(node)
    exporting.write_archive(node, archive, overwrite=force)
    click.echo(f"archive: {archive}")
    exporting.write_hdf5(record, hdf5_path, overwrite=force)
    click.echo(f"hdf5: {hdf5_path} ({len(record['dataset'])} measurements, {len(record['models'])} models)")


@campaign.command("timing")
@click.argument("pk", type=PK_OR_UUID)
@click.option("--plot", "plot_path", type=_FILE,
              help="Where to write the timing plot (PNG)  [default: campaign-<PK>-timing.png]")
def timing(pk, plot_path):
    """Show where the time of campaign PK went: per action, per instrument, and AiiDA's overhead.

    \b
    Reads the action times of every experiment of the campaign (through its lanes too) from the
    instrument's result.json (or raw.h5) and prints: time per action (total, mean, share of the
    instruments' busy time); per instrument the jobs, busy time, idle time between jobs, and the
    AiiDA overhead (wall time - busy time), split into time in its CalcJobs (upload, queue, polls,
    retrieval, parsing) and between them (learner, workflow); the campaign's wall time. The plot
    stacks each instrument's time by action, then the overhead.
    """
    from ..analysis.timing import TimingError, format_tables, write_plot
    from ..export import CampaignError, campaign_timing_record

    node = _campaign(pk)
    try:
        record = campaign_timing_record(node)
        click.echo(format_tables(record))
        plot_path = plot_path or pathlib.Path(f"campaign-{pk}-timing.png")
        write_plot(record, plot_path)
    except (CampaignError, TimingError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"plot: {plot_path}")


def _campaign(pk):
    """Load the active profile, then campaign ``pk``; a clear error for a bad PK."""
    from .. import profile

    profile.ensure_environment()  # before AiiDA is first imported: it fixes the configuration folder
    try:
        profile.load()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    from ..export import CampaignError, load_campaign

    try:
        return load_campaign(pk)
    except CampaignError as error:
        raise click.ClickException(str(error)) from None
