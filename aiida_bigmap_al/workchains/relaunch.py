"""Adopt, when a step is replayed after a crash, the measurements it had launched the first time.

A daemon worker that dies inside a step that launches measurements (an OOM kill, a power cut)
leaves the workchain at its last checkpoint, from before the step, and the next worker replays
the step. The measurements it had already submitted are AiiDA processes of their own, whose
tasks the broker holds: they run anyway. Submitting them again would measure a point twice; on
an instrument, an experiment run twice. A step's call link labels are the same when it is
replayed, so :func:`launched_before` finds those processes by label and the step waits for them
instead of submitting again.

One case needs care: a worker killed right after storing a process but before its task reached
the broker (the embedded ZeroMQ broker's sends are asynchronous) leaves a process that no worker
will ever run. It stays without a state (or ``Created``), as does a process whose task waits in
the queue of a busy daemon, so such a process is given :data:`TAKE_UP_WITHIN` seconds to be taken
up; one that is not was lost with its task. It is then marked killed (a worker that should still get its task
does not run a terminated process) and the step submits the measurement again: it never ran.
"""

from __future__ import annotations

import time

from aiida.common.links import LinkType
from aiida.engine import ProcessState

from .campaign_group import pause

__all__ = ["TAKE_UP_WITHIN", "launched_before"]

#: Seconds a process not yet taken up has to be taken up by a worker before it counts as lost.
TAKE_UP_WITHIN = 15.0
#: Seconds between two looks at it.
LOOK_EVERY = 0.25
#: States of a process no worker has taken up yet (a stored process has no state until it runs).
NOT_TAKEN_UP = (None, ProcessState.CREATED)
#: Extra of a process marked killed because its task was lost.
LOST = "bigmap_al_lost_task"


def launched_before(workchain, label: str, take_up_within: float = TAKE_UP_WITHIN):
    """The process ``workchain`` launched as ``label`` before it was interrupted (and that is not
    lost), or None."""
    exactly = label.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")  # a LIKE pattern
    called = workchain.node.base.links.get_outgoing(
        link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK), link_label_filter=exactly).all_nodes()
    live = [node for node in called if not node.base.extras.get(LOST, False)]
    return _taken_up(workchain, live[-1], label, take_up_within) if live else None


def _taken_up(workchain, node, label: str, take_up_within: float):
    """``node`` once a worker has taken it up (or it ended), or None after marking it lost."""
    deadline = time.monotonic() + take_up_within
    while node.process_state in NOT_TAKEN_UP:
        if time.monotonic() > deadline:
            _mark_lost(node)
            workchain.report(f"{node.process_label}<{node.pk}> ({label}) was not taken up by a worker "
                             f"within {take_up_within:g} s: its task was lost when the worker that submitted "
                             f"it died. It is marked killed and launched again.")
            return None
        pause(LOOK_EVERY)
    return node


def _mark_lost(node) -> None:
    """End a process that will never run: killed, with the reason, and sealed like any ended process."""
    node.base.extras.set(LOST, True)
    node.set_process_state(ProcessState.KILLED)
    node.set_process_status("never started: its task was lost when the worker that submitted it died")
    node.seal()
