"""``bigmap-al reproduce``: the figures of the BIG-MAP demonstrator (D10.1), one command each.

Every command writes ``OUT/<name>.png`` and ``OUT/<name>.json`` from the FZJ data beside the
repository (``../shared/data/fzj_conductivity/``) or any file of that format given as --data.
"""

import pathlib

import click

from .root import main

DATA = click.option("--data", "data_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
                    default=None, help="A conductivity file in the FZJ format [default: the FZJ "
                                       "file in ../shared/data/fzj_conductivity/].")
OUT = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=pathlib.Path),
                   default=pathlib.Path("reproduce"), show_default=True,
                   help="Directory for the PNG and the JSON (created).")
TEMPERATURES = click.option("-T", "--temperature", "temperatures", type=float, multiple=True,
                            help="A temperature in °C (repeatable) [default: see the command].")
SEED = click.option("--seed", type=int, default=0, show_default=True, help="Seed of folds and models.")
FOLDS = click.option("--folds", type=click.IntRange(min=2), default=10, show_default=True,
                     help="Cross-validation folds of the model choice and its calibration.")
MODEL = click.option("-m", "--model", "model_names", multiple=True,
                     help="Candidate model (repeatable, see `bigmap-al models`) [default: all, "
                          "the best by cross-validation is used].")


def model_choice(command):
    """--model, --folds and --seed: which candidates, and how they are cross-validated."""
    return MODEL(FOLDS(SEED(command)))


@main.group("reproduce")
def reproduce():
    """Reproduce a figure of the BIG-MAP demonstrator (D10.1): PNG and JSON into --out."""


def load_data(data_path):
    """The FZJ-format data at ``data_path`` (default: beside the repository); never a fallback."""
    from ..datasets import DataFormatError, load_fzj
    from ..reproduce.common import DEFAULT_DATA

    path = DEFAULT_DATA if data_path is None else data_path
    if not path.is_file():
        hint = "" if data_path is not None else " (the default place of the FZJ data); give --data FILE"
        raise click.BadParameter(f"{path} does not exist{hint}", param_hint="--data")
    try:
        return load_fzj(path)
    except DataFormatError as error:
        raise click.BadParameter(str(error), param_hint="--data") from None


def write(figures, plot, out_dir, name):
    """``OUT/name.json`` and ``OUT/name.png``; echo both paths."""
    from ..reproduce.common import write_json

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = write_json(figures, out_dir / f"{name}.json")
    png_path = plot(figures, out_dir / f"{name}.png")
    click.echo(f"numbers: {json_path}\nfigure:  {png_path}")


def refuse(error, hint):
    """A ValueError of the analysis as a usage error of option ``hint``."""
    raise click.BadParameter(str(error), param_hint=hint) from None


@reproduce.command("acceleration")
@DATA
@OUT
@click.option("--seeds", type=click.IntRange(min=2), default=30, show_default=True,
              help="Campaigns per strategy and temperature (seeds 0..N-1).")
@TEMPERATURES
@click.option("-s", "--strategy", "strategies", multiple=True,
              help="Strategy (repeatable; random is always run) [default: gp-exploit, "
                   "gp-landesfeind-ucb].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Campaigns run in parallel processes.")
def acceleration(data_path, out_dir, seeds, temperatures, strategies, jobs):
    """Enhancement factor EF(n) = P(best within n) / (n/N) and best-so-far curves against random."""
    from ..reproduce import acceleration as figure

    data = load_data(data_path)
    try:
        figures = figure.run(data, strategies or figure.DEFAULT_STRATEGIES, seeds, temperatures, jobs)
    except ValueError as error:
        refuse(error, "--strategy/--temperature")
    for name, summary in figures["summary"].items():
        click.echo(f"{name:22s} mean to best {summary['mean_to_best']:5.1f}   EF(18) "
                   f"{summary['ef_at_18']:4.2f}   max EF {summary['max_ef']:4.2f} at n = "
                   f"{summary['n_at_max_ef']}")
    write(figures, figure.plot, out_dir, "acceleration")


@reproduce.command("holdout")
@DATA
@OUT
@click.option("--points", type=click.IntRange(min=32), default=512, show_default=True,
              help="Sobol points of the 2-D Schwefel function.")
@model_choice
def holdout(data_path, out_dir, model_names, points, folds, seed):
    """Train on the 15-85 % percentile of y, test on the tails, against a random split (Schwefel
    and FZJ): RMSE and coverage before and after recalibration."""
    from ..conductivity_models import candidates
    from ..reproduce import holdout as figure

    data = load_data(data_path)
    try:
        names = tuple(candidates(model_names))
    except ValueError as error:
        refuse(error, "--model")
    schwefel_models = tuple(name for name in names if name in figure.SCHWEFEL_MODELS)
    figures = figure.run(data, schwefel_models, names, points, folds, seed)
    click.echo(f"{'data':9s}{'model':20s}{'split':8s}{'RMSE':>7s}{'raw 1/2 std':>14s}"
               f"{'recalibrated':>15s}")
    for key in ("schwefel", "fzj"):
        for name, by_split in figures[key]["models"].items():
            for split, v in by_split.items():
                click.echo(f"{key:9s}{name:20s}{split:8s}{v['rmse']:7.3f}"
                           f"{v['raw']['within_1_std']:7.0%}{v['raw']['within_2_std']:7.0%}"
                           f"{v['calibrated']['within_1_std']:8.0%}{v['calibrated']['within_2_std']:7.0%}")
    write(figures, figure.plot, out_dir, "holdout")


def fitted_model(data, model_names, folds, seed):
    """The best candidate by cross-validation, fitted and calibrated; its name echoed."""
    from ..reproduce.common import chosen_model

    try:
        best, model, _ = chosen_model(data, model_names or None, folds, seed)
    except ValueError as error:
        refuse(error, "--model")
    click.echo(f"model: {best.name} (cross-validated RMSE {best.rmse:.3f} mS/cm)")
    return best.name, model


@reproduce.command("surfaces")
@DATA
@OUT
@TEMPERATURES
@click.option("--grid", type=click.IntRange(min=5), default=41, show_default=True,
              help="Grid points per axis of the formulation plane.")
@model_choice
def surfaces(data_path, out_dir, temperatures, grid, model_names, folds, seed):
    """Predicted conductivity and its std over (LiPF6/(EC+PC), PC/(EC+PC)) at each temperature
    [default: -10, 0, 30, 60 °C], measured points overlaid, optimum marked."""
    from ..reproduce import surfaces as figure

    data = load_data(data_path)
    name, model = fitted_model(data, model_names, folds, seed)
    figures = figure.run(data, model, name, temperatures or figure.DEFAULT_TEMPERATURES, grid)
    for surface in figures["temperatures"]:
        optimum = surface["optimum"]
        click.echo(f"{surface['T_C']:6g} °C: optimum {optimum['mean']:.2f} ± {optimum['std']:.2f} "
                   f"mS/cm at r = {optimum['r']:.3f}, c = {optimum['c']:.3f} mol/kg (w = "
                   f"{optimum['w']:.3f}); {len(surface['local_maxima'])} local maxima within 10 %, "
                   f"{surface['near_optimal_fraction']:.0%} of the plane within 5 %")
    write(figures, figure.plot, out_dir, "surfaces")


@reproduce.command("one-shot")
@DATA
@OUT
@click.option("-k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Proposals per temperature.")
@click.option("--candidates", "n_candidates", type=click.IntRange(min=16), default=4096,
              show_default=True, help="Sobol candidates of the formulation space.")
@click.option("--min-distance", type=click.FloatRange(min=0.0), default=0.1, show_default=True,
              help="Least distance between proposals in the unit square of (r, c).")
@model_choice
def one_shot(data_path, out_dir, k, n_candidates, min_distance, model_names, folds, seed):
    """The top-k proposals per temperature of the data, with the std of a future measurement,
    beside the best measured formulation."""
    from ..reproduce import one_shot as figure

    data = load_data(data_path)
    name, model = fitted_model(data, model_names, folds, seed)
    figures = figure.run(data, model, name, k, n_candidates, min_distance, seed)
    for entry in figures["temperatures"]:
        top, best = entry["proposals"][0], entry["best_measured"]
        click.echo(f"{entry['T_C']:6g} °C: top {top['mean']:.2f} ± {top['std']:.2f} mS/cm at "
                   f"r = {top['r']:.3f}, c = {top['c']:.3f}; best measured {best['value']:.2f} at "
                   f"r = {best['r']:.3f}, c = {best['c']:.3f}")
    write(figures, figure.plot, out_dir, "one-shot")
