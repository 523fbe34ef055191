"""The active-learning core: surrogates, acquisition functions, batch proposals, campaigns.

Pure numpy/scikit-learn: nothing here imports AiiDA, so it runs in a notebook without a profile.
"""

from .acquisition import ACQUISITIONS, make_acquisition
from .batch import Proposal, propose
from .campaign import RANDOM, initial_picks, pool_campaign
from .model import Model
from .strategy import STRATEGIES, Component, Strategy
from .surrogates import SURROGATES, GaussianProcess, PolynomialEnsemble, RandomForest

__all__ = [
    "ACQUISITIONS", "Component", "GaussianProcess", "Model", "PolynomialEnsemble", "Proposal",
    "RANDOM", "RandomForest", "initial_picks", "STRATEGIES", "SURROGATES", "Strategy", "make_acquisition",
    "pool_campaign", "propose",
]
