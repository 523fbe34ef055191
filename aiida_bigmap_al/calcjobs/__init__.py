"""AiiDA calculation jobs: how one measurement is made (a simulation here; experiments alongside)."""

from .simulation import SimulationCalcJob

__all__ = ["SimulationCalcJob"]
