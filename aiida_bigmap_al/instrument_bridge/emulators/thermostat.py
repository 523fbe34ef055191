"""Emulated thermostat: a bath around the conductivity cell that approaches its set point.

Protocol (see :mod:`.base` for the framing and the ``FAULT`` command):

========================  =========================  ============================================
command                   reply                      notes
========================  =========================  ============================================
``<ADDR> ID``             ``ID THERMOSTAT <ADDR>``
``<ADDR> SET <K>``        ``OK``                     new set point; answers at once
``<ADDR> GET``            ``T <K>``                  bath temperature, 3 decimals, with sensor
                                                     noise
========================  =========================  ============================================

Errors: ``ERR setpoint ... outside [<min>, <max>] K``.

The bath follows its set point with first-order dynamics (time constant ``tau_s`` of device
time), so a job has to wait for equilibrium, as on the real rig; the temperature that the cell
sees is the bath's actual temperature at the moment of measurement.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from .base import EmulatedDevice, EmulatorError, parse_numbers
from .bench import ROOM_TEMPERATURE_K, Bench

__all__ = ["ThermostatEmulator", "ThermostatOptions"]


class ThermostatOptions(BaseModel):
    """Emulator-only physics of the bath."""

    model_config = ConfigDict(extra="forbid")

    initial_k: float = Field(ROOM_TEMPERATURE_K, gt=0, description="bath temperature at start-up (K)")
    tau_s: float = Field(60.0, gt=0, description="time constant of the approach to the set point (s)")
    noise_k: float = Field(0.005, ge=0, description="standard deviation of the sensor noise (K)")


class ThermostatEmulator(EmulatedDevice):
    """Stands in for a thermostat; registers its bath temperature with the bench."""

    model = "THERMOSTAT"

    def __init__(
        self,
        address: str,
        bench: Bench,
        *,
        min_k: float = 233.15,
        max_k: float = 353.15,
        initial_k: float = ROOM_TEMPERATURE_K,
        tau_s: float = 60.0,
        noise_k: float = 0.005,
        time_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(address, time_scale=time_scale, seed=seed)
        self.min_k, self.max_k = min_k, max_k
        self.tau_s, self.noise_k = tau_s, noise_k
        self._start_k = self._setpoint_k = initial_k
        self._start_time = self.now()
        bench.temperature = self.temperature

    def temperature(self) -> float:
        """The bath's true temperature now (K)."""
        elapsed = self.now() - self._start_time
        return self._setpoint_k + (self._start_k - self._setpoint_k) * math.exp(-elapsed / self.tau_s)

    def do_set(self, *args: str) -> str:
        """``SET <K>``: new set point; the bath starts moving towards it from where it is."""
        (setpoint,) = parse_numbers(args, ("setpoint_k",))
        if not self.min_k <= setpoint <= self.max_k:
            raise EmulatorError(f"setpoint {setpoint:g} K outside [{self.min_k:g}, {self.max_k:g}] K")
        self._start_k, self._start_time = self.temperature(), self.now()
        self._setpoint_k = setpoint
        return "OK"

    def do_get(self) -> str:
        """``GET``: the measured bath temperature."""
        return f"T {self.temperature() + self.rng.gauss(0.0, self.noise_k):.3f}"
