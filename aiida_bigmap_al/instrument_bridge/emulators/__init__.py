"""Device emulators: stand-ins for lab hardware at the far end of a real serial link.

Nothing here is hardware. Each emulator plays one device of an emulated rig, answers the
device's ASCII line protocol (documented in each module) over a pseudo-terminal or a TCP socket
(:mod:`.links`), takes realistic, scalable time for slow operations, and can misbehave on demand
(answer garbage or nothing) for fault tests. The instrument server's drivers cannot tell them from
real devices: they open the same kind of pyserial URL and exchange the same bytes.

Two rigs are emulated:

(a) the formulation-and-conductivity rig: :class:`SyringePumpEmulator` (one per stock
    solution), :class:`ThermostatEmulator`, :class:`ConductivityCellEmulator` (values from a
    model fitted to the FZJ data, or the project's simulator, with replicate-level noise);
(b) the BIG-MAP demonstrator's mock scanning droplet cell: :class:`XYZStageEmulator` and
    :class:`DropletCellEmulator` (a scaled Schwefel function of the touch-down position).

The devices of one rig share a :class:`Bench` (vial, cell, bath temperature, stage position),
so that a measurement depends on what the other devices actually did.

No AiiDA here: this package runs on a lab PC.
"""

from pydantic import BaseModel

from .base import FAULT_MODES, EmulatedDevice, EmulatorError
from .bench import Bench, Mixture
from .conductivity_cell import ConductivityCellEmulator, ConductivityCellOptions
from .conductivity_model import ConductivityModel, load_model
from .droplet_cell import DropletCellEmulator, DropletCellOptions, schwefel
from .links import LINK_KINDS, EmulatorLink, PtyLink, SocketLink, serve
from .pump import SyringePumpEmulator, SyringePumpOptions
from .stage import XYZStageEmulator, XYZStageOptions
from .thermostat import ThermostatEmulator, ThermostatOptions

__all__ = [
    "FAULT_MODES",
    "LINK_KINDS",
    "Bench",
    "ConductivityCellEmulator",
    "ConductivityCellOptions",
    "ConductivityModel",
    "DropletCellEmulator",
    "DropletCellOptions",
    "EmulatedDevice",
    "EmulatorError",
    "EmulatorLink",
    "Mixture",
    "PtyLink",
    "SocketLink",
    "SyringePumpEmulator",
    "SyringePumpOptions",
    "ThermostatEmulator",
    "ThermostatOptions",
    "XYZStageEmulator",
    "XYZStageOptions",
    "load_model",
    "options_model",
    "schwefel",
    "serve",
]

#: The model of ``emulator.options`` in a rig configuration, per device kind.
_OPTIONS: dict[str, type[BaseModel]] = {
    "syringe_pump": SyringePumpOptions,
    "thermostat": ThermostatOptions,
    "conductivity_cell": ConductivityCellOptions,
    "xyz_stage": XYZStageOptions,
    "droplet_cell": DropletCellOptions,
}


def options_model(kind: str) -> type[BaseModel]:
    """The pydantic model of ``emulator.options`` for a device kind (the rig configuration checks them)."""
    return _OPTIONS[kind]
