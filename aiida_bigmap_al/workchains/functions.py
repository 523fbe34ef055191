"""The provenance steps of a campaign, as calcfunctions.

dataset_n --fit_model--> model_n --suggest--> suggestion --(measurement)--> measurement
--append_measurements--> dataset_n+1. Each step is a thin wrapper around the pure learning code,
so that the graph records exactly which data, configuration and seed produced what.

The model node holds no pickled object: it holds the strategy, the seed, the features and a
link to its training data (the dataset is its input), and the fitted hyperparameters for people
to read. Fitting is deterministic, so ``suggest`` rebuilds the very same model from those.
"""

from __future__ import annotations

import collections
import json

import numpy as np
from aiida.engine import ExitCode, calcfunction
from aiida.orm import ArrayData, Dict, Int

from ..learning import Strategy, initial_picks, propose
from ..learning.calibration import MeasurementNoise
from ..learning.objective import best_per_temperature
from ..calcjobs.point import measurement_at_point
from ..space import SearchSpace
from ..documents import Suggestion
from ..feature_map import FeatureMap
from . import records

__all__ = ["append_measurements", "assemble_dataset", "candidate_points", "fit_model", "fitted_model",
           "initial_design", "label_order", "replay_measurement", "suggest", "summarize"]

#: Relative tolerance when matching a suggestion against the rows of a pool.
_MATCH_RTOL = 1e-9


def candidate_points(space: SearchSpace, settings: dict, pool: ArrayData | None):
    """The candidates in model-input order: the given pool, or a Sobol sample at each temperature."""
    if pool is not None:
        return pool.get_array("X")
    sample = space.sample(settings["n_candidates"], seed=settings["seed"], method="sobol")
    return FeatureMap.of(space).at_temperatures(sample)


def _document(row, features: FeatureMap, **prediction):
    """The suggestion document of one row of model inputs."""
    temperature = float(features.temperature_of(row)[0])
    return Dict(records.suggestion_document(features.point(row), temperature, **prediction))


@calcfunction
def initial_design(space: Dict, settings: Dict, candidates: ArrayData | None = None) -> dict:
    """The start of a campaign without data: random rows of the pool, or a Sobol design."""
    space_, settings_ = SearchSpace.from_dict(space.get_dict()), settings.get_dict()
    features = FeatureMap.of(space_)
    n_initial = settings_["n_initial"]
    if candidates is not None:
        X = candidate_points(space_, settings_, candidates)
        rows = X[initial_picks(len(X), n_initial, settings_["seed"])]
    else:  # a Sobol design, its points dealt over the temperatures in turn
        sample = space_.sample(n_initial, seed=settings_["seed"], method="sobol")
        temperatures = [features.temperatures[i % len(features.temperatures)] for i in range(n_initial)]
        rows = features.inputs([features.point(x) for x in sample], temperatures)
    return {f"suggestion_{i}": _document(row, features) for i, row in enumerate(rows)}


#: Fits this process made last, by their inputs: ``suggest`` rebuilds the model that ``fit_model``
#: fitted a moment before in the same daemon worker, and fitting is deterministic, so the second
#: fit is taken from here. A few entries suffice (one per lane a worker runs at once).
_RECENT_FITS: collections.OrderedDict = collections.OrderedDict()
_RECENT_FITS_SIZE = 8


def fitted_model(space_, strategy_, seed, rows, noise=None):
    """The strategy's model fitted on dataset rows, with its X and y: how every step rebuilds a model.

    :param noise: ``{"replicate": x, "between_batch": y}`` (relative), or None: with it, each
        row's replicate noise (of the mean of its ``replicates``) is given to the fit as known
        noise, so that the model does not fit the data more closely than they were measured.

    The same inputs give the same fit, so a fit this process made recently is reused (the model
    is never changed in place: conditioning it returns a new one).
    """
    key = json.dumps([space_.to_dict(), strategy_.model_dump(mode="json"), seed, rows, noise],
                     sort_keys=True, default=str)
    if key in _RECENT_FITS:
        _RECENT_FITS.move_to_end(key)
        return _RECENT_FITS[key]
    _RECENT_FITS[key] = fitted = _fit(space_, strategy_, seed, rows, noise)
    if len(_RECENT_FITS) > _RECENT_FITS_SIZE:
        _RECENT_FITS.popitem(last=False)
    return fitted


def _fit(space_, strategy_, seed, rows, noise):
    features = FeatureMap.of(space_)
    X, y = features.rows_to_arrays(rows)
    noise_std = None
    if noise is not None:
        counts = [row.get("replicates") or 1 for row in rows]
        noise_std = MeasurementNoise(**noise).std(y, counts, batch=False)
    model = features.build(strategy_, seed).fit(X, y, noise_std)
    X.setflags(write=False)  # shared by every reuse of this fit
    y.setflags(write=False)
    return model, X, y


@calcfunction
def fit_model(dataset: Dict, space: Dict, strategy: Dict, seed: Int, noise: Dict | None = None) -> Dict:
    """Fit the strategy's model on a dataset: model version n for dataset version n (with the
    measurement ``noise`` of the data as known noise, see :func:`fitted_model`)."""
    space_ = SearchSpace.from_dict(space.get_dict())
    strategy_ = Strategy.model_validate(strategy.get_dict())
    noise_ = noise.get_dict() if noise is not None else None
    model, X, y = fitted_model(space_, strategy_, seed.value, dataset["rows"], noise_)
    fitted = model.predict_mean(X)
    return Dict({
        "noise": noise_,
        "version": dataset["version"],
        "strategy": strategy_.model_dump(mode="json"),
        "seed": seed.value,
        "training_data": dataset.uuid,
        "n_observations": len(y),
        "features": FeatureMap.of(space_).names,
        "hyperparameters": getattr(model.surrogate, "hyperparameters", {}),
        "prior": getattr(model.prior, "parameters", None),
        "training_rmse": float(np.sqrt(np.mean((fitted - y) ** 2))),
    })


@calcfunction
def suggest(model: Dict, dataset: Dict, space: Dict, settings: Dict,
            candidates: ArrayData | None = None, **points: Dict) -> dict:
    """Propose a batch from the model, aware of the suggestions still being measured.

    ``points`` are suggestions labelled ``pending_<i>`` (being measured: the batch takes them
    into account and does not repeat them) or ``failed_<i>`` (their measurement failed: they
    are not suggested again, so a point that an instrument or a model cannot measure does not
    come back for ever).

    With several temperatures, the strategy's ``objective`` (``per_temperature`` by default)
    scores each candidate against the best measured at its own temperature.
    """
    space_, settings_ = SearchSpace.from_dict(space.get_dict()), settings.get_dict()
    strategy_ = Strategy.model_validate(model["strategy"])
    fitted, X, y = fitted_model(space_, strategy_, model["seed"], dataset["rows"], model.get("noise"))
    X_candidates = candidate_points(space_, settings_, candidates)
    unknown = [label for label in points if not label.startswith(("pending_", "failed_"))]
    if unknown:
        raise ValueError(f"suggest takes points labelled pending_<i> or failed_<i>, not {unknown}")
    features = FeatureMap.of(space_)
    X_pending, X_failed = (_inputs([node for label, node in points.items() if label.startswith(prefix)],
                                   features) for prefix in ("pending_", "failed_"))
    taken = [*_matches(X_candidates, X), *_matches(X_candidates, X_pending), *_matches(X_candidates, X_failed)]
    k = min(settings_["batch_size"], len(X_candidates) - len(set(taken)))
    acquisition = strategy_.acquisition_function()
    # Over several temperatures: improvement over the best measured at the candidate's own.
    incumbent = strategy_.incumbent(features.names, X_candidates, X, y)
    proposals = propose(fitted, X, y, X_candidates, acquisition, k=k,
                        pending=X_pending if len(X_pending) else None, exclude=taken,
                        incumbent=incumbent)
    return {
        f"suggestion_{i}": _document(
            X_candidates[p.index], features, mean=p.mean, std=p.std, score=p.score,
            model_version=model["version"], acquisition=acquisition.name)
        for i, p in enumerate(proposals)
    }


def _inputs(nodes, features: FeatureMap):
    """Model inputs of suggestion nodes."""
    suggestions = [Suggestion.model_validate(node.get_dict()) for node in nodes]
    return features.inputs([s.variables for s in suggestions], [s.kelvin for s in suggestions])


def _matches(candidates, points):
    """Rows of ``candidates`` equal (to rounding) to any of ``points``."""
    if len(points) == 0:
        return []
    close = np.isclose(candidates[:, None, :], np.asarray(points)[None, :, :], rtol=_MATCH_RTOL,
                       atol=1e-12).all(axis=-1)
    return [int(i) for i in np.flatnonzero(close.any(axis=1))]


@calcfunction
def append_measurements(dataset: Dict, **measurements: Dict) -> Dict:
    """Dataset version n+1: version n plus the new measurements, in the order given."""
    rows = list(dataset["rows"])
    rows.extend(records.measurement_row(node.get_dict(), node.uuid)
                for _, node in sorted(measurements.items(), key=lambda item: label_order(item[0])))
    return Dict({**dataset.get_dict(), "version": dataset["version"] + 1, "rows": rows})


@calcfunction
def assemble_dataset(space: Dict, initial: Dict | None = None, **measurements: Dict) -> Dict:
    """The rows of ``initial`` (if any) and exactly these measurements: what a lane's learner
    sees at that moment. Its version counts the measurements on top of ``initial``'s version."""
    rows = list(initial["rows"]) if initial is not None else []
    rows.extend(records.measurement_row(node.get_dict(), node.uuid)
                for _, node in sorted(measurements.items(), key=lambda item: label_order(item[0])))
    version = (initial["version"] if initial is not None else 0) + len(measurements)
    return Dict({"version": version, "variables": SearchSpace.from_dict(space.get_dict()).names,
                 "unit": records.UNIT, "rows": rows})


def label_order(label):
    """Sort key for output labels such as ``suggestion_10``: by their number, not as text."""
    return int(label.rsplit("_", 1)[-1]) if label.rsplit("_", 1)[-1].isdigit() else label


@calcfunction
def replay_measurement(suggestion: Dict, table: ArrayData) -> Dict | ExitCode:
    """Measure a suggestion by looking it up in pre-generated data (``table``: arrays X, y).

    The instant measurement method: it replays measured values, e.g. the FZJ data set, so that
    a workchain campaign on that data makes the same decisions as the pure-Python benchmark.
    The table's columns are r, c (and T); the suggestion's variables are read by name, because
    PostgreSQL's JSONB storage does not keep the order of a document's keys.
    """
    document = Suggestion.model_validate(suggestion.get_dict())
    X, y = table.get_array("X"), table.get_array("y")
    point = [document.variables["r"], document.variables["c"], document.kelvin][: X.shape[1]]
    rows = _matches(X, [point])
    if not rows:
        return ExitCode(300, f"no row of table {table.uuid} matches the suggestion {point}")
    measurement = measurement_at_point(
        {"suggestion": suggestion}, value=float(y[rows[0]]), unit=records.UNIT,
        origin=table.base.attributes.get("origin", "experiment"), measurement_id=f"{table.uuid}:{rows[0]}",
        name="conductivity")
    return Dict(measurement.model_dump(mode="json"))


@calcfunction
def summarize(dataset: Dict, iterations: Dict) -> dict:
    """The campaign's best measurement and its history (what each iteration suggested and measured).

    ``best`` is the best row, plus ``per_temperature``: the best row at each temperature of the
    dataset, coldest first (over several temperatures, what a researcher is after).
    """
    rows = dataset["rows"]
    best = max(rows, key=lambda row: row["value"])
    return {"best": Dict({**best, "per_temperature": best_per_temperature(rows)}),
            "history": Dict({**iterations.get_dict(), "dataset": dataset.uuid})}
