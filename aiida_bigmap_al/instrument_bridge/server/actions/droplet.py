"""Actions of the mock scanning droplet cell (the BIG-MAP demonstrator): move, touch down, measure, lift.

The stage carries the droplet cell over a substrate; a measurement needs the droplet touched down
on the surface (the droplet cell's ``contact_z``), and every move between points happens lifted
(at the top of the z travel unless ``z`` says otherwise), so the droplet never drags.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..drivers import DropletCellDriver, XYZStageDriver
from .base import Action, ActionContext, Devices, Role

__all__ = ["Lift", "MeasureDroplet", "Move", "TouchDown"]


def _position(xyz: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip("xyz", xyz))


def _check_axis(stage: XYZStageDriver, axis: str, value: float | None) -> None:
    if value is None:
        return
    low, high = stage.settings.travel[axis]
    if not low <= value <= high:
        raise ValueError(f"{axis} = {value} mm outside the stage travel [{low}, {high}] mm")


class MoveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = Field(description="target x (mm)")
    y: float = Field(description="target y (mm)")
    z: float | None = Field(None, description="travel height (mm); default: top of the z travel")


class Move(Action):
    """Lift at the current x-y, then move to the new x-y at travel height."""

    name = "move"
    roles = {"stage": Role("xyz_stage")}
    Params = MoveParams
    outputs = ("x", "y", "z")

    def check(self, params: MoveParams, devices: Devices) -> None:
        stage: XYZStageDriver = devices["stage"]  # type: ignore[assignment]
        for axis in "xyz":
            _check_axis(stage, axis, getattr(params, axis))

    def run(self, params: MoveParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        stage: XYZStageDriver = devices["stage"]  # type: ignore[assignment]
        z = params.z if params.z is not None else stage.settings.travel["z"][1]
        x0, y0, _ = stage.position()
        stage.move(x0, y0, z)
        ctx.check()
        return _position(stage.move(params.x, params.y, z))


class TouchDown(Action):
    """Lower the stage until the droplet touches the substrate (the droplet cell's ``contact_z``)."""

    name = "touch_down"
    roles = {"stage": Role("xyz_stage"), "cell": Role("droplet_cell")}
    outputs = ("x", "y", "z")

    def check(self, params: Any, devices: Devices) -> None:
        stage: XYZStageDriver = devices["stage"]  # type: ignore[assignment]
        _check_axis(stage, "z", devices["cell"].settings.contact_z)  # type: ignore[union-attr]

    def run(self, params: Any, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        stage: XYZStageDriver = devices["stage"]  # type: ignore[assignment]
        cell: DropletCellDriver = devices["cell"]  # type: ignore[assignment]
        x, y, _ = stage.position()
        return _position(stage.move(x, y, cell.settings.contact_z))


class MeasureDroplet(Action):
    """One measurement through the touched-down droplet."""

    name = "measure_droplet"
    roles = {"cell": Role("droplet_cell")}
    outputs = ("value",)

    def run(self, params: Any, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        return {"value": devices["cell"].measure()}  # type: ignore[union-attr]


class LiftParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    z: float | None = Field(None, description="height (mm); default: top of the z travel")


class Lift(Action):
    """Lift the droplet off the substrate at the current x-y."""

    name = "lift"
    roles = {"stage": Role("xyz_stage")}
    Params = LiftParams
    outputs = ("x", "y", "z")

    def check(self, params: LiftParams, devices: Devices) -> None:
        _check_axis(devices["stage"], "z", params.z)  # type: ignore[arg-type]

    def run(self, params: LiftParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        stage: XYZStageDriver = devices["stage"]  # type: ignore[assignment]
        z = params.z if params.z is not None else stage.settings.travel["z"][1]
        x, y, _ = stage.position()
        return _position(stage.move(x, y, z))
