"""``bigmap-al predict``: conductivity with the std of a future measurement, at any (T, r, c)."""

import json
import pathlib

import click
import numpy as np

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
    from ..conductivity_models import calibrated_model, candidates, choose, score_candidates
    from ..datasets import DataFormatError, read_queries

    try:
        strategies = candidates([name] if name else None)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--model") from None
    try:
        queries = read_queries(query_path)
    except DataFormatError as error:
        raise click.BadParameter(str(error), param_hint="--query") from None
    training = training_data(data_path, batch_noise)
    points = _model_inputs(queries, training)
    score = choose(score_candidates(training, strategies, folds, seed))
    click.echo(f"model: {score.name} (cross-validated RMSE {score.rmse:.3f} mS/cm, "
               f"{score.coverage[2.0]:.0%} within 2 std)", err=True)
    _warn_outside(points, training)
    model = calibrated_model(training, strategies[score.name], score.calibration, seed)
    mean, std = model.predict(points, queries[:, 0])
    json_path.write_text(json.dumps([
        {"T": T, "r": r, "c": c, "mean": float(m), "std": float(s)}
        for (T, r, c), m, s in zip(queries.tolist(), mean, std)], indent=1))
    click.echo(f"predictions: {json_path} ({len(queries)} queries)")


def _model_inputs(queries, training):
    """The query points (columns T, r, c) in the model's input columns (r, c and T)."""
    from ..datasets import QUERY_COLUMNS

    if "T" not in training.names and not np.allclose(queries[:, 0], training.temperature[0]):
        raise click.BadParameter(f"the data hold one temperature ({training.temperature[0]} K): "
                                 f"there is no model of other temperatures", param_hint="--query")
    column = {"r": QUERY_COLUMNS.index("r"), "c": QUERY_COLUMNS.index("c [mol/kg]"),
              "T": QUERY_COLUMNS.index("T [K]")}
    return queries[:, [column[name] for name in training.names]]


def _warn_outside(points, training):
    """Name the query rows outside the range of the training data (an extrapolation)."""
    low, high = training.X.min(axis=0), training.X.max(axis=0)
    outside = (points < low) | (points > high)
    labels = {"r": "r", "c": "c [mol/kg]", "T": "T [K]"}
    for row in map(int, outside.any(axis=1).nonzero()[0]):
        what = ", ".join(f"{labels[name]} = {points[row, i]:g} outside [{low[i]:g}, {high[i]:g}]"
                         for i, name in enumerate(training.names) if outside[row, i])
        click.echo(f"Warning: query row {row + 1}: {what}: an extrapolation, its std is larger "
                   f"and less reliable", err=True)
