"""Emulated x-y-z stage of the mock scanning droplet cell (the BIG-MAP demonstrator's rig).

Protocol (see :mod:`.base` for the framing and the ``FAULT`` command):

==============================  ==========================  =====================================
command                         reply                       notes
==============================  ==========================  =====================================
``<ADDR> ID``                   ``ID XYZ-STAGE <ADDR>``
``<ADDR> MOVE <x> <y> <z>``     ``OK <x> <y> <z>``          absolute move in mm (3 decimals);
                                                            takes ``distance / speed_mm_s``
``<ADDR> POS``                  ``POS <x> <y> <z>``         current position in mm
==============================  ==========================  =====================================

Errors: ``ERR <axis> = ... outside travel [lo, hi] mm``. ``z = 0`` is the substrate surface (the
droplet touches down there); the demonstrator found that these movements dominate its time.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from .base import EmulatedDevice, EmulatorError, parse_numbers
from .bench import Bench

__all__ = ["XYZStageEmulator", "XYZStageOptions"]


class XYZStageOptions(BaseModel):
    """Emulator-only options of the stage (none: travel and speed are device settings)."""

    model_config = ConfigDict(extra="forbid")


class XYZStageEmulator(EmulatedDevice):
    """Stands in for a motorised stage; publishes its position on the bench."""

    model = "XYZ-STAGE"

    def __init__(
        self,
        address: str,
        bench: Bench,
        *,
        travel: dict[str, tuple[float, float]] | None = None,
        speed_mm_s: float = 10.0,
        home: tuple[float, float, float] | None = None,
        time_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(address, time_scale=time_scale, seed=seed)
        self.bench = bench
        self.travel = travel or {"x": (0.0, 100.0), "y": (0.0, 100.0), "z": (0.0, 10.0)}
        self.speed_mm_s = speed_mm_s
        if home is None:  # parked at the x-y origin, fully lifted
            home = (self.travel["x"][0], self.travel["y"][0], self.travel["z"][1])
        with bench.lock:
            bench.stage_position = tuple(home)

    def do_move(self, *args: str) -> str:
        """``MOVE x y z``: straight move to an absolute position."""
        target = parse_numbers(args, ("x", "y", "z"))
        for axis, value in zip("xyz", target):
            low, high = self.travel[axis]
            if not low <= value <= high:
                raise EmulatorError(f"{axis} = {value:g} outside travel [{low:g}, {high:g}] mm")
        with self.bench.lock:
            start = self.bench.stage_position
        self.wait(math.dist(start, target) / self.speed_mm_s)
        with self.bench.lock:
            self.bench.stage_position = tuple(target)
        return "OK {:.3f} {:.3f} {:.3f}".format(*target)

    def do_pos(self) -> str:
        """``POS``: where the stage is."""
        with self.bench.lock:
            position = self.bench.stage_position
        return "POS {:.3f} {:.3f} {:.3f}".format(*position)
