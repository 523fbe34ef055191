"""Actions: the high-level steps that methods are made of (see :mod:`.base`).

:data:`ACTIONS` maps the ``action`` name used in a rig configuration to its (stateless) instance.
"""

from .base import Action, ActionContext, ActionError, Devices, JobInterrupted, Role
from .common import Wait
from .droplet import Lift, MeasureDroplet, Move, TouchDown
from .formulation import Clean, EquilibrateTemperature, MeasureConductivity, MoveToCell, PrepareFormulation

__all__ = ["ACTIONS", "Action", "ActionContext", "ActionError", "Devices", "JobInterrupted", "Role"]

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        PrepareFormulation(),
        MoveToCell(),
        EquilibrateTemperature(),
        MeasureConductivity(),
        Clean(),
        Move(),
        TouchDown(),
        MeasureDroplet(),
        Lift(),
        Wait(),
    )
}
