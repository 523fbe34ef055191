"""Drivers, one per device kind, speaking the devices' ASCII line protocols over pyserial.

:data:`DRIVERS` maps the ``kind`` of a device in the rig configuration to its driver class; each
driver class carries the pydantic model of its kind's ``settings``.
"""

from .base import DeviceError, LineDriver, TrafficEntry, TrafficLog
from .conductivity_cell import ConductivityCellDriver, ConductivityCellSettings
from .droplet_cell import DropletCellDriver, DropletCellSettings
from .pump import Stock, SyringePumpDriver, SyringePumpSettings
from .stage import XYZStageDriver, XYZStageSettings
from .thermostat import ThermostatDriver, ThermostatSettings

__all__ = [
    "DRIVERS",
    "ConductivityCellDriver",
    "ConductivityCellSettings",
    "DeviceError",
    "DropletCellDriver",
    "DropletCellSettings",
    "LineDriver",
    "Stock",
    "SyringePumpDriver",
    "SyringePumpSettings",
    "ThermostatDriver",
    "ThermostatSettings",
    "TrafficEntry",
    "TrafficLog",
    "XYZStageDriver",
    "XYZStageSettings",
]

DRIVERS: dict[str, type[LineDriver]] = {
    driver.kind: driver
    for driver in (SyringePumpDriver, ThermostatDriver, ConductivityCellDriver, XYZStageDriver, DropletCellDriver)
}
