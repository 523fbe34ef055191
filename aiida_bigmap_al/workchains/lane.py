"""``InstrumentLaneWorkChain``: keeps one instrument busy within a campaign that shares one learner.

A WorkChain step waits for everything it launched, so one loop cannot react when *any* of N
instruments finishes. Instead the campaign launches one lane per instrument; each lane loops
suggest -> measure -> record on its own instrument. The lanes share the campaign's data through
an AiiDA ``Group``: suggestions and measurements are added to it, and a suggestion's extra
``status`` says whether it is ``pending``, ``measured``, ``failed`` or ``withdrawn`` (see
:meth:`InstrumentLaneWorkChain._over_budget`). Each ``suggest`` takes as
inputs the measurements and the pending suggestions that exist at that moment, so the provenance
graph records exactly what the shared learner saw.
"""

from __future__ import annotations

import typing as t

from aiida import orm
from aiida.engine import WorkChain, while_
from aiida.plugins import CalculationFactory

from . import functions

__all__ = ["CampaignState", "InstrumentLaneWorkChain", "campaign_state", "measured_values", "measurement_builder",
           "measuring_job"]

#: Failed measurements in a row after which a lane stops: its instrument (or model) is not working.
MAX_FAILURES_IN_A_ROW = 3

STATUS = "status"


class CampaignState(t.NamedTuple):
    """What the lanes have done so far, oldest first: measurements, pending and failed suggestions."""

    measured: list
    pending: list
    failed: list


def campaign_state(group) -> CampaignState:
    """The campaign so far, from one query for the whole group (nodes with their extras)."""
    query = orm.QueryBuilder().append(orm.Group, filters={"uuid": group.uuid}, tag="group")
    query.append(orm.Node, with_group="group", project=["*", "extras"], tag="node")
    query.order_by({"node": {"ctime": "asc"}})
    nodes = query.all()
    measured_uuids = {extras["measurement"] for _, extras in nodes if extras.get(STATUS) == "measured"}
    return CampaignState(
        measured=[node for node, _ in nodes if node.uuid in measured_uuids],
        pending=[node for node, extras in nodes if extras.get(STATUS) == "pending"],
        failed=[node for node, extras in nodes if extras.get(STATUS) == "failed"])


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


class InstrumentLaneWorkChain(WorkChain):
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
        return self.to_context(job=self.submit(
            measurement_builder(self.inputs.code, self.ctx.suggestion, label)))

    def record(self):
        """Mark the suggestion measured (with its measurement) or failed; the lane goes on unless
        its last :data:`MAX_FAILURES_IN_A_ROW` measurements all failed."""
        job, suggestion = self.ctx.job, self.ctx.suggestion
        if job.is_finished_ok and "measurement" in job.outputs:
            self.ctx.group.add_nodes(job.outputs.measurement)
            suggestion.base.extras.set_many({STATUS: "measured",
                                             "measurement": job.outputs.measurement.uuid})
            self.ctx.failures_in_a_row = 0
            return None
        suggestion.base.extras.set(STATUS, "failed")
        self.ctx.failures_in_a_row += 1
        self.report(f"measurement {job.process_label}<{job.pk}> on {self.inputs.code.full_label} "
                    f"failed ({job.exit_status}: {job.exit_message})")
        if self.ctx.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            return self.exit_codes.ERROR_INSTRUMENT_FAILING.format(
                count=self.ctx.failures_in_a_row, code=self.inputs.code.full_label)
        return None

    def suggest_next(self):
        """Fit on the start and every measurement so far; suggest one point, aware of the pending ones."""
        settings, start = self.inputs.settings.get_dict(), self.inputs.dataset
        measured, pending, failed = campaign_state(self.ctx.group)
        self.ctx.suggestion = None
        if len(start["rows"]) + len(measured) + len(pending) >= settings["budget"]:
            return
        values = measured_values(start, measured)
        if not values:
            return
        if settings.get("stop_at") is not None and max(values) >= settings["stop_at"]:
            self.report(f"stopping: a measured value reached {settings['stop_at']}")
            return
        dataset = functions.assemble_dataset(self.inputs.space, start, **{
            f"measurement_{i}": node for i, node in enumerate(measured)})
        model = functions.fit_model(dataset, self.inputs.space, self.inputs.strategy,
                                    orm.Int(settings["seed"]))
        pool = {"candidates": self.inputs.candidates} if "candidates" in self.inputs else {}
        outputs = functions.suggest(model, dataset, self.inputs.space,
                                    orm.Dict({**settings, "batch_size": 1}), **pool,
                                    **{f"pending_{i}": node for i, node in enumerate(pending)},
                                    **{f"failed_{i}": node for i, node in enumerate(failed)})
        suggestion = outputs.get("suggestion_0")
        if suggestion is None:
            self.report("no candidate is left: the lane stops")
            return
        suggestion.base.extras.set(STATUS, "pending")
        self.ctx.group.add_nodes(suggestion)
        if self._over_budget(start, settings["budget"]):
            suggestion.base.extras.set(STATUS, "withdrawn")
            self.report("another lane took the last of the budget meanwhile: suggestion withdrawn, the lane stops")
            return
        self.ctx.suggestion = suggestion

    def _over_budget(self, start, budget):
        """Whether the campaign, with this lane's new pending suggestion, exceeds its budget.

        Lanes fit and suggest concurrently, so another lane may have registered a suggestion
        after this one read the state. Each lane registers first and counts again afterwards:
        of two lanes racing for the last measurement, the one that counts second sees both and
        withdraws, so the budget is never exceeded (at worst both withdraw, one short of it).
        """
        state = campaign_state(self.ctx.group)
        return len(start["rows"]) + len(state.measured) + len(state.pending) > budget
