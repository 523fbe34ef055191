"""``LanesCampaignWorkChain``: one lane per instrument, all sharing one learner and one ledger.

A batch waits for its slowest measurement; with several instruments, each should start its
next measurement as soon as it is free. So the campaign launches one
:class:`~.lane.InstrumentLaneWorkChain` per instrument, each from its own first point, and
waits for them; the lanes share the campaign's ledger (:mod:`.campaign_group`), in which every
point is claimed before it is measured, so no point is measured twice and the budget holds.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import append_, if_

from .. import campaign_limits as limits
from ..ledger import Status
from . import campaign_group, functions, lane, records
from .campaign import CampaignWorkChain

__all__ = ["LanesCampaignWorkChain"]


class LanesCampaignWorkChain(CampaignWorkChain):
    """An active-learning campaign on several instruments (or simulators), each kept busy by a lane."""

    METHODS_HINT = "`methods.instruments`"

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace("methods.instruments", valid_type=orm.AbstractCode, dynamic=True,
                             required=False,
                             help="Instruments (or simulators) by name, each kept busy by its own "
                                  "lane sharing one learner: measurements do not wait for batches.")
        spec.exit_code(330, "ERROR_NOTHING_MEASURED",
                       message="No lane measured anything: {count} lanes ended without a measurement.")
        spec.outline(cls.setup, *cls.lanes_algorithm(), cls.finalize)

    @classmethod
    def lanes_algorithm(cls):
        """The outline between setup and finalize: open the campaign's ledger, launch the lanes if
        the budget leaves room, then gather what they measured."""
        return (
            cls.open_ledger,
            if_(cls.has_room_for_lanes)(
                cls.launch_lanes,
            ),
            cls.gather_lanes,
        )

    @classmethod
    def has_measurement_method(cls, inputs) -> bool:
        return bool(inputs["methods"].get("instruments")) or super().has_measurement_method(inputs)

    @classmethod
    def measuring_codes(cls, inputs):
        """Each instrument's code: a simulator's or an instrument's (lanes take either)."""
        codes = super().measuring_codes(inputs)
        for name, code in sorted(inputs["methods"].get("instruments", {}).items()):
            field = f"methods.instruments.{name}"
            limits.check_code_plugin(field, code, {limits.SIMULATION_PLUGIN, limits.EXPERIMENT_PLUGIN})
            codes.append((field, code, None))
        return codes

    def open_ledger(self):
        """The campaign's group, in which the lanes claim and record their points."""
        self.ctx.group_uuid = campaign_group.create_group(self.uuid).uuid

    def has_room_for_lanes(self):
        """Whether the start leaves a measurement to make (budget left, ``stop_at`` not reached)."""
        rows = self.ctx.dataset["rows"]
        if self.inputs.budget.value - len(rows) < 1 or self.reached_stop(rows):
            self.report("the initial data leaves nothing to measure: no lane is launched")
            return False
        return True

    def launch_lanes(self):
        """One lane per instrument, as many as the budget allows, each from its own first point."""
        group = orm.load_group(uuid=self.ctx.group_uuid)
        instruments = sorted(self.inputs.methods.instruments.items())
        first = self._first_points(min(len(instruments), self.inputs.budget.value - len(self.ctx.dataset["rows"])))
        campaign_group.register(group, first, Status.PENDING)
        settings = {**self.settings(n_initial=len(first)).get_dict(), "budget": self.inputs.budget.value,
                    "stop_at": self.inputs.stop_at.value if "stop_at" in self.inputs else None}
        for (name, code), suggestion in zip(instruments, first):
            inputs = {"group": orm.Str(group.uuid), "code": code, "first": suggestion,
                      "dataset": self.ctx.dataset, "space": self.inputs.space,
                      "strategy": self.inputs.strategy, "settings": orm.Dict(settings),
                      "metadata": {"call_link_label": f"lane_{name}"}, **self.pool()}
            self.to_context(lanes=append_(self.submit(lane.InstrumentLaneWorkChain, **inputs)))

    def _first_points(self, n):
        """The lanes' first points: the initial design, or one batch from a model of the initial
        data (kriging believer, so the n points differ), so that no lane waits for another."""
        if not self.ctx.dataset["rows"]:
            return self.outputs_in_order(functions.initial_design(
                self.inputs.space, self.settings(n_initial=n), **self.pool()))
        model = functions.fit_model(self.ctx.dataset, self.inputs.space, self.inputs.strategy,
                                    self.inputs.seed)
        return self.outputs_in_order(functions.suggest(
            model, self.ctx.dataset, self.inputs.space, self.settings(batch_size=n), **self.pool()))

    def gather_lanes(self):
        """The campaign's dataset: the start, then every measurement the lanes made, in order."""
        state = campaign_group.read(orm.load_group(uuid=self.ctx.group_uuid))
        start = self.ctx.dataset
        if not state.measured and not start["rows"]:
            return self.exit_codes.ERROR_NOTHING_MEASURED.format(count=len(self.ctx.get("lanes", [])))
        if state.measured:
            self.ctx.dataset = functions.assemble_dataset(self.inputs.space, start, **{
                f"measurement_{i}": node for i, node in enumerate(state.measured)})
        self._record_lane_history(start, state)
        for node in self.ctx.get("lanes", []):
            if not node.is_finished_ok:
                self.report(f"lane {node.pk} ended with [{node.exit_status}] {node.exit_message}")
        return None

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
            self.ctx.history.append(records.history_entry(
                iteration=iteration, lane=job.inputs.code.full_label,
                model_version=job.inputs.suggestion["model_version"],
                suggestions=[job.inputs.suggestion.uuid],
                measured=[rows[n_rows - 1]] if measurement is not None else [],
                failed=[] if measurement is not None else [job],
                n_measurements=n_rows, best_so_far=max(values[:n_rows], default=None)))
