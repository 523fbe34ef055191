"""A campaign on an instrument is refused at launch when its temperatures lie outside the rig's limits.

The limits are the server's own (``GET /methods``, the rig file's ``methods.conductivity``), read
through the registered computer when the campaign is launched: here 243.15 to 333.15 K, narrower
than the simulator's model domain.
"""

from __future__ import annotations

import pathlib

import pytest
from aiida import orm

from aiida_bigmap_al.campaign_spec import load_spec
from aiida_bigmap_al.instrument_bridge.register import register
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain


def campaign(code, temperature, methods="experiment"):
    placed = {"experiment": {"code": code}} if methods == "experiment" else {"instruments": {"rig": code}}
    return {"space": orm.Dict(fzj_space(temperatures=[temperature]).to_dict()),
            "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
            "budget": orm.Int(3), "n_candidates": orm.Int(64), "methods": placed}


@pytest.mark.parametrize("methods", ["experiment", "instruments"])
def test_temperatures_outside_the_rigs_limits_are_refused(instrument, server, methods):
    code = instrument(server.url).code
    refusal = ActiveLearningWorkChain.refusal(campaign(code, 335.0, methods))
    field = "methods.experiment" if methods == "experiment" else "methods.instruments.rig"
    assert refusal == (f"`temperatures` [335.0] K lie outside the limits of method 'conductivity' on instrument "
                       f"{code.computer.label} (`{field}`): [243.15, 333.15] K")
    assert ActiveLearningWorkChain.refusal(campaign(code, 298.15, methods)) is None


def test_an_instrument_that_is_off_is_not_asked(instrument, make_server):
    """A lab server may be off when a campaign is submitted: the rig refuses a bad request itself later."""
    code = instrument(make_server(start=False).url).code
    assert ActiveLearningWorkChain.refusal(campaign(code, 335.0)) is None


def test_an_instrument_that_refuses_the_token_is_refused_at_launch(instrument, server, tmp_path, caplog):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    code = instrument(server.url, token_file=wrong).code
    refusal = ActiveLearningWorkChain.refusal(campaign(code, 298.15))
    assert refusal.startswith(f"`methods.experiment`: cannot read the limits of instrument {code.computer.label}: "
                              f"the instrument server at {server.url} refused the bearer token")
    assert not [record for record in caplog.records if "refused the bearer token" in record.getMessage()], \
        "the refusal says it: the transport's log must not repeat the long message"


def test_the_instrument_example_campaign_validates_against_a_registered_rig(aiida_profile, server, token_file):
    """examples/campaigns/instrument.yaml names `rig1-experiment@rig1`, as `instrument register rig1` makes it."""
    register("rig1", server.url, token_file=token_file, poll_interval=0.1, safe_interval=0.0, check=False)
    spec = load_spec(pathlib.Path(__file__).parents[3] / "examples" / "campaigns" / "instrument.yaml")
    inputs = spec.inputs()
    assert inputs["methods"]["experiment"]["code"].full_label == "rig1-experiment@rig1"
    assert ActiveLearningWorkChain.refusal(inputs) is None
