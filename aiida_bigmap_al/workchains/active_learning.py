"""``ActiveLearningWorkChain`` (``bigmap.active_learning``): a campaign in the mode its methods choose.

Campaign files and earlier code launch this one workchain for both modes: with
``methods.instruments`` it runs the lanes campaign (:mod:`.lanes_campaign`), otherwise the batch
campaign (:mod:`.batch_campaign`). It is both classes at once, with an outline that picks one of
their algorithms, so its nodes keep the shape they always had (lanes and measurements are its
own children) and every input, output and exit code of either mode is its. New code can launch
a mode directly (``bigmap.batch_campaign``, ``bigmap.lanes_campaign``).
"""

from __future__ import annotations

from aiida.engine import if_

from .batch_campaign import BatchCampaignWorkChain
from .lanes_campaign import LanesCampaignWorkChain

__all__ = ["ActiveLearningWorkChain"]


class ActiveLearningWorkChain(LanesCampaignWorkChain, BatchCampaignWorkChain):
    """An active-learning campaign over a search space, measured by simulations or experiments."""

    METHODS_HINT = ("`methods.experiment.code`, `methods.simulation.code`, `methods.replay.table` "
                    "or `methods.instruments`")

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.outline(
            cls.setup,
            if_(cls.uses_lanes)(
                *cls.lanes_algorithm(),
            ).else_(
                *cls.batch_algorithm(),
            ),
            cls.finalize,
        )

    def uses_lanes(self):
        return bool(self.inputs.methods.get("instruments"))
