"""``launched_before``: what a step replayed after a crash finds of the measurements it had launched."""

import types

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ProcessState

from aiida_bigmap_al.workchains.relaunch import LOST, launched_before


def called(parent, label, state):
    node = orm.CalcFunctionNode()
    node.base.links.add_incoming(parent, LinkType.CALL_CALC, label)
    node.store()
    if state is not None:
        node.set_process_state(state)
    return node


def test_finds_the_process_by_its_exact_label_and_gives_up_on_one_never_taken_up(aiida_profile):
    parent = orm.WorkflowNode().store()
    step = types.SimpleNamespace(node=parent, report=lambda message: None)
    other = called(parent, "measure_111", ProcessState.FINISHED)  # `_` is a LIKE wildcard: not this one
    assert launched_before(step, "measure_1_1", take_up_within=0) is None
    finished = called(parent, "measure_1_1", ProcessState.FINISHED)
    assert launched_before(step, "measure_1_1", take_up_within=0).uuid == finished.uuid
    lost = called(parent, "measure_2_2", None)  # stored by submit, its task lost: never taken up
    assert launched_before(step, "measure_2_2", take_up_within=0.3) is None
    assert lost.process_state is ProcessState.KILLED and lost.base.extras.get(LOST) and lost.is_sealed
    assert not other.base.extras.get(LOST, False)
