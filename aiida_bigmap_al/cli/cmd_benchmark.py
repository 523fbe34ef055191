"""``bigmap-al benchmark``: simulated campaigns on pre-generated data against random sampling."""

import json
import pathlib

import click

from .root import main


@main.command("benchmark")
@click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="A conductivity file in the FZJ format; the built-in data set when omitted.")
@click.option("--seeds", type=click.IntRange(min=1), default=30, show_default=True,
              help="Campaigns per strategy and temperature (seeds 0..N-1).")
@click.option("-s", "--strategy", "strategies", multiple=True,
              help="A strategy to run (repeatable); `random` is always run. Default: random, "
                   "gp-exploit, gp-landesfeind-ucb.")
@click.option("--sequential", is_flag=True,
              help="Also run sequential campaigns over the temperatures, coldest first.")
@click.option("--joint", is_flag=True,
              help="Also run joint campaigns: all temperatures at once, one (formulation, "
                   "temperature) per iteration, until every temperature's best is measured.")
@click.option("-T", "--temperature", "temperatures", type=float, multiple=True,
              help="Only the data at this temperature in K (repeatable); all by default.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Write all figures to this JSON file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              default="benchmark.png", show_default=True, help="Best-so-far plot (PNG).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
@click.option("--list", "list_strategies", is_flag=True, help="List the strategies and exit.")
def benchmark(data_path, seeds, strategies, sequential, joint, temperatures, json_path, plot_path, jobs,
              list_strategies):
    """Pool-based active learning on measured data, per temperature, against random sampling."""
    from ..analysis.plots import best_so_far_plot
    from ..benchmark import DEFAULT_STRATEGIES, format_table, run_benchmark
    from ..datasets import load_fzj, load_or_builtin
    from ..learning import STRATEGIES

    if list_strategies:
        for name, strategy in {"random": None, **STRATEGIES}.items():
            click.echo(f"{name:20s} {strategy.model_dump_json() if strategy else 'uniform random picks'}")
        return
    data = load_fzj(data_path) if data_path is not None else load_or_builtin(None)
    click.echo(f"data: {data.source}", err=True)
    try:
        figures = run_benchmark(data, strategies or DEFAULT_STRATEGIES, seeds, sequential, jobs,
                                source=data_path, joint=joint, temperatures=temperatures or None)
    except ValueError as error:
        hint = "--temperature" if str(error).startswith("no data at") else "--strategy"
        raise click.BadParameter(str(error), param_hint=hint) from error
    click.echo(format_table(figures))
    best_so_far_plot(figures["curves"], plot_path)
    click.echo(f"plot: {plot_path}")
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=2))
        click.echo(f"figures: {json_path}")

