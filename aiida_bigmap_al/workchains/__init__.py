"""AiiDA workchains of the suite and the calcfunctions that make up their provenance."""

from .active_learning import ActiveLearningWorkChain

__all__ = ["ActiveLearningWorkChain"]
