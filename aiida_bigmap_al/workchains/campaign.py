"""``CampaignWorkChain``: what the campaign modes share, from the configuration to the outputs.

A campaign searches a space with a strategy within a budget of measurements, from initial data
or from nothing, and ends with the best measurement, its dataset, its last model and its
history. How it measures is the mode's: :mod:`.batch_campaign` measures batches of suggestions
in parallel, :mod:`.lanes_campaign` keeps one lane per instrument busy. This base holds the
inputs, outputs and exit codes they share, the validation of the configuration (:meth:`setup`)
and the outputs (:meth:`finalize`).
"""

from __future__ import annotations

import numpy as np
import pydantic
from aiida import orm
from aiida.engine import WorkChain

from .. import campaign_limits as limits
from ..feature_map import FeatureMap
from ..learning import Strategy
from ..space import SearchSpace
from . import functions, records
from .handlers import MeasurementHandlers

__all__ = ["CampaignWorkChain"]


def check_strategy(strategy: Strategy, features: FeatureMap) -> None:
    """A strategy whose parameters work: its model builds, its acquisition scores a probe finitely."""
    try:
        features.build(strategy, seed=0)
        score = strategy.acquisition_function()(np.zeros(1), np.ones(1), 0.0)
        finite = bool(np.all(np.isfinite(np.asarray(score, dtype=float))))
    except (TypeError, ValueError) as error:
        raise ValueError(f"`strategy` {strategy.surrogate.name}/{strategy.acquisition.name}: {error}") from None
    if not finite:
        raise ValueError(f"`strategy` acquisition {strategy.acquisition.name} with {strategy.acquisition.params} "
                         f"does not give a finite score")


def _copy_dicts(value):
    """The nested dicts of process inputs copied (``pre_process`` changes them), the nodes not."""
    return {key: _copy_dicts(item) for key, item in value.items()} if isinstance(value, dict) else value


class CampaignWorkChain(MeasurementHandlers, WorkChain):
    """The shared part of an active-learning campaign; a mode adds its measurements and outline."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("space", valid_type=orm.Dict, help="The search space (`SearchSpace.to_dict()`).")
        spec.input("strategy", valid_type=orm.Dict,
                   help="Surrogate, acquisition and optional prior (`learning.Strategy`).")
        spec.input("budget", valid_type=orm.Int, help="Measurements in total, the start included.")
        spec.input("n_candidates", valid_type=orm.Int, default=lambda: orm.Int(4096),
                   help="Sobol candidates per temperature when no candidate pool is given.")
        spec.input("seed", valid_type=orm.Int, default=lambda: orm.Int(0))
        spec.input("initial_data", valid_type=orm.Dict, required=False,
                   help="A dataset document to start from (see `workchains.records`).")
        spec.input("candidates", valid_type=orm.ArrayData, required=False,
                   help="A pool of candidates (array `X` in model-input order) instead of sampling.")
        spec.input("stop_at", valid_type=orm.Float, required=False,
                   help="Stop once a measured value reaches this figure of merit.")
        spec.input_namespace("methods", help="How suggestions are measured.")
        spec.inputs.validator = cls.validate_inputs

        spec.output("best", valid_type=orm.Dict, help="The best measured formulation and its value.")
        spec.output("dataset", valid_type=orm.Dict, help="All measurements of the campaign.")
        spec.output("model", valid_type=orm.Dict, required=False, help="The last model fitted.")
        spec.output("history", valid_type=orm.Dict, help="What each iteration suggested and measured.")

        spec.exit_code(300, "ERROR_INVALID_CONFIGURATION", message="Invalid configuration: {reason}")
        spec.exit_code(301, "ERROR_NO_MEASUREMENT_METHOD",
                       message="No measurement method is configured: give {methods}.")
        spec.exit_code(310, "ERROR_NO_VALID_CANDIDATES", message="No valid candidates: {reason}")

    def setup(self):
        """Start from the initial data (or an empty dataset); the inputs were validated at launch."""
        try:
            self.ctx.space = SearchSpace.from_dict(self.inputs.space.get_dict())
        except (pydantic.ValidationError, ValueError) as error:  # a process launched before validation
            return self.exit_codes.ERROR_INVALID_CONFIGURATION.format(reason=records.one_line(error))
        if not self.has_measurement_method(self.inputs):
            return self.exit_codes.ERROR_NO_MEASUREMENT_METHOD.format(methods=self.METHODS_HINT)
        if "candidates" in self.inputs:
            reason = self._invalid_pool()
            if reason:
                return self.exit_codes.ERROR_NO_VALID_CANDIDATES.format(reason=reason)
        self.ctx.dataset = self.inputs.get("initial_data") or orm.Dict(
            {"version": 0, "variables": self.ctx.space.names, "unit": records.UNIT, "rows": []})
        self.ctx.history = []
        self.prepare()
        return None

    #: The inputs that configure a measurement method, for the exit message of a campaign without one.
    METHODS_HINT = "a measurement method"

    @classmethod
    def validate_inputs(cls, inputs, _=None) -> str | None:
        """The spec's input validator: refuse a campaign that cannot work before anything runs
        (a builder, ``run`` or ``submit`` alike), naming the field and what it may be."""
        try:
            cls.check_inputs(inputs)
        except (pydantic.ValidationError, ValueError, KeyError, TypeError) as error:
            return records.one_line(error)
        return None

    @classmethod
    def refusal(cls, inputs: dict) -> str | None:
        """Why the process would refuse ``inputs`` at launch (every port's and :meth:`validate_inputs`'s
        checks, as ``run`` and ``submit`` make them), or None: for a command to say it in one line."""
        namespace = cls.spec().inputs
        error = namespace.validate(namespace.pre_process(_copy_dicts(inputs)))
        return None if error is None else error.message

    @classmethod
    def check_inputs(cls, inputs) -> None:
        """Raise ``ValueError`` naming what is wrong; a mode extends it (calling ``super()``).

        The limits are :mod:`aiida_bigmap_al.campaign_limits`'s: sizes, temperatures above 0 K
        and inside the range of every code that measures them.
        """
        space = SearchSpace.from_dict(inputs["space"].get_dict())
        features = FeatureMap.of(space)  # the model's inputs: a temperature condition is needed
        check_strategy(Strategy.model_validate(inputs["strategy"].get_dict()), features)
        temperatures = features.temperatures
        for name in ("budget", "n_candidates"):
            limits.check_size(name, inputs[name].value)
        limits.check_temperatures(temperatures)
        if not cls.has_measurement_method(inputs):
            raise ValueError(f"no measurement method is configured: give {cls.METHODS_HINT}")
        for field, code, model in cls.measuring_codes(inputs):
            limits.check_temperatures(temperatures, limits.measuring_range(field, code, model))
        if "initial_data" in inputs:
            rows = inputs["initial_data"].get("rows")
            if not isinstance(rows, list):
                raise ValueError("`initial_data` needs a list of `rows` (see `workchains.records`)")
            records.check_rows(rows, space)

    @classmethod
    def measuring_codes(cls, inputs) -> list:
        """``(field, code, model)`` of every code that measures; a mode knows its own (and asks ``super()``)."""
        return []

    @classmethod
    def has_measurement_method(cls, inputs) -> bool:
        """Whether the inputs say how to measure; a mode knows its own methods (and asks ``super()``)."""
        return False

    def prepare(self):
        """Set up the mode's context once the configuration is valid; a mode extends it."""

    def finalize(self):
        """Outputs: the best measurement, the final dataset and model, and the history."""
        summary = functions.summarize(self.ctx.dataset, orm.Dict({"iterations": self.ctx.history}))
        self.out("best", summary["best"])
        self.out("history", summary["history"])
        self.out("dataset", self.ctx.dataset)
        if "model" in self.ctx:
            self.out("model", self.ctx.model)
        best, rows = summary["best"], self.ctx.dataset["rows"]
        self.report(f"best {best['value']:.3f} {records.UNIT} at r={best['r']:.3f}, "
                    f"c={best['c']:.3f} mol/kg, T={best['temperature']:.2f} K "
                    f"after {len(rows)} measurements")

    # --- shared helpers --------------------------------------------------------------------------

    def reached_stop(self, rows) -> bool:
        return "stop_at" in self.inputs and any(r["value"] >= self.inputs.stop_at.value for r in rows)

    def settings(self, batch_size=1, n_initial=1) -> orm.Dict:
        """The settings of ``initial_design`` and ``suggest``."""
        return orm.Dict({"seed": self.inputs.seed.value, "n_initial": n_initial,
                         "n_candidates": self.inputs.n_candidates.value, "batch_size": batch_size})

    def pool(self) -> dict:
        return {"candidates": self.inputs.candidates} if "candidates" in self.inputs else {}

    @staticmethod
    def outputs_in_order(outputs) -> list:
        return [outputs[key] for key in sorted(outputs, key=functions.label_order)]

    def _invalid_pool(self):
        names = FeatureMap.of(self.ctx.space).names
        X = self.inputs.candidates.get_array("X")
        if X.ndim != 2 or X.shape[1] != len(names) or len(X) == 0:
            return f"the pool must have shape (n>0, {len(names)}) for {names}, got {X.shape}"
        try:
            self.ctx.space.pool(X[:, : self.ctx.space.dim])
        except ValueError as error:
            return str(error)
        return None
