"""``bigmap-al gitt FILE``: the diffusion coefficient of every GITT pulse (Weppner-Huggins)."""

import json
import pathlib

import click

from .root import main


@main.command("gitt")
@click.argument("path", type=click.Path(path_type=pathlib.Path))
@click.option("--volume-to-area", "length", type=float, required=True,
              help="V_M m_B / (M_B S) in cm: the diffusion length (a slab's thickness, a "
                   "sphere's radius / 3).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Write one object per pulse to this JSON file.")
def gitt(path, length, json_path):
    """Analyse the GITT table in PATH (CSV with 'time [s]', 'current [A]', 'voltage [V]'; or HDF5).

    Prints, per pulse (D only where a rest follows it), its start, tau, the chemical diffusion
    coefficient, the linear region of E against sqrt(t) and its R^2, and any warning (e.g. where
    tau << L^2/D fails). Pulses are numbered from 0 in time order.
    """
    from ..analysis.gitt import GittError, analyse, read_table

    try:
        pulses = analyse(read_table(path), length)
    except GittError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'pulse':>5s} {'start [s]':>10s} {'tau [s]':>8s} {'D [cm2/s]':>10s} "
               f"{'linear sqrt(t) region [s]':>26s} {'R2':>8s}")
    for pulse in pulses:
        low, high = pulse.linear_region_s
        D = "-" if pulse.D_cm2_s is None else f"{pulse.D_cm2_s:.3e}"
        click.echo(f"{pulse.pulse:5d} {pulse.start_s:10.1f} {pulse.tau_s:8.2f} {D:>10s} "
                   f"{f'{low:.3g} - {high:.3g}':>26s} {pulse.linear_fit_r2:8.5f}")
        for warning in pulse.warnings:
            click.echo(f"      warning: {warning}", err=True)
    if json_path is not None:
        json_path.write_text(json.dumps([pulse.as_dict() for pulse in pulses], indent=2))
        click.echo(f"pulses: {json_path}")
