"""Driver of a thermostat (``SET <K>`` -> ``OK``, ``GET`` -> ``T <K>``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .base import NUMBER, DeviceError, LineDriver

__all__ = ["ThermostatDriver", "ThermostatSettings"]


class ThermostatSettings(BaseModel):
    """The bath's working range; set points outside it are refused before they reach the device."""

    model_config = ConfigDict(extra="forbid")

    min_k: float = Field(233.15, gt=0)
    max_k: float = Field(353.15, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ThermostatSettings:
        if self.min_k >= self.max_k:
            raise ValueError(f"min_k ({self.min_k}) must be below max_k ({self.max_k})")
        return self


class ThermostatDriver(LineDriver):
    """Talks to one thermostat."""

    kind = "thermostat"
    model = "THERMOSTAT"
    Settings = ThermostatSettings
    settings: ThermostatSettings

    def set_temperature(self, kelvin: float) -> None:
        """Set the set point (K); the bath then moves towards it."""
        command = f"SET {kelvin:.3f}"
        if not self.settings.min_k <= kelvin <= self.settings.max_k:
            raise DeviceError(
                self.name, self.command_line(command), f"{kelvin} K outside [{self.settings.min_k}, {self.settings.max_k}] K"
            )
        self.query(command, "OK")

    def temperature(self) -> float:
        """The bath temperature (K) the device measures now."""
        return float(self.query("GET", rf"T ({NUMBER})").group(1))
