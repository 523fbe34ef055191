"""Driver of a conductivity cell (``FILL`` -> ``OK <mL>``, ``MEASURE`` -> ``K <mS/cm> T <K>``, ``RINSE``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .base import NUMBER, LineDriver

__all__ = ["ConductivityCellDriver", "ConductivityCellSettings"]


class ConductivityCellSettings(BaseModel):
    """How long the cell's operations take (s), used to size the reply timeouts."""

    model_config = ConfigDict(extra="forbid")

    fill_s: float = Field(20.0, ge=0)
    measure_s: float = Field(30.0, ge=0)
    rinse_s: float = Field(60.0, ge=0)
    min_volume_ml: float = Field(0.5, gt=0, description="least sample volume for a reading (mL)")


class ConductivityCellDriver(LineDriver):
    """Talks to one conductivity cell."""

    kind = "conductivity_cell"
    model = "COND-CELL"
    Settings = ConductivityCellSettings
    settings: ConductivityCellSettings

    def fill(self) -> float:
        """Draw the mixing vial's contents into the cell; returns the volume (mL)."""
        return float(self.query("FILL", rf"OK ({NUMBER})", duration_s=self.settings.fill_s).group(1))

    def measure(self) -> tuple[float, float]:
        """One reading: ``(conductivity in mS/cm, cell temperature in K)``."""
        match = self.query("MEASURE", rf"K ({NUMBER}) T ({NUMBER})", duration_s=self.settings.measure_s)
        return float(match.group(1)), float(match.group(2))

    def rinse(self) -> None:
        """Empty and rinse cell and vial."""
        self.query("RINSE", "OK", duration_s=self.settings.rinse_s)
