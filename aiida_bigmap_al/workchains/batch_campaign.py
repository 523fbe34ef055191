"""``BatchCampaignWorkChain``: fit, suggest a batch, measure it in parallel, append, until the budget is spent.

Every step leaves a node behind (see :mod:`.functions`), so the provenance graph answers which
model, fitted on which measurements, suggested which formulation, and what measured it. A
measurement that fails is reported and left out, and the campaign goes on with the others (the
process handler :meth:`BatchCampaignWorkChain.report_and_go_on`); a batch that failed entirely
ends the campaign.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import append_, if_, while_

from .. import campaign_limits as limits
from ..simulator import get_model
from . import functions, records
from .campaign import CampaignWorkChain
from .handlers import ProcessHandlerReport, process_handler
from .lane import measurement_builder
from .relaunch import launched_before

__all__ = ["BatchCampaignWorkChain"]

#: Measurement methods and the input that configures each, in the order the ``round_robin``
#: policy cycles through them.
METHODS = {"experiment": "code", "simulation": "code", "replay": "table"}
POLICIES = ("round_robin", "first")


class BatchCampaignWorkChain(CampaignWorkChain):
    """An active-learning campaign measured in batches, by simulations, experiments or replayed data."""

    METHODS_HINT = "`methods.experiment.code`, `methods.simulation.code` or `methods.replay.table`"

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("batch_size", valid_type=orm.Int, default=lambda: orm.Int(1),
                   help="Suggestions measured in parallel per iteration.")
        spec.input("n_initial", valid_type=orm.Int, default=lambda: orm.Int(1),
                   help="Measurements of the start when there is no initial data.")
        spec.input("methods.policy", valid_type=orm.Str, default=lambda: orm.Str("round_robin"),
                   help=f"Which method measures a suggestion: one of {POLICIES}.")
        spec.input("methods.simulation.code", valid_type=orm.AbstractCode, required=False,
                   help="The simulator's code (`bigmap-al setup` creates `bigmap-sim@localhost`).")
        spec.input("methods.simulation.model", valid_type=orm.Str, required=False,
                   help="The simulator's conductivity model.")
        spec.input("methods.replay.table", valid_type=orm.ArrayData, required=False,
                   help="Pre-generated data (arrays X = r, c, T and y) replayed as measurements.")
        spec.input("methods.experiment.code", valid_type=orm.AbstractCode, required=False,
                   help="An instrument's code (`bigmap-al instrument register`), measured in batches.")
        spec.exit_code(320, "ERROR_ALL_MEASUREMENTS_FAILED",
                       message="All {count} measurements of iteration {iteration} failed.")
        spec.outline(cls.setup, *cls.batch_algorithm(), cls.finalize)

    @classmethod
    def batch_algorithm(cls):
        """The outline between setup and finalize: a start without a model if there is no data,
        then fit, suggest, measure and collect until the budget is spent."""
        return (
            if_(cls.needs_initial_design)(
                cls.design_start,
                cls.measure,
                cls.collect,
            ),
            while_(cls.should_continue)(
                cls.fit,
                cls.suggest,
                cls.measure,
                cls.collect,
            ),
        )

    @classmethod
    def check_inputs(cls, inputs):
        super().check_inputs(inputs)
        for name in ("batch_size", "n_initial"):
            limits.check_size(name, inputs[name].value)
        if inputs["n_initial"].value > inputs["budget"].value:
            raise ValueError(f"`n_initial` ({inputs['n_initial'].value}) exceeds the `budget` "
                             f"({inputs['budget'].value}): the start alone would overspend it")
        if inputs["methods"]["policy"].value not in POLICIES:
            raise ValueError(f"unknown policy {inputs['methods']['policy'].value!r}; use one of {POLICIES}")
        if "model" in inputs["methods"].get("simulation", {}):
            get_model(inputs["methods"]["simulation"]["model"].value)  # names the known models

    @classmethod
    def measuring_codes(cls, inputs):
        """The simulation's and the experiment's code, each checked to run its method's plugin."""
        codes = super().measuring_codes(inputs)
        for name, plugin in (("simulation", limits.SIMULATION_PLUGIN), ("experiment", limits.EXPERIMENT_PLUGIN)):
            method = inputs["methods"].get(name, {})
            if "code" in method:
                limits.check_code_plugin(f"methods.{name}.code", method["code"], {plugin})
                model = method["model"].value if "model" in method else None
                codes.append((f"methods.{name}", method["code"], model))
        return codes

    @classmethod
    def has_measurement_method(cls, inputs) -> bool:
        return bool(cls._methods(inputs)) or super().has_measurement_method(inputs)

    def prepare(self):
        super().prepare()
        self.ctx.methods = self._methods(self.inputs)
        self.ctx.iteration = 0
        self.ctx.launched = 0
        self.ctx.failed_suggestions = []

    def needs_initial_design(self):
        return not self.ctx.dataset["rows"]

    def design_start(self):
        """The first suggestions, without a model: random pool rows or a Sobol design."""
        self.ctx.suggestions = self.outputs_in_order(functions.initial_design(
            self.inputs.space, self.settings(n_initial=self.inputs.n_initial.value), **self.pool()))
        self.ctx.model_version = None

    def should_continue(self):
        rows = self.ctx.dataset["rows"]
        if len(rows) >= self.inputs.budget.value:
            return False
        if self.reached_stop(rows):
            self.report(f"stopping: a measured value reached {self.inputs.stop_at.value}")
            return False
        if "candidates" in self.inputs and len(rows) >= len(self.inputs.candidates.get_array("X")):
            self.report("stopping: every candidate of the pool has been measured")
            return False
        return True

    def fit(self):
        """Model version n on dataset version n."""
        self.ctx.model = functions.fit_model(self.ctx.dataset, self.inputs.space,
                                             self.inputs.strategy, self.inputs.seed)
        self.ctx.model_version = self.ctx.model["version"]

    def suggest(self):
        """A batch of suggestions, no larger than what is left of the budget."""
        settings = self.settings(batch_size=min(
            self.inputs.batch_size.value, self.inputs.budget.value - len(self.ctx.dataset["rows"])))
        failed = {f"failed_{i}": node for i, node in enumerate(self.ctx.failed_suggestions)}
        self.ctx.suggestions = self.outputs_in_order(functions.suggest(
            self.ctx.model, self.ctx.dataset, self.inputs.space, settings, **self.pool(), **failed))

    def measure(self):
        """Measure every suggestion of the batch in parallel, each with the method the policy picks."""
        self.ctx.iteration += 1
        self.ctx.measurements = []
        for suggestion in self.ctx.suggestions:
            method = self._pick_method()
            label = f"measure_{self.ctx.iteration}_{self.ctx.launched}"
            self.ctx.launched += 1
            earlier = launched_before(self, label)  # this step is being replayed after a crash
            if method == "replay":
                if earlier is None or not earlier.is_terminated:
                    _, earlier = functions.replay_measurement.run_get_node(
                        suggestion, self.inputs.methods.replay.table, metadata={"call_link_label": label})
                self.ctx.measurements.append(earlier)
            else:
                self.to_context(measurements=append_(
                    earlier or self.submit(self._builder(method, suggestion, label))))

    def collect(self):
        """Append what was measured; the handlers see what failed; stop if nothing of the batch worked."""
        measured, failed = {}, []
        for i, process in enumerate(self.ctx.measurements):
            node = _measurement_of(process)
            if process.is_finished_ok and node is not None:
                measured[f"measurement_{i}"] = node
            else:
                failed.append(process)
                self.inspect_measurement(process)
        if not measured:
            return self.exit_codes.ERROR_ALL_MEASUREMENTS_FAILED.format(
                count=len(failed), iteration=self.ctx.iteration)
        self.ctx.dataset = functions.append_measurements(self.ctx.dataset, **measured)
        self._record_history(measured, failed)
        return None

    @process_handler(priority=100)
    def report_and_go_on(self, node):
        """A failed measurement is reported and its point never suggested again; the campaign goes on."""
        self.ctx.failed_suggestions.append(node.inputs.suggestion)
        self.report(f"measurement {node.process_label}<{node.pk}> failed "
                    f"({node.exit_status}: {node.exit_message}); the campaign goes on")
        return ProcessHandlerReport(do_break=True)

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _methods(inputs):
        return [name for name, required in METHODS.items() if required in inputs["methods"].get(name, {})]

    def _pick_method(self):
        if self.inputs.methods.policy.value == "first":
            return self.ctx.methods[0]
        return self.ctx.methods[self.ctx.launched % len(self.ctx.methods)]

    def _builder(self, method, suggestion, label):
        """The calculation of a simulation or experiment measuring ``suggestion``."""
        options = self.inputs.methods[method]
        builder = measurement_builder(options.code, suggestion, label)
        if method == "simulation" and "model" in options:
            builder.model = options.model
        return builder

    def _record_history(self, measured, failed):
        rows = self.ctx.dataset["rows"]
        self.ctx.history.append(records.history_entry(
            iteration=self.ctx.iteration, model_version=self.ctx.model_version,
            suggestions=[node.uuid for node in self.ctx.suggestions],
            measured=rows[len(rows) - len(measured):], failed=failed, n_measurements=len(rows),
            best_so_far=max(row["value"] for row in rows)))


def _measurement_of(process):
    """The measurement of a CalcJob (``measurement``) or calcfunction (``result``), if any."""
    for label in ("measurement", "result"):
        if label in process.outputs:
            return process.outputs[label]
    return None
