"""Driver of an x-y-z stage (``MOVE x y z`` -> ``OK x y z``, ``POS`` -> ``POS x y z``)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .base import NUMBER, DeviceError, LineDriver

__all__ = ["XYZStageDriver", "XYZStageSettings"]

_TRIPLE = rf"({NUMBER}) ({NUMBER}) ({NUMBER})"
_TOLERANCE_MM = 0.0011


class XYZStageSettings(BaseModel):
    """Travel (mm per axis) and speed of the stage; moves outside the travel are refused."""

    model_config = ConfigDict(extra="forbid")

    travel: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"x": (0.0, 100.0), "y": (0.0, 100.0), "z": (0.0, 10.0)}
    )
    speed_mm_s: float = Field(10.0, gt=0)

    @field_validator("travel")
    @classmethod
    def _three_axes(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if sorted(value) != ["x", "y", "z"]:
            raise ValueError(f"travel needs exactly the axes x, y, z, got {sorted(value)}")
        for axis, (low, high) in value.items():
            if low >= high:
                raise ValueError(f"travel of {axis}: low ({low}) must be below high ({high})")
        return value


class XYZStageDriver(LineDriver):
    """Talks to one x-y-z stage and keeps track of where it is."""

    kind = "xyz_stage"
    model = "XYZ-STAGE"
    Settings = XYZStageSettings
    settings: XYZStageSettings

    def open(self) -> None:
        super().open()
        self.position()

    def position(self) -> tuple[float, float, float]:
        """Where the stage is (mm)."""
        match = self.query("POS", rf"POS {_TRIPLE}")
        self._position = tuple(float(v) for v in match.groups())
        return self._position

    def move(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """Straight move to ``(x, y, z)`` mm; returns the position the stage reports."""
        command = f"MOVE {x:.3f} {y:.3f} {z:.3f}"
        for axis, value in zip("xyz", (x, y, z)):
            low, high = self.settings.travel[axis]
            if not low <= value <= high:
                raise DeviceError(self.name, self.command_line(command), f"{axis} = {value} outside travel [{low}, {high}] mm")
        duration = math.dist(self._position, (x, y, z)) / self.settings.speed_mm_s
        reached = tuple(float(v) for v in self.query(command, rf"OK {_TRIPLE}", duration_s=duration).groups())
        if math.dist(reached, (x, y, z)) > _TOLERANCE_MM:
            raise DeviceError(self.name, self.command_line(command), f"stage reports {reached}, not the target")
        self._position = reached
        return reached
