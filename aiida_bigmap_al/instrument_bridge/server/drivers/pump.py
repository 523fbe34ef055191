"""Driver of a syringe pump that doses one stock solution (``DISPENSE <mL>`` -> ``OK <mL>``)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .base import NUMBER, DeviceError, LineDriver

__all__ = ["Stock", "SyringePumpDriver", "SyringePumpSettings"]

#: The pump doses in steps of 1 uL; a reply further than this from the request is a wrong dose.
_TOLERANCE_ML = 0.0011


class Stock(BaseModel):
    """What is in the pump's syringe: density and mass fractions of its components."""

    model_config = ConfigDict(extra="forbid")

    density_g_ml: float = Field(gt=0)
    mass_fractions: dict[str, float] = Field(min_length=1)

    @field_validator("mass_fractions")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        """Non-negative fractions summing to 1: a stock is fully described or not at all."""
        if any(fraction < 0 for fraction in value.values()):
            raise ValueError(f"mass fractions must be >= 0, got {value}")
        if abs(math.fsum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"mass fractions must sum to 1, got {math.fsum(value.values()):g}")
        return value


class SyringePumpSettings(BaseModel):
    """Facts about a pump that both its driver and its emulator need."""

    model_config = ConfigDict(extra="forbid")

    stock: Stock
    rate_ml_min: float = Field(5.0, gt=0, description="dispensing rate (mL/min)")
    max_volume_ml: float = Field(10.0, gt=0, description="largest volume per DISPENSE command (mL)")


class SyringePumpDriver(LineDriver):
    """Talks to one syringe pump."""

    kind = "syringe_pump"
    model = "SYRINGE-PUMP"
    Settings = SyringePumpSettings
    settings: SyringePumpSettings

    def dispense(self, volume_ml: float) -> float:
        """Dispense ``volume_ml``; returns the volume the pump reports (checked against the request)."""
        command = f"DISPENSE {volume_ml:.3f}"
        duration = volume_ml / self.settings.rate_ml_min * 60.0
        reported = float(self.query(command, rf"OK ({NUMBER})", duration_s=duration).group(1))
        if abs(reported - volume_ml) > _TOLERANCE_ML:
            raise DeviceError(self.name, self.command_line(command), f"pump reports {reported} mL dispensed, {volume_ml:.3f} mL requested")
        return reported
