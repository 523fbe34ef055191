"""AiiDA calculation jobs: how one measurement is made, by the simulator or by an instrument."""

from .experiment import ExperimentCalcJob
from .simulation import SimulationCalcJob

__all__ = ["ExperimentCalcJob", "SimulationCalcJob"]
