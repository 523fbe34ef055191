"""Emulated syringe pump: doses one stock solution into the rig's mixing vial.

Protocol (see :mod:`.base` for the framing and the ``FAULT`` command):

==============================  ===========================  ======================================
command                         reply                        notes
==============================  ===========================  ======================================
``<ADDR> ID``                   ``ID SYRINGE-PUMP <ADDR>``
``<ADDR> DISPENSE <mL>``        ``OK <mL>``                  volume rounded to 0.001 mL (the
                                                             pump's resolution); takes
                                                             ``mL / rate`` minutes
==============================  ===========================  ======================================

Errors: ``ERR volume_ml must be a number ...``, ``ERR volume ... outside (0, <max>] mL``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .base import EmulatedDevice, EmulatorError, parse_numbers
from .bench import Bench

__all__ = ["SyringePumpEmulator", "SyringePumpOptions"]

#: Smallest volume step of the pump (mL).
RESOLUTION_ML = 0.001


class SyringePumpOptions(BaseModel):
    """Emulator-only options of a syringe pump (none: its physics are the device settings)."""

    model_config = ConfigDict(extra="forbid")


class SyringePumpEmulator(EmulatedDevice):
    """Stands in for a syringe pump; what it dispenses lands in ``bench.vial``."""

    model = "SYRINGE-PUMP"

    def __init__(
        self,
        address: str,
        bench: Bench,
        *,
        density_g_ml: float,
        mass_fractions: dict[str, float],
        rate_ml_min: float = 5.0,
        max_volume_ml: float = 10.0,
        time_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(address, time_scale=time_scale, seed=seed)
        self.bench = bench
        self.density_g_ml = density_g_ml
        self.mass_fractions = dict(mass_fractions)
        self.rate_ml_min = rate_ml_min
        self.max_volume_ml = max_volume_ml

    def do_dispense(self, *args: str) -> str:
        """``DISPENSE <mL>``: push that volume of stock into the vial."""
        (volume,) = parse_numbers(args, ("volume_ml",))
        volume = round(volume / RESOLUTION_ML) * RESOLUTION_ML
        if not 0.0 < volume <= self.max_volume_ml:
            raise EmulatorError(f"volume {volume:.3f} mL outside (0, {self.max_volume_ml:g}] mL")
        self.wait(volume / self.rate_ml_min * 60.0)
        with self.bench.lock:
            self.bench.vial.add(volume, self.density_g_ml, self.mass_fractions)
        return f"OK {volume:.3f}"
