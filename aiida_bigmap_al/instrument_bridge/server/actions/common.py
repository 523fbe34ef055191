"""Actions that any rig can use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import Action, ActionContext, Devices

__all__ = ["Wait"]


class WaitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, description="wall-clock seconds to wait (not scaled)")


class Wait(Action):
    """Wait a fixed time (settling, drying); interruptible by a cancel."""

    name = "wait"
    Params = WaitParams
    outputs = ("seconds",)

    def run(self, params: WaitParams, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        ctx.sleep(params.seconds)
        return {"seconds": params.seconds}
