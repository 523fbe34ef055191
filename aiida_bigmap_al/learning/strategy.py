"""A strategy: which surrogate, which prior and which acquisition, as plain JSON-able data.

Campaigns, benchmarks and AiiDA workchains all describe how to learn with the same small
dictionary, so that a configuration stored in the provenance graph rebuilds the same model::

    {"surrogate": {"name": "gp", "params": {"nu": 2.5}},
     "acquisition": {"name": "ucb", "params": {"kappa": 1.0}},
     "prior": {"name": "landesfeind2019", "params": {"scale_sd": 0.2}}}   # prior optional
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .acquisition import ACQUISITIONS, make_acquisition
from .model import Model
from .priors import PRIORS
from .surrogates import SURROGATES

__all__ = ["Component", "Strategy", "STRATEGIES"]


class Component(BaseModel):
    """A named, parametrised building block (surrogate, acquisition or prior)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Strategy(BaseModel):
    """How a campaign chooses what to measure next."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    surrogate: Component
    acquisition: Component
    prior: Component | None = None

    @field_validator("surrogate")
    @classmethod
    def _known_surrogate(cls, value: Component) -> Component:
        return _known(value, SURROGATES, "surrogate")

    @field_validator("acquisition")
    @classmethod
    def _known_acquisition(cls, value: Component) -> Component:
        return _known(value, ACQUISITIONS, "acquisition")

    @field_validator("prior")
    @classmethod
    def _known_prior(cls, value: Component | None) -> Component | None:
        return value if value is None else _known(value, PRIORS, "prior")

    def build_model(self, bounds, seed, names, conditions=None) -> Model:
        """A fresh, unfitted :class:`Model` for a space with variables ``names``.

        :param conditions: fixed conditions of the campaign, e.g. ``{"temperature": 298.15}``;
            a prior reads the temperature from there when it is not a variable.
        """
        surrogate = SURROGATES[self.surrogate.name](random_state=seed, **self.surrogate.params)
        prior = None
        if self.prior is not None:
            prior = _conductivity_prior(self.prior.params, list(names), conditions or {})
        return Model(surrogate, bounds, prior)

    def acquisition_function(self):
        return make_acquisition(self.acquisition.name, **self.acquisition.params)


def _known(component: Component, registry: dict, kind: str) -> Component:
    if component.name not in registry:
        raise ValueError(f"unknown {kind} {component.name!r}; choose from {sorted(registry)}")
    return component


def _conductivity_prior(params, names, conditions):
    """The Landesfeind prior placed on the columns of this space (``c`` and ``T``)."""
    if "c" not in names:
        raise ValueError(f"the conductivity prior needs a molality variable 'c', got {names}")
    if "T" in names:
        return PRIORS["landesfeind2019"](names.index("c"), temperature_column=names.index("T"),
                                         **params)
    if "temperature" not in conditions:
        raise ValueError("the conductivity prior needs a temperature variable 'T' or condition")
    return PRIORS["landesfeind2019"](names.index("c"), temperature=conditions["temperature"],
                                     **params)


def _strategy(surrogate, acquisition, prior=None, **acquisition_params):
    return Strategy(surrogate=Component(name=surrogate), prior=prior,
                    acquisition=Component(name=acquisition, params=acquisition_params))


_PRIOR = Component(name="landesfeind2019")

#: The named strategies of ``bigmap-al benchmark`` (``random`` is handled by the campaign).
STRATEGIES = {
    "gp-exploit": _strategy("gp", "exploit"),
    "gp-ucb": _strategy("gp", "ucb", kappa=1.0),
    "gp-ei": _strategy("gp", "ei"),
    "gp-prior-exploit": _strategy("gp", "exploit", prior=_PRIOR),
    "rf-ucb": _strategy("rf", "ucb", kappa=1.0),
    "poly-ucb": _strategy("poly", "ucb", kappa=1.0),
}
