"""The emulated physical world that the devices of one rig share.

On a real rig the devices interact only through matter: the pumps fill a vial, the cell measures
whatever was filled into it at the temperature the thermostat actually reached, the droplet cell
measures wherever the stage put it down. The emulators do the same through a :class:`Bench`, so
that a measured value depends on what the other devices really did (a pump that dispensed the
wrong volume changes the conductivity), not on what the job asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Bench", "Mixture"]

#: Temperature of the lab (K) where no thermostat is attached.
ROOM_TEMPERATURE_K = 298.15


@dataclass
class Mixture:
    """Liquid in a container: grams of each component and the total volume in mL."""

    grams: dict[str, float] = field(default_factory=dict)
    volume_ml: float = 0.0

    def add(self, volume_ml: float, density_g_ml: float, mass_fractions: dict[str, float]) -> None:
        """Add ``volume_ml`` of a stock solution of the given density and composition."""
        mass = volume_ml * density_g_ml
        for component, fraction in mass_fractions.items():
            self.grams[component] = self.grams.get(component, 0.0) + mass * fraction
        self.volume_ml += volume_ml

    def take(self) -> Mixture:
        """Empty this container and return its former contents."""
        contents = Mixture(dict(self.grams), self.volume_ml)
        self.grams.clear()
        self.volume_ml = 0.0
        return contents

    def clear(self) -> None:
        self.take()


@dataclass
class Bench:
    """Shared state of one rig: mixing vial, measuring cell, bath temperature, stage position."""

    vial: Mixture = field(default_factory=Mixture)
    cell: Mixture = field(default_factory=Mixture)
    temperature: Callable[[], float] = lambda: ROOM_TEMPERATURE_K
    stage_position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lock: threading.RLock = field(default_factory=threading.RLock)
