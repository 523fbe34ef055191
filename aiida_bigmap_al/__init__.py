"""AiiDA plugin suite for autonomous, active-learning-driven discovery of battery materials."""

__version__ = "0.1.0"
