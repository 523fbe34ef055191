"""Driver of the scanning droplet cell's measuring head (``MEASURE`` -> ``V <value>``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .base import NUMBER, LineDriver

__all__ = ["DropletCellDriver", "DropletCellSettings"]


class DropletCellSettings(BaseModel):
    """Measurement time and the stage height at which the droplet touches the substrate."""

    model_config = ConfigDict(extra="forbid")

    measure_s: float = Field(5.0, ge=0)
    contact_z: float = Field(0.0, description="stage z (mm) at which the droplet touches down")


class DropletCellDriver(LineDriver):
    """Talks to one droplet cell."""

    kind = "droplet_cell"
    model = "SDC"
    Settings = DropletCellSettings
    settings: DropletCellSettings

    def measure(self) -> float:
        """One measurement of the substrate under the touched-down droplet."""
        return float(self.query("MEASURE", rf"V ({NUMBER})", duration_s=self.settings.measure_s).group(1))
