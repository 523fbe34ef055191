"""``bigmap-al models``: which conductivity model to trust, by leave-formulation-out cross-validation."""

import json
import pathlib

import click

from .root import main

DATA = click.option("--data", "data_path", required=True,
                    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
                    help="A conductivity file in the FZJ format.")
FOLDS = click.option("--folds", type=click.IntRange(min=2), default=10, show_default=True,
                     help="Cross-validation folds (whole formulations per fold).")
BATCH_NOISE = click.option("--batch-noise", type=click.FloatRange(0.0, 1.0, max_open=True),
                           default=None,
                           help="Relative std between measurement batches or rigs "
                                "[default: 0.03, see the README].")
SEED = click.option("--seed", type=int, default=0, show_default=True,
                    help="Seed of the folds and the models.")


def training_data(data_path, batch_noise):
    """The formulation means of a data file, with the noise of its measurements."""
    from ..conductivity_models import DEFAULT_BATCH_NOISE, TrainingData
    from ..datasets import DataFormatError, load_fzj

    try:
        data = load_fzj(data_path)
    except DataFormatError as error:
        raise click.BadParameter(str(error), param_hint="--data") from None
    return TrainingData.from_data(data, DEFAULT_BATCH_NOISE if batch_noise is None else batch_noise)


@main.command("models")
@DATA
@click.option("-m", "--model", "names", multiple=True,
              help="Score only this candidate (repeatable); all by default.")
@FOLDS
@BATCH_NOISE
@SEED
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Write every score to this JSON file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Calibration plot (expected vs observed coverage), PNG.")
def models(data_path, names, folds, batch_noise, seed, json_path, plot_path):
    """Score every surrogate (with and without prior) by cross-validation grouped by formulation.

    Prints the RMSE per temperature, the bias and the fraction of held-out values within 1 and 2
    standard deviations (raw: the model's own std; calibrated: recalibrated std plus measurement
    noise, the std `bigmap-al predict` reports), and names the model that predict would use.
    """
    from ..analysis.model_table import format_scores
    from ..conductivity_models import candidates, choose, score_candidates

    try:
        strategies = candidates(names)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    training = training_data(data_path, batch_noise)
    click.echo(f"data: {data_path} ({len(training.y)} formulation means, replicate noise "
               f"{training.noise.replicate:.1%}, between batches {training.noise.between_batch:.1%})",
               err=True)
    with click.progressbar(length=len(strategies), label="cross-validating",
                           file=click.get_text_stream("stderr")) as bar:
        scores = score_candidates(training, strategies, folds, seed, progress=lambda _: bar.update(1))
    best = choose(scores)
    click.echo(format_scores(scores, best))
    if json_path is not None:
        json_path.write_text(json.dumps({
            "data": str(data_path), "n_rows": len(training.y),
            "noise": {"replicate": training.noise.replicate,
                      "between_batch": training.noise.between_batch},
            "chosen": best.name, "models": [score.as_dict() for score in scores]}, indent=2))
        click.echo(f"scores: {json_path}")
    if plot_path is not None:
        from ..analysis.model_table import calibration_plot

        calibration_plot(scores, plot_path)
        click.echo(f"calibration plot: {plot_path}")
