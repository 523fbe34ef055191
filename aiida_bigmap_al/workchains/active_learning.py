"""``ActiveLearningWorkChain``: fit, suggest, measure, append, until the budget is spent.

Every step leaves a node behind (see :mod:`.functions`), so the provenance graph answers which
model, fitted on which measurements, suggested which formulation, and what measured it. A batch
of suggestions is measured in parallel; a measurement that fails is reported and left out, and
the campaign goes on with the others.
"""

from __future__ import annotations

import numpy as np
import pydantic
from aiida import orm
from aiida.engine import WorkChain, append_, if_, while_

from ..learning import Strategy
from ..space import SearchSpace
from ..ledger import Status
from . import campaign_group, functions, lane, records

__all__ = ["ActiveLearningWorkChain"]

#: Measurement methods and the input that configures each, in the order the ``round_robin``
#: policy cycles through them.
METHODS = {"experiment": "code", "simulation": "code", "replay": "table"}
POLICIES = ("round_robin", "first")


class ActiveLearningWorkChain(WorkChain):
    """An active-learning campaign over a search space, measured by simulations or experiments."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("space", valid_type=orm.Dict, help="The search space (`SearchSpace.to_dict()`).")
        spec.input("strategy", valid_type=orm.Dict,
                   help="Surrogate, acquisition and optional prior (`learning.Strategy`).")
        spec.input("budget", valid_type=orm.Int, help="Measurements in total, the start included.")
        spec.input("batch_size", valid_type=orm.Int, default=lambda: orm.Int(1),
                   help="Suggestions measured in parallel per iteration.")
        spec.input("n_initial", valid_type=orm.Int, default=lambda: orm.Int(1),
                   help="Measurements of the start when there is no initial data.")
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
        spec.input_namespace("methods.instruments", valid_type=orm.AbstractCode, dynamic=True,
                             required=False,
                             help="Instruments (or simulators) by name, each kept busy by its own "
                                  "lane sharing one learner: measurements do not wait for batches.")

        spec.outline(
            cls.setup,
            if_(cls.uses_lanes)(
                cls.launch_lanes,
                cls.gather_lanes,
            ).else_(
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
            ),
            cls.finalize,
        )

        spec.output("best", valid_type=orm.Dict, help="The best measured formulation and its value.")
        spec.output("dataset", valid_type=orm.Dict, help="All measurements of the campaign.")
        spec.output("model", valid_type=orm.Dict, required=False, help="The last model fitted.")
        spec.output("history", valid_type=orm.Dict, help="What each iteration suggested and measured.")

        spec.exit_code(300, "ERROR_INVALID_CONFIGURATION", message="Invalid configuration: {reason}")
        spec.exit_code(301, "ERROR_NO_MEASUREMENT_METHOD",
                       message="No measurement method is configured: give `methods.experiment.code`, "
                               "`methods.simulation.code`, `methods.replay.table` or "
                               "`methods.instruments`.")
        spec.exit_code(310, "ERROR_NO_VALID_CANDIDATES", message="No valid candidates: {reason}")
        spec.exit_code(320, "ERROR_ALL_MEASUREMENTS_FAILED",
                       message="All {count} measurements of iteration {iteration} failed.")

    # --- the algorithm ---------------------------------------------------------------------

    def setup(self):
        """Validate the configuration and start from the initial data (or an empty dataset)."""
        try:
            self.ctx.space = SearchSpace.from_dict(self.inputs.space.get_dict())
            Strategy.model_validate(self.inputs.strategy.get_dict())
            records.features(self.ctx.space)
            self._check_sizes()
            self._check_initial_data()
        except (pydantic.ValidationError, ValueError, KeyError, TypeError) as error:
            return self.exit_codes.ERROR_INVALID_CONFIGURATION.format(reason=records.one_line(error))
        self.ctx.methods = [name for name, required in METHODS.items()
                            if required in self.inputs.methods.get(name, {})]
        self.ctx.instruments = dict(self.inputs.methods.get("instruments", {}))
        if not self.ctx.methods and not self.ctx.instruments:
            return self.exit_codes.ERROR_NO_MEASUREMENT_METHOD
        if "candidates" in self.inputs:
            reason = self._invalid_pool()
            if reason:
                return self.exit_codes.ERROR_NO_VALID_CANDIDATES.format(reason=reason)
        self.ctx.dataset = self.inputs.get("initial_data") or orm.Dict(
            {"version": 0, "variables": self.ctx.space.names, "unit": records.UNIT, "rows": []})
        self.ctx.iteration = 0
        self.ctx.history = []
        self.ctx.launched = 0
        self.ctx.failed_suggestions = []

    def uses_lanes(self):
        return bool(self.ctx.instruments)

    def launch_lanes(self):
        """One lane per instrument, as many as the budget allows, each from its own first point."""
        group = campaign_group.create_group(self.uuid)
        self.ctx.group_uuid = group.uuid
        rows = self.ctx.dataset["rows"]
        n_lanes = min(len(self.ctx.instruments), self.inputs.budget.value - len(rows))
        if n_lanes < 1 or self._reached_stop(rows):
            self.report("the initial data leaves nothing to measure: no lane is launched")
            return
        first = self._first_points(n_lanes)
        campaign_group.register(group, first, Status.PENDING)
        settings = {**self._settings().get_dict(), "budget": self.inputs.budget.value,
                    "stop_at": self.inputs.stop_at.value if "stop_at" in self.inputs else None}
        for (name, code), suggestion in zip(sorted(self.ctx.instruments.items()), first):
            inputs = {"group": orm.Str(group.uuid), "code": code, "first": suggestion,
                      "dataset": self.ctx.dataset, "space": self.inputs.space,
                      "strategy": self.inputs.strategy, "settings": orm.Dict(settings),
                      "metadata": {"call_link_label": f"lane_{name}"}, **self._pool()}
            self.to_context(lanes=append_(self.submit(lane.InstrumentLaneWorkChain, **inputs)))

    def _first_points(self, n):
        """The lanes' first points: the initial design, or one batch from a model of the initial
        data (kriging believer, so the n points differ), so that no lane waits for another."""
        if not self.ctx.dataset["rows"]:
            return self._outputs_in_order(functions.initial_design(
                self.inputs.space, self._settings(n_initial=n), **self._pool()))
        model = functions.fit_model(self.ctx.dataset, self.inputs.space, self.inputs.strategy,
                                    self.inputs.seed)
        return self._outputs_in_order(functions.suggest(
            model, self.ctx.dataset, self.inputs.space, self._settings(batch_size=n),
            **self._pool()))

    def gather_lanes(self):
        """The campaign's dataset: the start, then every measurement the lanes made, in order."""
        state = campaign_group.read(orm.load_group(uuid=self.ctx.group_uuid))
        start = self.ctx.dataset
        if not state.measured and not start["rows"]:
            return self.exit_codes.ERROR_ALL_MEASUREMENTS_FAILED.format(
                count=len(self.ctx.get("lanes", [])), iteration="(all lanes)")
        if state.measured:
            self.ctx.dataset = functions.assemble_dataset(self.inputs.space, start, **{
                f"measurement_{i}": node for i, node in enumerate(state.measured)})
        self._record_lane_history(start, state)
        for node in self.ctx.get("lanes", []):
            if not node.is_finished_ok:
                self.report(f"lane {node.pk} ended with [{node.exit_status}] {node.exit_message}")

    def _record_lane_history(self, start, state):
        """One history entry per measurement the lanes made, failed ones included, as they ended."""
        ended = sorted([(node.ctime, node.creator, node) for node in state.measured]
                       + [(job.mtime, job, None) for job in map(lane.measuring_job, state.failed)],
                       key=lambda event: event[0])
        rows = self.ctx.dataset["rows"]
        n_rows = len(start["rows"])
        values = lane.measured_values(start, state.measured)
        for iteration, (_, job, measurement) in enumerate(ended, start=1):
            n_rows += measurement is not None
            self.ctx.history.append({
                "iteration": iteration, "lane": job.inputs.code.full_label,
                "model_version": job.inputs.suggestion["model_version"],
                "suggestions": [job.inputs.suggestion.uuid],
                "measured": [rows[n_rows - 1]] if measurement is not None else [],
                "failed": [] if measurement is not None else [
                    {"process": job.pk, "exit_status": job.exit_status, "message": job.exit_message}],
                "n_measurements": n_rows, "best_so_far": max(values[:n_rows], default=None)})

    def needs_initial_design(self):
        return not self.ctx.dataset["rows"]

    def design_start(self):
        """The first suggestions, without a model: random pool rows or a Sobol design."""
        self.ctx.suggestions = self._outputs_in_order(functions.initial_design(
            self.inputs.space, self._settings(), **self._pool()))
        self.ctx.model_version = None

    def should_continue(self):
        rows = self.ctx.dataset["rows"]
        if len(rows) >= self.inputs.budget.value:
            return False
        if self._reached_stop(rows):
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
        settings = self._settings(batch_size=min(
            self.inputs.batch_size.value, self.inputs.budget.value - len(self.ctx.dataset["rows"])))
        failed = {f"failed_{i}": node for i, node in enumerate(self.ctx.failed_suggestions)}
        self.ctx.suggestions = self._outputs_in_order(functions.suggest(
            self.ctx.model, self.ctx.dataset, self.inputs.space, settings, **self._pool(), **failed))

    def measure(self):
        """Measure every suggestion of the batch in parallel, each with the method the policy picks."""
        self.ctx.iteration += 1
        self.ctx.measurements = []
        for suggestion in self.ctx.suggestions:
            method = self._pick_method()
            label = f"measure_{self.ctx.iteration}_{self.ctx.launched}"
            self.ctx.launched += 1
            if method == "replay":
                _, node = functions.replay_measurement.run_get_node(
                    suggestion, self.inputs.methods.replay.table, metadata={"call_link_label": label})
                self.ctx.measurements.append(node)
            else:
                self.to_context(measurements=append_(self.submit(self._builder(method, suggestion, label))))

    def collect(self):
        """Append what was measured; report what failed; stop if nothing of the batch worked."""
        measured, failed = {}, []
        for i, process in enumerate(self.ctx.measurements):
            node = _measurement_of(process)
            if process.is_finished_ok and node is not None:
                measured[f"measurement_{i}"] = node
            else:
                failed.append(process)
                self.ctx.failed_suggestions.append(process.inputs.suggestion)  # not to be suggested again
                self.report(f"measurement {process.process_label}<{process.pk}> failed "
                            f"({process.exit_status}: {process.exit_message}); the campaign goes on")
        if not measured:
            return self.exit_codes.ERROR_ALL_MEASUREMENTS_FAILED.format(
                count=len(failed), iteration=self.ctx.iteration)
        self.ctx.dataset = functions.append_measurements(self.ctx.dataset, **measured)
        self._record_history(measured, failed)

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

    # --- helpers -----------------------------------------------------------------------------

    def _check_sizes(self):
        for name in ("budget", "batch_size", "n_initial", "n_candidates"):
            if self.inputs[name].value < 1:
                raise ValueError(f"`{name}` must be at least 1, got {self.inputs[name].value}")
        if self.inputs.n_initial.value > self.inputs.budget.value:
            raise ValueError(f"`n_initial` ({self.inputs.n_initial.value}) exceeds the `budget` "
                             f"({self.inputs.budget.value}): the start alone would overspend it")
        if self.inputs.methods.policy.value not in POLICIES:
            raise ValueError(f"unknown policy {self.inputs.methods.policy.value!r}; use one of {POLICIES}")

    def _check_initial_data(self):
        if "initial_data" in self.inputs:
            rows = self.inputs.initial_data.get("rows")
            if not isinstance(rows, list):
                raise ValueError("`initial_data` needs a list of `rows` (see `workchains.records`)")
            records.check_rows(rows, self.ctx.space)

    def _reached_stop(self, rows):
        return "stop_at" in self.inputs and any(r["value"] >= self.inputs.stop_at.value for r in rows)

    def _invalid_pool(self):
        names, _ = records.features(self.ctx.space)
        X = self.inputs.candidates.get_array("X")
        if X.ndim != 2 or X.shape[1] != len(names) or len(X) == 0:
            return f"the pool must have shape (n>0, {len(names)}) for {names}, got {X.shape}"
        try:
            self.ctx.space.pool(X[:, : self.ctx.space.dim])
        except ValueError as error:
            return str(error)
        return None

    def _settings(self, batch_size=None, n_initial=None):
        return orm.Dict({
            "seed": self.inputs.seed.value,
            "n_initial": n_initial or self.inputs.n_initial.value,
            "n_candidates": self.inputs.n_candidates.value,
            "batch_size": batch_size or self.inputs.batch_size.value,
        })

    def _pool(self):
        return {"candidates": self.inputs.candidates} if "candidates" in self.inputs else {}

    @staticmethod
    def _outputs_in_order(outputs):
        return [outputs[key] for key in sorted(outputs, key=functions.label_order)]

    def _pick_method(self):
        if self.inputs.methods.policy.value == "first":
            return self.ctx.methods[0]
        return self.ctx.methods[self.ctx.launched % len(self.ctx.methods)]

    def _builder(self, method, suggestion, label):
        """The calculation of a simulation or experiment measuring ``suggestion``."""
        options = self.inputs.methods[method]
        builder = lane.measurement_builder(options.code, suggestion, label)
        if method == "simulation" and "model" in options:
            builder.model = options.model
        return builder

    def _record_history(self, measured, failed):
        rows = self.ctx.dataset["rows"]
        values = np.array([row["value"] for row in rows])
        self.ctx.history.append({
            "iteration": self.ctx.iteration,
            "model_version": self.ctx.model_version,
            "suggestions": [node.uuid for node in self.ctx.suggestions],
            "measured": rows[len(rows) - len(measured):],
            "failed": [{"process": p.pk, "exit_status": p.exit_status, "message": p.exit_message}
                       for p in failed],
            "n_measurements": len(rows),
            "best_so_far": float(values.max()),
        })


def _measurement_of(process):
    """The measurement of a CalcJob (``measurement``) or calcfunction (``result``), if any."""
    for label in ("measurement", "result"):
        if label in process.outputs:
            return process.outputs[label]
    return None
