"""``InstrumentLaneWorkChain``: keeps one instrument busy within a campaign that shares one learner.

A WorkChain step waits for everything it launched, so one loop cannot react when *any* of N
instruments finishes. Instead the campaign launches one lane per instrument; each lane loops
measure -> record -> suggest on its own instrument. The lanes share the campaign's ledger (the
AiiDA group of :mod:`.campaign_group`): each ``suggest`` takes as inputs the measurements and the
pending suggestions that exist at that moment, so the provenance graph records exactly what the
shared learner saw, and each new point is *claimed* before it is measured
(:meth:`InstrumentLaneWorkChain.claim_next`): under the campaign's lock, a point that another lane
claimed meanwhile, or that the budget has no room for, is withdrawn instead of measured twice.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import WorkChain, while_
from aiida.plugins import CalculationFactory

from .. import ledger
from ..space import SearchSpace
from . import campaign_group, functions
from .handlers import MeasurementHandlers, ProcessHandlerReport, process_handler
from .relaunch import launched_before

__all__ = ["InstrumentLaneWorkChain", "measured_values", "measurement_builder", "measuring_job"]

#: Failed measurements in a row after which a lane stops: its instrument (or model) is not working.
MAX_FAILURES_IN_A_ROW = 3
#: Suggestions a lane may make for one measurement: each refused claim costs one more.
MAX_CLAIMS = 5


def measuring_job(suggestion):
    """The calculation that measured (or tried to measure) a suggestion."""
    return suggestion.base.links.get_outgoing(link_label_filter="suggestion").first().node


def measured_values(dataset, measurements):
    """The values of a start dataset's rows and of measurement nodes, in that order."""
    return ([row["value"] for row in dataset["rows"]]
            + [node["fom_data"]["value"] for node in measurements])


def measurement_builder(code, suggestion, label):
    """A builder for the calculation that ``code`` runs (simulation or experiment) on a suggestion."""
    builder = CalculationFactory(code.default_calc_job_plugin).get_builder()
    builder.code = code
    builder.suggestion = suggestion
    builder.metadata.call_link_label = label
    return builder


class InstrumentLaneWorkChain(MeasurementHandlers, WorkChain):
    """Suggest, measure, record on one instrument until the campaign's budget is used (or a
    measured value reaches ``stop_at``)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("group", valid_type=orm.Str, help="UUID of the campaign's group.")
        spec.input("code", valid_type=orm.AbstractCode, help="The instrument (or simulator) code.")
        spec.input("first", valid_type=orm.Dict, help="The lane's first suggestion.")
        spec.input("space", valid_type=orm.Dict)
        spec.input("strategy", valid_type=orm.Dict)
        spec.input("dataset", valid_type=orm.Dict,
                   help="What the campaign started from: its initial data, or no rows.")
        spec.input("settings", valid_type=orm.Dict,
                   help="Seed, candidates, budget (the start's rows included) and optional stop_at.")
        spec.input("candidates", valid_type=orm.ArrayData, required=False)
        spec.exit_code(320, "ERROR_INSTRUMENT_FAILING",
                       message="The last {count} measurements on {code} failed: the lane stops.")
        spec.outline(
            cls.setup,
            while_(cls.should_continue)(
                cls.measure,
                cls.record,
                cls.suggest_next,
            ),
        )

    def setup(self):
        self.ctx.group = orm.load_group(uuid=self.inputs.group.value)
        self.ctx.suggestion = self.inputs.first
        self.ctx.count = 0
        self.ctx.failures_in_a_row = 0

    def should_continue(self):
        return self.ctx.suggestion is not None

    def measure(self):
        self.ctx.count += 1
        label = f"measure_{self.ctx.count}"
        job = launched_before(self, label) or self.submit(
            measurement_builder(self.inputs.code, self.ctx.suggestion, label))
        return self.to_context(job=job)

    def record(self):
        """Mark the suggestion measured (with its measurement); a failure goes to the handlers."""
        job = self.ctx.job
        if job.is_finished_ok and "measurement" in job.outputs:
            campaign_group.record(self.ctx.group, self.ctx.suggestion, job.outputs.measurement)
            self.ctx.failures_in_a_row = 0
            return None
        return self.inspect_measurement(job)

    @process_handler(priority=100)
    def report_and_go_on(self, node):
        """A failed measurement is reported and its point marked failed: it is never suggested again."""
        campaign_group.record(self.ctx.group, self.ctx.suggestion)
        self.ctx.failures_in_a_row += 1
        self.report(f"measurement {node.process_label}<{node.pk}> on {self.inputs.code.full_label} "
                    f"failed ({node.exit_status}: {node.exit_message})")
        return ProcessHandlerReport()

    @process_handler(priority=90)
    def stop_a_failing_instrument(self, node):
        """After :data:`MAX_FAILURES_IN_A_ROW` failures in a row the instrument (or the model) is not
        working: the lane stops, and the campaign goes on with the other lanes."""
        if self.ctx.failures_in_a_row < MAX_FAILURES_IN_A_ROW:
            return None
        return ProcessHandlerReport(True, self.exit_codes.ERROR_INSTRUMENT_FAILING.format(
            count=self.ctx.failures_in_a_row, code=self.inputs.code.full_label))

    def suggest_next(self):
        """Fit on the start and every measurement so far; claim the next point to measure."""
        settings, start = self.inputs.settings.get_dict(), self.inputs.dataset
        state = campaign_group.read(self.ctx.group)
        self.ctx.suggestion = None
        if ledger.budget_left(settings["budget"], self._entries(state)) < 1:
            return
        values = measured_values(start, state.measured)
        if not values:
            return
        if settings.get("stop_at") is not None and max(values) >= settings["stop_at"]:
            self.report(f"stopping: a measured value reached {settings['stop_at']}")
            return
        dataset = functions.assemble_dataset(self.inputs.space, start, **{
            f"measurement_{i}": node for i, node in enumerate(state.measured)})
        model = functions.fit_model(dataset, self.inputs.space, self.inputs.strategy,
                                    orm.Int(settings["seed"]))
        self.ctx.suggestion = self.claim_next(model, dataset, state)

    def claim_next(self, model, dataset, state):
        """Suggest a point and claim it in the campaign's ledger; the claimed suggestion, or None.

        Reading the ledger, checking the point and registering it happen under the campaign's
        lock, so no two lanes claim the same point and the budget is never exceeded. If another
        lane claimed the same point while this one was fitting, the lane suggests again, now
        knowing that lane's point as pending (kriging believer), and claims again.
        """
        budget, tolerance = self.inputs.settings["budget"], ledger.Tolerance.of_space(self._space())
        for _ in range(MAX_CLAIMS):
            suggestion = self._suggest(model, dataset, state)
            if suggestion is None:
                self.report("no candidate is left: the lane stops")
                return None
            with campaign_group.locked(self.ctx.group, holder=f"lane {self.uuid}"):
                state = campaign_group.read(self.ctx.group)
                point = ledger.point_of_suggestion(suggestion.get_dict())
                verdict = ledger.claim(point, self._entries(state), budget, tolerance)
                campaign_group.register(self.ctx.group, [suggestion],
                                        ledger.Status.PENDING if verdict.granted else ledger.Status.WITHDRAWN)
            if verdict.granted:
                return suggestion
            if verdict.budget_spent:
                self.report("another lane took the last of the budget meanwhile: suggestion withdrawn, the lane stops")
                return None
            self.report(f"suggestion<{suggestion.pk}> withdrawn: another lane claimed the same point "
                        f"meanwhile ({verdict.conflicts[0].key}); suggesting again")
        self.report(f"{MAX_CLAIMS} suggestions in a row were taken by other lanes: the lane stops")
        return None

    def _suggest(self, model, dataset, state):
        """One point from the model, aware of every point it has not seen measured: the pending
        ones, and those measured since ``dataset`` was assembled."""
        seen = {row["measurement"] for row in dataset["rows"]}
        pending = state.pending + [node for uuid, node in state.suggestion_of.items() if uuid not in seen]
        pool = {"candidates": self.inputs.candidates} if "candidates" in self.inputs else {}
        outputs = functions.suggest(model, dataset, self.inputs.space,
                                    orm.Dict({**self.inputs.settings.get_dict(), "batch_size": 1}), **pool,
                                    **{f"pending_{i}": node for i, node in enumerate(pending)},
                                    **{f"failed_{i}": node for i, node in enumerate(state.failed)})
        return outputs.get("suggestion_0")

    def _space(self):
        return SearchSpace.from_dict(self.inputs.space.get_dict())

    def _entries(self, state):
        return campaign_group.entries(state, self.inputs.dataset["rows"], self._space().names)
