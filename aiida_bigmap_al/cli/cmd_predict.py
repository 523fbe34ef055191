"""``bigmap-al predict``: conductivity with the std of a future measurement, at any (T, r, c)."""

import json
import pathlib

import click

from .cmd_models import BATCH_NOISE, DATA, FOLDS, SEED, training_data
from .root import main


@main.command("predict")
@DATA
@click.option("--query", "query_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
              help="CSV with the columns `T [K]`, `r`, `c [mol/kg]` (any order).")
@click.option("--json", "json_path", required=True,
              type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help="Write the predictions here: one {T, r, c, mean, std} per query row.")
@click.option("-m", "--model", "name", default=None,
              help="Use this candidate of `bigmap-al models` instead of the best by cross-validation.")
@FOLDS
@BATCH_NOISE
@SEED
def predict(data_path, query_path, json_path, name, folds, batch_noise, seed):
    """Mean and std of conductivity (mS/cm) from the best model trained on the given data alone.

    The std is that of a future measurement: the model's cross-validated, recalibrated std plus
    the replicate and between-batch noise. Queries outside the data's range get a warning.
    """
    from ..conductivity_models import CANDIDATES, calibrated_model, choose, score_candidates
    from ..datasets import DataFormatError, read_queries

    if name is not None and name not in CANDIDATES:
        raise click.BadParameter(f"unknown model {name!r}; choose from {sorted(CANDIDATES)}",
                                 param_hint="--model")
    try:
        queries = read_queries(query_path)
    except DataFormatError as error:
        raise click.BadParameter(str(error), param_hint="--query") from None
    training = training_data(data_path, batch_noise)
    score = choose(score_candidates(training, [name] if name else None, folds, seed))
    click.echo(f"model: {score.name} (cross-validated RMSE {score.rmse:.3f} mS/cm, "
               f"{score.coverage[2.0]:.0%} within 2 std)", err=True)
    points = queries[:, [1, 2, 0]]  # (r, c, T): the models' input order
    _warn_outside(points, training.X)
    mean, std = calibrated_model(training, score, seed).predict(points)
    json_path.write_text(json.dumps([
        {"T": T, "r": r, "c": c, "mean": float(m), "std": float(s)}
        for (T, r, c), m, s in zip(queries.tolist(), mean, std)], indent=1))
    click.echo(f"predictions: {json_path} ({len(queries)} queries)")


def _warn_outside(points, X):
    """Name the query rows outside the range of the training data (an extrapolation)."""
    low, high = X.min(axis=0), X.max(axis=0)
    outside = (points < low) | (points > high)
    for row in map(int, outside.any(axis=1).nonzero()[0]):
        what = ", ".join(f"{name} = {points[row, i]:g} outside [{low[i]:g}, {high[i]:g}]"
                         for i, name in enumerate(("r", "c [mol/kg]", "T [K]")) if outside[row, i])
        click.echo(f"Warning: query row {row + 1}: {what}: an extrapolation, its std is larger "
                   f"and less reliable", err=True)
