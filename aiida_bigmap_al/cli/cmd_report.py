"""``bigmap-al report``: one self-contained HTML page for a finished campaign.

The page is built by :mod:`aiida_bigmap_al.analysis.report`; the campaign is loaded as
``bigmap-al campaign show`` loads it (a pk or UUID, any campaign mode).
"""

import pathlib

import click

from .cmd_campaign import PK_OR_UUID, _campaign
from .root import main


@main.command("report")
@click.argument("pk", type=PK_OR_UUID)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=pathlib.Path),
              help="Where to write the page (HTML)  [default: report-<PK>.html]")
def report(pk, out):
    """Write one HTML page about campaign PK (a pk or UUID) that opens anywhere, offline.

    \b
    Sections: the configuration (space, strategy, budget, methods, codes); the best so far
    (per temperature where there are several); the response surface of the last model with
    the measured points; the suggestions with their predicted mean and std; the time per
    action and instrument (campaigns with instrument experiments); the provenance, with the
    UUIDs of the campaign, its datasets, models, suggestions and measurements. Images are
    embedded, so the page is a single file that makes no request.
    """
    from ..analysis.report import write_report

    node = _campaign(pk)
    out = out or pathlib.Path(f"report-{pk}.html")
    write_report(node, out)
    click.echo(f"report: {out}")
