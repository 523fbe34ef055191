"""Actions of the formulation-and-conductivity rig.

The electrolyte is LiPF6 in EC/PC/EMC, described as in the FZJ data by ``r`` (PC/(EC+PC) mass
ratio) and ``c`` (LiPF6 molality, mol per kg of EC+PC+EMC) at a fixed cyclic fraction
(EC+PC)/(EC+PC+EMC) (0.3 for the FZJ 3:7 blends). The pumps hold stock solutions whose components
are named ``EC``, ``PC``, ``EMC`` and ``LiPF6`` in their ``stock.mass_fractions``.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import nnls

from ..drivers import ConductivityCellDriver, SyringePumpDriver, ThermostatDriver
from .base import Action, ActionContext, ActionError, Devices, Role

__all__ = ["Clean", "EquilibrateTemperature", "MeasureConductivity", "MoveToCell", "PrepareFormulation", "mixing_volumes"]

#: kg/mol of LiPF6.
LIPF6_KG_MOL = 0.151905
COMPONENTS = ("EC", "PC", "EMC", "LiPF6")


class FormulationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: float = Field(ge=0.0, le=1.0, description="PC/(EC+PC) mass ratio")
    c: float = Field(ge=0.0, description="LiPF6 molality (mol/kg of solvent)")
    volume_ml: float = Field(2.0, gt=0.0, description="total volume to prepare (mL)")
    cyclic_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="(EC+PC) mass fraction of the solvent")


def _target_grams(r: float, c: float, cyclic_fraction: float) -> np.ndarray:
    """Grams of EC, PC, EMC, LiPF6 per gram of solvent."""
    return np.array([cyclic_fraction * (1 - r), cyclic_fraction * r, 1 - cyclic_fraction, c * LIPF6_KG_MOL])


def _stock_matrix(pumps: list[SyringePumpDriver]) -> np.ndarray:
    """Mass fraction of each component (rows) in each pump's stock (columns)."""
    return np.array([[pump.settings.stock.mass_fractions.get(name, 0.0) for pump in pumps] for name in COMPONENTS])


def mixing_volumes(pumps: list[SyringePumpDriver], params: FormulationParams) -> list[float]:
    """Volume (mL) of each pump's stock that makes the formulation; ``ValueError`` if impossible.

    Non-negative least squares on the component balance; an exact solution must exist (residual
    below 1e-6 of the target), otherwise these stocks cannot make this formulation.
    """
    extra = {name for pump in pumps for name in pump.settings.stock.mass_fractions} - set(COMPONENTS)
    if extra:
        raise ValueError(f"stocks contain components other than {COMPONENTS}: {sorted(extra)}")
    target = _target_grams(params.r, params.c, params.cyclic_fraction)
    grams, residual = nnls(_stock_matrix(pumps), target)
    if residual > 1e-6 * np.linalg.norm(target):
        raise ValueError(
            f"r={params.r}, c={params.c} mol/kg cannot be mixed from the stocks of "
            f"{[pump.name for pump in pumps]} (component balance misses by {residual:.3g} g/g)"
        )
    volumes = grams / np.array([pump.settings.stock.density_g_ml for pump in pumps])
    volumes *= params.volume_ml / volumes.sum()
    for pump, volume in zip(pumps, volumes):
        if volume > pump.settings.max_volume_ml:
            raise ValueError(f"needs {volume:.3f} mL from {pump.name}, more than its {pump.settings.max_volume_ml} mL")
    return [float(v) for v in volumes]


def _achieved(pumps: list[SyringePumpDriver], volumes: list[float]) -> dict[str, float]:
    """``r``, ``c`` and cyclic fraction of what was actually dispensed."""
    masses = np.array([v * pump.settings.stock.density_g_ml for pump, v in zip(pumps, volumes)])
    ec, pc, emc, salt = _stock_matrix(pumps) @ masses
    solvent = ec + pc + emc
    return {
        "r": float(pc / (ec + pc)) if ec + pc > 0 else math.nan,
        "c": float(salt / solvent / LIPF6_KG_MOL) if solvent > 0 else math.nan,
        "cyclic_fraction": float((ec + pc) / solvent) if solvent > 0 else math.nan,
    }


class PrepareFormulation(Action):
    """Dose the stock solutions into the mixing vial so that it holds the (r, c) electrolyte."""

    name = "prepare_formulation"
    roles = {"pumps": Role("syringe_pump", many=True)}
    Params = FormulationParams
    outputs = ("r", "c", "cyclic_fraction", "r_target", "c_target", "volume_ml", "volumes_ml")

    def check(self, params: FormulationParams, devices: Devices) -> None:
        mixing_volumes(devices["pumps"], params)  # type: ignore[arg-type]

    def run(self, params: FormulationParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        pumps: list[SyringePumpDriver] = devices["pumps"]  # type: ignore[assignment]
        planned = mixing_volumes(pumps, params)
        dispensed = []
        for pump, volume in zip(pumps, planned):
            ctx.check()
            dose = round(volume, 3)  # the pumps' resolution
            dispensed.append(pump.dispense(dose) if dose > 0 else 0.0)
        achieved = _achieved(pumps, dispensed)
        return {
            **achieved,
            "r_target": params.r,
            "c_target": params.c,
            "volume_ml": math.fsum(dispensed),
            "volumes_ml": {pump.name: v for pump, v in zip(pumps, dispensed)},
        }


class MoveToCell(Action):
    """Transfer the prepared sample from the mixing vial into the conductivity cell."""

    name = "move_to_cell"
    roles = {"cell": Role("conductivity_cell")}
    outputs = ("volume_ml",)

    def run(self, params: Any, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        cell: ConductivityCellDriver = devices["cell"]  # type: ignore[assignment]
        return {"volume_ml": cell.fill()}


class EquilibrateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(gt=0, description="set point (K)")
    tolerance_k: float = Field(0.1, gt=0, description="largest accepted |T - set point| (K)")
    stable_s: float = Field(30.0, ge=0, description="how long T must stay within tolerance (device s)")
    poll_s: float = Field(5.0, gt=0, description="time between readings (device s)")
    timeout_s: float = Field(1800.0, gt=0, description="give up after this long (device s)")


class EquilibrateTemperature(Action):
    """Set the thermostat and wait until the bath has stayed at the set point for ``stable_s``.

    Times are device seconds, scaled by the thermostat's ``time_scale`` like the device itself.
    """

    name = "equilibrate_temperature"
    roles = {"thermostat": Role("thermostat")}
    Params = EquilibrateParams
    outputs = ("temperature", "setpoint", "elapsed_s", "readings")

    def check(self, params: EquilibrateParams, devices: Devices) -> None:
        settings = devices["thermostat"].settings  # type: ignore[union-attr]
        if not settings.min_k <= params.temperature <= settings.max_k:
            raise ValueError(f"temperature {params.temperature} K outside the thermostat's [{settings.min_k}, {settings.max_k}] K")

    def run(self, params: EquilibrateParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        thermostat: ThermostatDriver = devices["thermostat"]  # type: ignore[assignment]
        scale = thermostat.time_scale
        thermostat.set_temperature(params.temperature)
        start = time.monotonic()
        stable_since = None
        readings = 0
        while True:
            reading = thermostat.temperature()
            readings += 1
            now = time.monotonic()
            if abs(reading - params.temperature) <= params.tolerance_k:
                stable_since = now if stable_since is None else stable_since
                if now - stable_since >= params.stable_s * scale:
                    break
            else:
                stable_since = None
            if now - start > params.timeout_s * scale:
                raise ActionError(
                    f"bath not within {params.tolerance_k} K of {params.temperature} K after "
                    f"{params.timeout_s} s (last reading {reading} K)"
                )
            ctx.sleep(params.poll_s * scale)
        return {
            "temperature": reading,
            "setpoint": params.temperature,
            "elapsed_s": (time.monotonic() - start) / scale,
            "readings": readings,
        }


class MeasureParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replicates: int = Field(3, ge=1, le=50, description="number of readings")


class MeasureConductivity(Action):
    """Take ``replicates`` conductivity readings of the sample in the cell."""

    name = "measure_conductivity"
    roles = {"cell": Role("conductivity_cell")}
    Params = MeasureParams
    outputs = ("values", "temperatures", "mean", "std", "temperature", "unit")

    def run(self, params: MeasureParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        cell: ConductivityCellDriver = devices["cell"]  # type: ignore[assignment]
        values, temperatures = [], []
        for _ in range(params.replicates):
            ctx.check()
            value, temperature = cell.measure()
            values.append(value)
            temperatures.append(temperature)
        return {
            "values": values,
            "temperatures": temperatures,
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "temperature": statistics.fmean(temperatures),
            "unit": "mS/cm",
        }


class Clean(Action):
    """Empty and rinse the cell and the mixing vial, ready for the next sample."""

    name = "clean"
    roles = {"cell": Role("conductivity_cell")}

    def run(self, params: Any, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        devices["cell"].rinse()  # type: ignore[union-attr]
        return {}
