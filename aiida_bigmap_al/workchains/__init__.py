"""AiiDA workchains of the suite and the calcfunctions that make up their provenance."""

from .active_learning import ActiveLearningWorkChain
from .one_shot import OneShotWorkChain

__all__ = ["ActiveLearningWorkChain", "OneShotWorkChain"]
