"""Emulated two-electrode conductivity cell of the formulation rig.

Protocol (see :mod:`.base` for the framing and the ``FAULT`` command):

========================  =============================  ========================================
command                   reply                          notes
========================  =============================  ========================================
``<ADDR> ID``             ``ID COND-CELL <ADDR>``
``<ADDR> FILL``           ``OK <mL>``                    draws the mixing vial's contents into
                                                         the cell; takes ``fill_s``
``<ADDR> MEASURE``        ``K <mS/cm> T <K>``            one conductivity reading (4 decimals)
                                                         and the cell temperature (2 decimals);
                                                         takes ``measure_s``
``<ADDR> RINSE``          ``OK``                         empties and rinses cell and vial;
                                                         takes ``rinse_s``
========================  =============================  ========================================

Errors: ``ERR vial is empty``, ``ERR cell is not clean``, ``ERR cell holds ... mL, needs at
least ...``, ``ERR sample contains no EC or PC``, ``ERR no stable reading ...`` (where the model
has no value, e.g. a sample that would freeze).

The reading is that of the liquid actually in the cell (its PC/(EC+PC) mass ratio ``r`` and
LiPF6 molality ``c`` from what the pumps dispensed) at the bath's actual temperature, drawn from
a :class:`~.conductivity_model.ConductivityModel` with replicate-level noise.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from .base import EmulatedDevice, EmulatorError
from .bench import Bench, Mixture
from .conductivity_model import ConductivityModel

__all__ = ["ConductivityCellEmulator", "ConductivityCellOptions", "composition"]

#: g/mol of LiPF6 (the FZJ data README's value).
LIPF6_G_MOL = 151.905


class ConductivityCellOptions(BaseModel):
    """Emulator-only options: where the model of the measured values comes from."""

    model_config = ConfigDict(extra="forbid")

    data: str | None = Field(
        None,
        description="FZJ conductivity file to fit the model to; when absent, the project's simulator",
    )


def composition(mixture: Mixture) -> tuple[float, float]:
    """``(r, c)``: PC/(EC+PC) mass ratio and LiPF6 molality (mol per kg of EC+PC+EMC)."""
    grams = mixture.grams
    cyclic = grams.get("EC", 0.0) + grams.get("PC", 0.0)
    solvent = cyclic + grams.get("EMC", 0.0)
    if cyclic <= 0.0:
        raise EmulatorError("sample contains no EC or PC")
    return grams.get("PC", 0.0) / cyclic, grams.get("LiPF6", 0.0) / LIPF6_G_MOL / (solvent / 1000.0)


class ConductivityCellEmulator(EmulatedDevice):
    """Stands in for a conductivity cell fed from the bench's mixing vial."""

    model = "COND-CELL"

    def __init__(
        self,
        address: str,
        bench: Bench,
        conductivity: ConductivityModel,
        *,
        fill_s: float = 20.0,
        measure_s: float = 30.0,
        rinse_s: float = 60.0,
        min_volume_ml: float = 0.5,
        time_scale: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(address, time_scale=time_scale, seed=seed)
        self.bench = bench
        self.conductivity = conductivity
        self.fill_s, self.measure_s, self.rinse_s = fill_s, measure_s, rinse_s
        self.min_volume_ml = min_volume_ml

    def do_fill(self) -> str:
        """``FILL``: move the vial's contents into the (clean) cell."""
        with self.bench.lock:
            if self.bench.vial.volume_ml <= 0.0:
                raise EmulatorError("vial is empty")
            if self.bench.cell.volume_ml > 0.0:
                raise EmulatorError("cell is not clean")
        self.wait(self.fill_s)
        with self.bench.lock:
            contents = self.bench.vial.take()
            self.bench.cell = contents
        return f"OK {contents.volume_ml:.3f}"

    def do_measure(self) -> str:
        """``MEASURE``: one conductivity reading of the cell's contents."""
        with self.bench.lock:
            volume = self.bench.cell.volume_ml
            if volume < self.min_volume_ml:
                raise EmulatorError(f"cell holds {volume:.3f} mL, needs at least {self.min_volume_ml:g} mL")
            r, c = composition(self.bench.cell)
        self.wait(self.measure_s)
        temperature = self.bench.temperature()
        value = self.conductivity.sample(r, c, temperature, self.rng)
        if math.isnan(value):
            raise EmulatorError(f"no stable reading (r={r:.3f}, c={c:.3f} mol/kg at {temperature:.2f} K)")
        return f"K {value:.4f} T {temperature:.2f}"

    def do_rinse(self) -> str:
        """``RINSE``: empty and rinse the cell and the mixing vial."""
        self.wait(self.rinse_s)
        with self.bench.lock:
            self.bench.cell.clear()
            self.bench.vial.clear()
        return "OK"
