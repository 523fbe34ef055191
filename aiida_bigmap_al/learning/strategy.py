"""A strategy: which surrogate, which prior and which acquisition, as plain JSON-able data.

Campaigns, benchmarks and AiiDA workchains all describe how to learn with the same small
dictionary, so that a configuration stored in the provenance graph rebuilds the same model::

    {"surrogate": {"name": "gp", "params": {"nu": 2.5}},
     "acquisition": {"name": "ucb", "params": {"kappa": 1.0}},
     "prior": {"name": "landesfeind2019", "params": {"scale_sd": 0.2}},   # prior optional
     "objective": "per_temperature"}                                     # or "global"

The objective matters only when temperature is a model input: ``per_temperature`` (the default)
looks for the best formulation at each temperature, ``global`` for the highest value over all
(see :mod:`.objective`).

Settings that concern one variable of the search space go under ``by_variable`` in the Gaussian
process's params and are placed on that variable's column when the model is built, so that one
strategy serves a space with temperature as a condition and one with temperature as an input::

    {"name": "gp", "params": {"length_scale_prior": [0.3, 1.0],
                              "by_variable": {"T": {"length_scale_prior": [1.0, 0.5],
                                                    "offset": true}}}}
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .acquisition import ACQUISITIONS, make_acquisition
from .model import Model
from .objective import GLOBAL, PER_TEMPERATURE, incumbents
from .priors import law_names, placed_prior
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
    objective: Literal["per_temperature", "global"] = PER_TEMPERATURE

    @field_validator("surrogate", "acquisition", "prior")
    @classmethod
    def _known_component(cls, value: Component | None, info: ValidationInfo) -> Component | None:
        registry = {"surrogate": SURROGATES, "acquisition": ACQUISITIONS,
                    "prior": dict.fromkeys(law_names())}[info.field_name]
        return value if value is None else _known(value, registry, info.field_name)

    @field_validator("surrogate")
    @classmethod
    def _known_variable_settings(cls, value: Component) -> Component:
        by_variable = value.params.get("by_variable")
        if by_variable is None:
            return value
        if value.name != "gp":
            raise ValueError(f"by_variable settings are for the 'gp' surrogate, not {value.name!r}")
        if not isinstance(by_variable, dict) or not all(isinstance(v, dict) for v in by_variable.values()):
            raise ValueError("by_variable must map variable names to dicts of settings")
        for name, settings in by_variable.items():
            unknown = set(settings) - _VARIABLE_SETTINGS
            if unknown:
                raise ValueError(f"unknown by_variable setting(s) {sorted(unknown)} for {name!r}; "
                                 f"choose from {sorted(_VARIABLE_SETTINGS)}")
        return value

    def build_model(self, bounds, seed, names, conditions=None) -> Model:
        """A fresh, unfitted :class:`Model` for a space with variables ``names``.

        :param conditions: fixed conditions of the campaign, e.g. ``{"temperature": 298.15}``;
            a prior reads the temperature from there when it is not a variable.
        """
        params = _place_variable_settings(self.surrogate.params, list(names))
        surrogate = SURROGATES[self.surrogate.name](random_state=seed, **params)
        prior = None
        if self.prior is not None:
            prior = placed_prior(self.prior.name, self.prior.params, list(names), conditions or {})
        return Model(surrogate, bounds, prior)

    def acquisition_function(self):
        return make_acquisition(self.acquisition.name, **self.acquisition.params)

    def incumbent(self, names, candidates, X, y):
        """Per candidate, the value to improve on; None for the best of ``y`` (see :mod:`.objective`).

        Per temperature only when the objective says so and ``T`` is among the inputs ``names``.
        """
        if self.objective == GLOBAL or "T" not in names:
            return None
        column = list(names).index("T")
        return incumbents(np.asarray(candidates)[:, column], np.asarray(X)[:, column], y)


#: Per-variable Gaussian-process settings: a length-scale prior, and an additive term of its own.
_VARIABLE_SETTINGS = {"length_scale_prior", "offset"}


def _place_variable_settings(params, names):
    """Turn ``by_variable`` into per-column ``length_scale_prior`` and ``offset_features``.

    Variables that the space does not have are skipped: a temperature setting applies when
    temperature is an input and is moot when it is a fixed condition.
    """
    params = dict(params)
    by_variable = params.pop("by_variable", None)
    if not by_variable:
        return params
    columns = {name: names.index(name) for name in by_variable if name in names}
    priors = [params.get("length_scale_prior")] * len(names)
    offset = list(params.get("offset_features", ()))
    for name, column in columns.items():
        settings = by_variable[name]
        if "length_scale_prior" in settings:
            priors[column] = settings["length_scale_prior"]
        if settings.get("offset"):
            offset.append(column)
    if any(p is not None for p in priors):
        params["length_scale_prior"] = priors
    params["offset_features"] = tuple(sorted(set(offset)))
    return params


def _known(component: Component, registry: dict, kind: str) -> Component:
    if component.name not in registry:
        raise ValueError(f"unknown {kind} {component.name!r}; choose from {sorted(registry)}")
    return component


def _strategy(surrogate, acquisition, prior=None, **acquisition_params):
    return Strategy(surrogate=Component(name=surrogate), prior=prior,
                    acquisition=Component(name=acquisition, params=acquisition_params))


_PRIOR = Component(name="landesfeind2019")

#: The Gaussian process of the project's best strategies: Matérn-5/2 with a weak log-normal
#: prior on every length scale (median a third of the range, one sd a factor e^2 either way),
#: which keeps the first fits on a few points from going spiky or flat, within wide bounds; and,
#: when temperature is an input, a tighter, longer length-scale prior for it (the whole range:
#: which formulations are good changes slowly with temperature) and an additive temperature term
#: (each temperature's own level, which a law rarely gets exactly). On the FZJ benchmark, sd 0.5
#: / 1 / 2 / 3 / no prior gave 13.7 / 11.9 / 11.0 / 11.1 / 12.0 measurements to the best
#: (seeds 100-179, not the reported 0-29).
GP_MAP = Component(name="gp", params={
    "length_scale_prior": [0.3, 2.0], "length_scale_bounds": [0.01, 100.0],
    "by_variable": {"T": {"length_scale_prior": [1.0, 0.5], "offset": True}},
})

#: The Landesfeind law with its amplitude fitted (concentration scale fixed, see ``priors``).
LANDESFEIND = Component(name="landesfeind2019", params={"scale_sd": 0.0})


def _map_strategy(acquisition, prior=None, **acquisition_params):
    return Strategy(surrogate=GP_MAP, prior=prior,
                    acquisition=Component(name=acquisition, params=acquisition_params))


#: The named strategies of ``bigmap-al benchmark`` (``random`` is handled by the campaign).
STRATEGIES = {
    "gp-exploit": _strategy("gp", "exploit"),
    "gp-ucb": _strategy("gp", "ucb", kappa=1.0),
    "gp-ei": _strategy("gp", "ei"),
    "gp-prior-exploit": _strategy("gp", "exploit", prior=_PRIOR),
    "rf-ucb": _strategy("rf", "ucb", kappa=1.0),
    "poly-ucb": _strategy("poly", "ucb", kappa=1.0),
    "gp-map-exploit": _map_strategy("exploit"),
    "gp-landesfeind-exploit": _map_strategy("exploit", prior=LANDESFEIND),
    "gp-landesfeind-ucb": _map_strategy("ucb", prior=LANDESFEIND, kappa=0.3),
    # Over several temperatures: expected improvement over the best at the candidate's own.
    "gp-landesfeind-ei": _map_strategy("ei", prior=LANDESFEIND),
}
