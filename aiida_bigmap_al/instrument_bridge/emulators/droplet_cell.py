"""Emulated measuring head of the mock scanning droplet cell (the BIG-MAP demonstrator's rig).

Protocol (see :mod:`.base` for the framing and the ``FAULT`` command):

========================  =====================  =========================================
command                   reply                  notes
========================  =====================  =========================================
``<ADDR> ID``             ``ID SDC <ADDR>``
``<ADDR> MEASURE``        ``V <value>``          6 decimals; needs the droplet touched down
                                                 (stage z <= ``contact_z``); takes
                                                 ``measure_s``
========================  =====================  =========================================

Errors: ``ERR no contact with the substrate (z = ... mm)``.

The "property" of the substrate is, as in the demonstrator, a scaled Schwefel function of the
touch-down position: the substrate area ``[x0, x1] x [y0, y1]`` (mm) maps onto Schwefel's domain
``[-500, 500]^2``, the value is ``scale * f(u, v)`` (``f`` from 0 at its global minimum to about
1676) plus seeded Gaussian noise of ``noise`` standard deviation. A rugged, many-minima landscape
that is cheap to compute and known exactly, so a learner's progress can be judged.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from .base import EmulatedDevice, EmulatorError
from .bench import Bench

__all__ = ["DropletCellEmulator", "DropletCellOptions", "schwefel"]

_SCHWEFEL_CONSTANT = 418.9829


def schwefel(*x: float) -> float:
    """Schwefel's function ``418.9829 d - sum x_i sin(sqrt(|x_i|))``; minimum 0 at x_i = 420.9687."""
    return _SCHWEFEL_CONSTANT * len(x) - sum(xi * math.sin(math.sqrt(abs(xi))) for xi in x)


class DropletCellOptions(BaseModel):
    """Emulator-only options: the landscape the droplet cell measures."""

    model_config = ConfigDict(extra="forbid")

    substrate: tuple[float, float, float, float] = Field(
        (0.0, 100.0, 0.0, 100.0), description="x0, x1, y0, y1 (mm) of the area mapped onto [-500, 500]^2"
    )
    scale: float = Field(1.0 / 837.9658, gt=0, description="factor on the Schwefel value")
    noise: float = Field(0.0, ge=0, description="standard deviation of the added Gaussian noise")


class DropletCellEmulator(EmulatedDevice):
    """Stands in for the droplet cell's potentiostat; reads the stage position from the bench."""

    model = "SDC"

    def __init__(
        self,
        address: str,
        bench: Bench,
        *,
        substrate: tuple[float, float, float, float] = (0.0, 100.0, 0.0, 100.0),
        scale: float = 1.0 / 837.9658,
        noise: float = 0.0,
        measure_s: float = 5.0,
        contact_z: float = 0.0,
        time_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(address, time_scale=time_scale, seed=seed)
        x0, x1, y0, y1 = substrate
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"substrate must be (x0, x1, y0, y1) with x1 > x0 and y1 > y0, got {substrate}")
        self.bench, self.substrate = bench, substrate
        self.scale, self.noise = scale, noise
        self.measure_s, self.contact_z = measure_s, contact_z

    def value_at(self, x: float, y: float) -> float:
        """The noise-free value at stage position ``(x, y)`` (mm)."""
        x0, x1, y0, y1 = self.substrate
        u = -500.0 + 1000.0 * (x - x0) / (x1 - x0)
        v = -500.0 + 1000.0 * (y - y0) / (y1 - y0)
        return self.scale * schwefel(u, v)

    def do_measure(self) -> str:
        """``MEASURE``: the property of the substrate under the touched-down droplet."""
        with self.bench.lock:
            x, y, z = self.bench.stage_position
        if z > self.contact_z + 1e-9:
            raise EmulatorError(f"no contact with the substrate (z = {z:.3f} mm)")
        self.wait(self.measure_s)
        value = self.value_at(x, y) + self.rng.gauss(0.0, self.noise)
        return f"V {value:.6f}"
