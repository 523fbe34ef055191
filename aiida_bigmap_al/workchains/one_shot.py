"""``OneShotWorkChain``: fit once on existing data, hand the lab the best formulations per temperature.

The BIG-MAP demonstrator ended its campaign on the FZJ data with a one-shot step: a surrogate over
(r, c, T) fitted on every measurement, asked in full exploitation mode (its predicted mean alone)
for the hypothetical top formulations at each temperature from -30 to 60 °C. This workchain does
that, leaving the provenance dataset --choose_model--> scores, strategy, noise --fit_model-->
model --propose_top--> proposals.

Unless a strategy is given, the model is the best of every candidate surrogate (with and without
prior) by leave-formulation-out cross-validation (:mod:`aiida_bigmap_al.conductivity_models`); the
scores of all of them are the ``scores`` output. The std of each proposal is that of a future
measurement there: the model's std recalibrated on its cross-validation residuals, plus the
replicate and between-batch noise.

Each proposal is its own ``Dict`` node, a suggestion document (:func:`.records.suggestion_document`)
like the ones an active-learning campaign makes, so it can be given as the ``suggestion`` input of
``SimulationCalcJob`` or ``ExperimentCalcJob`` and the measurement links back to the model that
proposed it. They are the ``proposals`` outputs, labelled by temperature and rank (see
:func:`proposal_label`); the ``suggestions`` output is the ranked summary that names them.

Exploitation alone would return k copies of one optimum (a dense candidate set has many points
near the arg max), which tells a lab nothing new after the first: the ranked list therefore keeps
only candidates at least ``min_distance`` apart in the unit square of the variables.
"""

from __future__ import annotations

import numpy as np
import pydantic
from aiida import orm
from aiida.engine import ExitCode, WorkChain, calcfunction

from .. import conductivity_models
from ..datasets import TEMPERATURE_TOLERANCE
from ..feature_map import FeatureMap
from ..learning import Strategy
from ..learning.calibration import Calibration, MeasurementNoise
from ..learning.scoring import CalibratedModel
from ..space import SearchSpace
from . import functions, records

__all__ = ["OneShotWorkChain", "choose_model", "distinct_top", "proposal_label", "propose_top"]

#: The acquisition of a one-shot proposal: the predicted mean, nothing for exploration.
ACQUISITION = "exploit"

#: The name of a strategy given as input among the scores.
GIVEN = "given"


def proposal_label(temperature: float, rank: int) -> str:
    """``T_298_15_rank_1``: the output label of the ``rank``-th (from 1) proposal at ``temperature`` K.

    The temperature, to 0.01 K, rather than its index, so that the label of a proposal does not
    change when a temperature is added to or removed from the space.
    """
    return f"T_{temperature:.2f}_rank_{rank}".replace(".", "_")


def distinct_top(unit_points, means, k: int, min_distance: float) -> list[int]:
    """Rows of the ``k`` highest ``means`` whose ``unit_points`` are pairwise at least
    ``min_distance`` apart (Euclidean), best first; fewer if the candidates do not allow ``k``.

    Greedy in order of the mean: a candidate is kept unless it is too close to one kept before,
    so the first is always the arg max and ties keep candidate order (deterministic).
    """
    unit_points, means = np.asarray(unit_points, dtype=float), np.asarray(means, dtype=float)
    chosen: list[int] = []
    for i in np.argsort(-means, kind="stable"):
        gaps = np.linalg.norm(unit_points[chosen] - unit_points[i], axis=1)
        if not chosen or gaps.min() >= min_distance:
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return chosen


def training_data(dataset, space_, settings) -> conductivity_models.TrainingData:
    """The dataset's rows as the model's inputs in ``space_``, with the measurement noise."""
    return conductivity_models.TrainingData.from_rows(
        dataset["rows"], settings["batch_noise"], FeatureMap.of(space_), settings.get("replicate_noise"))


@calcfunction
def choose_model(dataset: orm.Dict, space: orm.Dict, settings: orm.Dict,
                 strategy: orm.Dict | None = None) -> dict:
    """Score the candidate models (or only ``strategy``) by cross-validation grouped by formulation.

    Returns ``scores`` (every candidate's figures, the chosen one's name and the noise), the
    chosen ``strategy`` and the measurement ``noise`` that the fit and the proposals use.
    """
    space_, settings_ = SearchSpace.from_dict(space.get_dict()), settings.get_dict()
    training = training_data(dataset, space_, settings_)
    strategies = ({GIVEN: Strategy.model_validate(strategy.get_dict())} if strategy is not None
                  else conductivity_models.candidates())
    n_folds = min(settings_["n_folds"], len(np.unique(training.formulation)))
    scores = conductivity_models.score_candidates(training, strategies, n_folds, settings_["seed"])
    chosen = conductivity_models.choose(scores)
    noise = {"replicate": training.noise.replicate, "between_batch": training.noise.between_batch}
    return {"scores": orm.Dict({"chosen": chosen.name, "noise": noise,
                                "models": [score.as_dict() for score in scores]}),
            "strategy": orm.Dict(strategies[chosen.name].model_dump(mode="json")),
            "noise": orm.Dict(noise)}


@calcfunction
def propose_top(model: orm.Dict, dataset: orm.Dict, space: orm.Dict, k: orm.Int,
                n_candidates: orm.Int, min_distance: orm.Float, seed: orm.Int,
                scores: orm.Dict) -> dict | ExitCode:
    """Per temperature of ``space``, the ``k`` distinct Sobol candidates with the highest predicted mean.

    Returns ``proposals`` (one suggestion document per candidate, labelled by
    :func:`proposal_label`) and ``suggestions``, the summary that ranks them by label and UUID
    beside the best measured row, so that no document is stored twice.

    The model is rebuilt from its strategy, seed, noise and training data (deterministic, as in
    :func:`.functions.suggest`), so ``dataset`` must be the one ``model`` was fitted on; its std is
    recalibrated with the chosen model's calibration in ``scores``, plus the measurement noise.
    """
    if model["training_data"] != dataset.uuid:
        raise ValueError(f"model {model.uuid} was fitted on dataset {model['training_data']}, "
                         f"not on {dataset.uuid}")
    space_ = SearchSpace.from_dict(space.get_dict())
    fitted, _, _ = functions.fitted_model(space_, Strategy.model_validate(model["strategy"]),
                                          model["seed"], dataset["rows"], model["noise"])
    [chosen] = [entry for entry in scores["models"] if entry["name"] == scores["chosen"]]
    fitted = CalibratedModel(fitted, Calibration(**chosen["calibration"]),
                             MeasurementNoise(**model["noise"]))
    sample = space_.sample(n_candidates.value, seed=seed.value, method="sobol")
    per_temperature, proposals = [], {}
    for temperature in FeatureMap.of(space_).temperatures:
        ranked = _ranked(fitted, space_, sample, temperature, k.value, min_distance.value,
                         model["version"])
        if len(ranked) < k.value:
            return ExitCode(310, f"only {len(ranked)} of {n_candidates.value} candidates at "
                                 f"{temperature} K are at least {min_distance.value} apart; "
                                 f"asked for k = {k.value}")
        nodes = _labelled(ranked, temperature)
        proposals.update(nodes)
        per_temperature.append({"temperature": temperature,
                                "ranked": [{"label": label, "uuid": node.uuid}
                                           for label, node in nodes.items()],
                                "measured_best": _measured_best(dataset["rows"], temperature)})
    summary = orm.Dict({"acquisition": ACQUISITION, "unit": records.UNIT, "k": k.value,
                        "min_distance": min_distance.value, "n_candidates": n_candidates.value,
                        "model_version": model["version"], "per_temperature": per_temperature})
    return {"suggestions": summary, "proposals": proposals}


def _labelled(documents, temperature):
    """``{label: Dict}`` of the ranked suggestion documents at one temperature, best first.

    The node's own label is its output label too, so it reads the same in ``verdi node show``.
    """
    nodes = {}
    for rank, document in enumerate(documents, 1):
        label = proposal_label(temperature, rank)
        nodes[label] = orm.Dict(document)
        nodes[label].label = label
    return nodes


def _ranked(fitted, space_, sample, temperature, k, min_distance, version):
    """Suggestion documents of the distinct top ``k`` at one temperature, best first."""
    features = FeatureMap.of(space_)
    X = features.inputs([features.point(x) for x in sample], np.full(len(sample), temperature))
    rows = distinct_top(space_.normalise(sample), fitted.model.predict_mean(X), k, min_distance)
    # the std only where it is reported: it is the costly part
    mean, std = fitted.predict(X[rows], np.full(len(rows), temperature))
    return [records.suggestion_document(dict(zip(space_.names, sample[row])), temperature,
                                        mean=m, std=s, score=m, model_version=version,
                                        acquisition=ACQUISITION)
            for row, m, s in zip(rows, mean, std)]


def _measured_best(rows, temperature):
    """The best dataset row at ``temperature``, for comparison (None if nothing was measured there)."""
    here = [row for row in rows if abs(row["temperature"] - temperature) <= TEMPERATURE_TOLERANCE]
    if not here:
        return None
    best = max(here, key=lambda row: row["value"])
    return {"r": best["r"], "c": best["c"], "value": best["value"]}


def _top_line(entry, top):
    """One temperature's best proposal (node ``top``) beside the best measured row, for the report."""
    best = entry["measured_best"]
    measured = f"; best measured {best['value']:.3f}" if best else ""
    return (f"T={entry['temperature']:.2f} K: top predicted {top['predicted_mean']:.3f} "
            f"± {top['predicted_std']:.3f} {records.UNIT} at r={top['variables']['r']:.3f}, "
            f"c={top['variables']['c']:.3f} mol/kg ({top.label}, pk {top.pk}){measured}")


class OneShotWorkChain(WorkChain):
    """Fit a surrogate on existing data and propose the top-k formulations at each temperature."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("dataset", valid_type=orm.Dict,
                   help="Existing measurements: a dataset document (`records.dataset_from`).")
        spec.input("space", valid_type=orm.Dict,
                   help="The search space with a `temperature` condition (`SearchSpace.to_dict()`).")
        spec.input("strategy", valid_type=orm.Dict, required=False,
                   help="Surrogate and optional prior (`learning.Strategy`; the acquisition must "
                        f"be {ACQUISITION!r}). Without it, the best candidate by cross-validation.")
        spec.input("n_folds", valid_type=orm.Int, default=lambda: orm.Int(10),
                   help="Cross-validation folds, whole formulations per fold.")
        spec.input("batch_noise", valid_type=orm.Float,
                   default=lambda: orm.Float(conductivity_models.DEFAULT_BATCH_NOISE),
                   help="Relative std between measurement batches or rigs, in the proposals' std.")
        spec.input("replicate_noise", valid_type=orm.Float, required=False,
                   help="Relative std of replicates; by default pooled from the dataset's rows.")
        spec.input("k", valid_type=orm.Int, default=lambda: orm.Int(5),
                   help="Formulations proposed per temperature.")
        spec.input("n_candidates", valid_type=orm.Int, default=lambda: orm.Int(4096),
                   help="Sobol candidates (r, c) scored at each temperature.")
        spec.input("min_distance", valid_type=orm.Float, default=lambda: orm.Float(0.1),
                   help="Least distance between two proposals, in the unit square of the variables.")
        spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(0))

        spec.outline(cls.validate, cls.choose, cls.fit, cls.propose)

        spec.output("scores", valid_type=orm.Dict,
                    help="Cross-validated figures of every candidate model and the chosen one.")
        spec.output("model", valid_type=orm.Dict, help="The fitted model (`functions.fit_model`).")
        spec.output("suggestions", valid_type=orm.Dict,
                    help="Per temperature, the ranked proposals (`label` and `uuid` of each) and the "
                         "best measured row.")
        spec.output_namespace("proposals", valid_type=orm.Dict, dynamic=True,
                              help="One suggestion document per proposal, labelled `T_<K>_rank_<n>` "
                                   "(e.g. `T_298_15_rank_1`, the best at 298.15 K): the `suggestion` "
                                   "input of a SimulationCalcJob or ExperimentCalcJob.")

        spec.exit_code(300, "ERROR_INVALID_CONFIGURATION", message="Invalid configuration: {reason}")
        spec.exit_code(301, "ERROR_EMPTY_DATASET",
                       message="The dataset has no rows: there is nothing to fit a model on.")
        spec.exit_code(310, "ERROR_TOO_FEW_CANDIDATES", message="Too few distinct candidates: {reason}")

    def validate(self):
        """Check space, strategy, sizes and dataset before anything is fitted."""
        if not self.inputs.dataset.get("rows"):
            return self.exit_codes.ERROR_EMPTY_DATASET
        try:
            space = SearchSpace.from_dict(self.inputs.space.get_dict())
            if "strategy" in self.inputs:
                self._check_strategy(space)
            self._check_sizes(space)
            self._check_labels(space)
            records.check_rows(self.inputs.dataset["rows"], space)
            self._check_cross_validation(space)
        except (pydantic.ValidationError, ValueError, KeyError, TypeError) as error:
            return self.exit_codes.ERROR_INVALID_CONFIGURATION.format(reason=records.one_line(error))

    def choose(self):
        """Cross-validate the candidates (or the given strategy) and keep the best."""
        chosen = choose_model(self.inputs.dataset, self.inputs.space, orm.Dict(self._settings()),
                              **({"strategy": self.inputs.strategy} if "strategy" in self.inputs else {}))
        self.ctx.chosen = chosen
        self.out("scores", chosen["scores"])
        best = next(m for m in chosen["scores"]["models"] if m["name"] == chosen["scores"]["chosen"])
        self.report(f"model {best['name']}: cross-validated RMSE {best['rmse']:.3f} {records.UNIT}, "
                    f"{best['within_2_std']:.0%} of held-out formulations within 2 std")

    def fit(self):
        """One model on every measurement, with the data's noise as known noise."""
        self.ctx.model = functions.fit_model(self.inputs.dataset, self.inputs.space,
                                             self.ctx.chosen["strategy"], self.inputs.seed,
                                             self.ctx.chosen["noise"])
        self.out("model", self.ctx.model)

    def propose(self):
        """The distinct top k per temperature, by predicted mean."""
        _, node = propose_top.run_get_node(
            self.ctx.model, self.inputs.dataset, self.inputs.space, self.inputs.k,
            self.inputs.n_candidates, self.inputs.min_distance, self.inputs.seed,
            self.ctx.chosen["scores"], metadata={"call_link_label": "propose_top"})
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_TOO_FEW_CANDIDATES.format(reason=node.exit_message)
        suggestions, proposals = node.outputs.suggestions, dict(node.outputs.proposals)
        self.out("suggestions", suggestions)
        self.out("proposals", proposals)
        for entry in suggestions["per_temperature"]:
            self.report(_top_line(entry, proposals[entry["ranked"][0]["label"]]))

    # --- validation helpers --------------------------------------------------------------------

    def _settings(self):
        settings = {"n_folds": self.inputs.n_folds.value, "seed": self.inputs.seed.value,
                    "batch_noise": self.inputs.batch_noise.value}
        if "replicate_noise" in self.inputs:
            settings["replicate_noise"] = self.inputs.replicate_noise.value
        return settings

    def _check_cross_validation(self, space):
        """Folds, noise and at least two formulations, before anything is fitted."""
        if self.inputs.n_folds.value < 2:
            raise ValueError(f"`n_folds` must be at least 2, got {self.inputs.n_folds.value}")
        training = training_data(self.inputs.dataset, space, self._settings())  # checks the noise
        if len(np.unique(training.formulation)) < 2:
            raise ValueError("cross-validation needs at least two formulations in the dataset")

    def _check_strategy(self, space):
        strategy = Strategy.model_validate(self.inputs.strategy.get_dict())
        if strategy.acquisition.name != ACQUISITION:
            raise ValueError(f"a one-shot proposal exploits: the strategy's acquisition must be "
                             f"{ACQUISITION!r}, got {strategy.acquisition.name!r}")
        FeatureMap.of(space).build(strategy, self.inputs.seed.value)  # e.g. a prior needs c

    def _check_sizes(self, space):
        for name in ("k", "n_candidates"):
            if self.inputs[name].value < 1:
                raise ValueError(f"`{name}` must be at least 1, got {self.inputs[name].value}")
        if self.inputs.n_candidates.value < self.inputs.k.value:
            raise ValueError(f"`n_candidates` ({self.inputs.n_candidates.value}) must be at least "
                             f"`k` ({self.inputs.k.value})")
        diagonal = float(np.sqrt(space.dim))
        if not 0.0 <= self.inputs.min_distance.value < diagonal:
            raise ValueError(f"`min_distance` must be in [0, {diagonal:.3f}) (the unit cube's "
                             f"diagonal), got {self.inputs.min_distance.value}")

    @staticmethod
    def _check_labels(space):
        """Every temperature gives its proposals valid labels of their own (see `proposal_label`)."""
        seen = {}
        for temperature in FeatureMap.of(space).temperatures:
            if temperature <= 0:
                raise ValueError(f"the space's temperatures are in K and must be above 0, "
                                 f"got {temperature}")
            label = proposal_label(temperature, 1)
            if label in seen:
                raise ValueError(f"temperatures {seen[label]} and {temperature} K are the same to "
                                 f"0.01 K: their proposals would share the label {label!r}")
            seen[label] = temperature
