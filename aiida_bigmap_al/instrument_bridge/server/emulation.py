"""Start the emulated devices a rig configuration asks for (``emulator:`` instead of ``url:``).

The server then drives them through the same drivers and serial URLs as real devices: each
emulator is served on its own pty or local socket, and the device's URL becomes that link's URL.
All emulated devices of one server share one :class:`~..emulators.Bench`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import emulators as emu
from .config import DeviceSpec, RigConfig

__all__ = ["RunningEmulator", "start_emulators"]


@dataclass
class RunningEmulator:
    """An emulated device and the link it is served on."""

    device: emu.EmulatedDevice
    link: emu.EmulatorLink


def _build(spec: DeviceSpec, bench: emu.Bench, config: RigConfig) -> emu.EmulatedDevice:
    """The emulator of one device, from its settings (shared with the driver) and options."""
    assert spec.emulator is not None
    settings = spec.parsed_settings.model_dump()
    options = emu.options_model(spec.kind).model_validate(spec.emulator.options).model_dump()
    common = {"time_scale": spec.time_scale, "seed": spec.emulator.seed}
    if spec.kind == "syringe_pump":
        stock = settings.pop("stock")
        return emu.SyringePumpEmulator(spec.address, bench, **stock, **settings, **common)
    if spec.kind == "thermostat":
        return emu.ThermostatEmulator(spec.address, bench, **settings, **options, **common)
    if spec.kind == "conductivity_cell":
        data = options["data"]
        model = emu.load_model(str(config.resolve_path(data)) if data else None)
        return emu.ConductivityCellEmulator(spec.address, bench, model, **settings, **common)
    if spec.kind == "xyz_stage":
        return emu.XYZStageEmulator(spec.address, bench, **settings, **common)
    if spec.kind == "droplet_cell":
        return emu.DropletCellEmulator(spec.address, bench, **settings, **options, **common)
    raise ValueError(f"no emulator for device kind {spec.kind!r}")


def start_emulators(config: RigConfig) -> dict[str, RunningEmulator]:
    """Build and serve every emulated device; returns them by device name (stop their links)."""
    bench = emu.Bench()
    running: dict[str, RunningEmulator] = {}
    try:
        for name, spec in config.devices.items():
            if spec.emulator is None:
                continue
            device = _build(spec, bench, config)
            fault = spec.emulator.fault
            if fault is not None:
                device.misbehave(fault.mode, fault.command, fault.count)
            running[name] = RunningEmulator(device, emu.serve(device, spec.emulator.transport))
    except BaseException:
        for emulator in running.values():
            emulator.link.stop()
        raise
    return running
