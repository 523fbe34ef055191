"""A campaign written as a YAML file, validated here and turned into workchain inputs.

``bigmap-al campaign run SPEC.yaml`` reads it; everything a campaign needs is named in it, codes
by their AiiDA labels::

    temperatures: [298.15]          # K; the FZJ electrolyte space (r, c) at these temperatures
    strategy: gp-ucb                # a name of `bigmap-al benchmark --list`, or a full strategy
    objective: per_temperature      # over several temperatures: the best at each (default),
                                    # or `global`: the highest value over all
    budget: 8                       # measurements in total, initial data included
    batch_size: 2
    # initial_data: measured.csv    # start from these measurements (FZJ format; the rows at
    #                               # the campaign's temperatures, replicates averaged)
    methods:
      simulation: {code: bigmap-sim@localhost, model: flores2022}
      # experiment: {code: rig1-experiment@rig1}
      # instruments: {rig1: rig1-experiment@rig1, rig2: rig2-experiment@rig2}
      # replay: {data: ../shared/data/fzj_conductivity/HTE_dataset_PC_EMC_EC_LiPF6.csv}
"""

from __future__ import annotations

import pathlib
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from .learning import STRATEGIES, Strategy

__all__ = ["CampaignSpec", "load_spec"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeMethod(_Spec):
    code: str = Field(description="AiiDA code label, e.g. bigmap-sim@localhost")
    model: str | None = None


class ReplayMethod(_Spec):
    data: pathlib.Path = Field(description="A conductivity file in the FZJ format")


class Methods(_Spec):
    simulation: CodeMethod | None = None
    experiment: CodeMethod | None = None
    replay: ReplayMethod | None = None
    instruments: dict[str, str] = Field(default_factory=dict)
    policy: str = "round_robin"


class CampaignSpec(_Spec):
    """What ``ActiveLearningWorkChain`` needs, in the words of a YAML file."""

    temperatures: list[float] = Field(min_length=1)
    strategy: Strategy
    objective: Literal["per_temperature", "global"] | None = Field(
        None, description="Over several temperatures, the best at each (per_temperature, the "
                          "strategy's default) or the highest value over all (global)")
    budget: PositiveInt
    batch_size: PositiveInt = 1
    n_initial: PositiveInt = 1
    n_candidates: PositiveInt = 4096
    seed: int = 0
    stop_at: float | None = None
    initial_data: pathlib.Path | None = Field(
        None, description="Measurements to start from: a conductivity file in the FZJ format")
    methods: Methods

    @field_validator("strategy", mode="before")
    @classmethod
    def _named_strategy(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in STRATEGIES:
                raise ValueError(f"unknown strategy {value!r}; choose from {sorted(STRATEGIES)}")
            return STRATEGIES[value]
        return value

    @model_validator(mode="after")
    def _objective_into_strategy(self) -> CampaignSpec:
        """The objective travels in the strategy, which every suggestion (lanes too) reads."""
        if self.objective is not None and self.objective != self.strategy.objective:
            self.strategy = self.strategy.model_copy(update={"objective": self.objective})
        return self

    def inputs(self) -> dict:
        """The workchain's inputs; loads the codes and data, so it needs a loaded profile."""
        import numpy as np
        from aiida import orm

        from .datasets import load_fzj
        from .space import fzj_space
        from .workchains.records import dataset_from

        methods: dict[str, Any] = {"policy": orm.Str(self.methods.policy)}
        for name in ("simulation", "experiment"):
            method = getattr(self.methods, name)
            if method is not None:
                methods[name] = {"code": orm.load_code(method.code)}
                if method.model:
                    methods[name]["model"] = orm.Str(method.model)
        if self.methods.instruments:
            methods["instruments"] = {name: orm.load_code(label)
                                      for name, label in self.methods.instruments.items()}
        inputs = {
            "space": orm.Dict(fzj_space(temperatures=self.temperatures).to_dict()),
            "strategy": orm.Dict(self.strategy.model_dump(mode="json")),
            "budget": orm.Int(self.budget), "batch_size": orm.Int(self.batch_size),
            "n_initial": orm.Int(self.n_initial), "n_candidates": orm.Int(self.n_candidates),
            "seed": orm.Int(self.seed), "methods": methods,
        }
        if self.stop_at is not None:
            inputs["stop_at"] = orm.Float(self.stop_at)
        if self.initial_data is not None:
            start = dataset_from(load_fzj(self.initial_data), temperatures=self.temperatures)
            if not start["rows"]:
                raise ValueError(f"{self.initial_data} has no measurements at the campaign's "
                                 f"temperatures {self.temperatures} K")
            inputs["initial_data"] = orm.Dict(start)
        if self.methods.replay is not None:
            data = load_fzj(self.methods.replay.data)
            pools = [data.pool(T) for T in self.temperatures]
            table = np.vstack([np.column_stack([X_T, np.full(len(X_T), T)])
                               for (X_T, _, _), T in zip(pools, self.temperatures)])
            values = np.concatenate([y for _, y, _ in pools])
            methods["replay"] = {"table": orm.ArrayData({"X": table, "y": values})}
            candidates = table if len(self.temperatures) > 1 else table[:, :2]
            inputs["candidates"] = orm.ArrayData({"X": candidates})
        return inputs


def load_spec(path) -> CampaignSpec:
    """Read and validate a campaign file; errors name the file and the field."""
    path = pathlib.Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a campaign file is a mapping of fields, got {type(document).__name__}")
    spec = CampaignSpec.model_validate(document)
    # Data paths are relative to the campaign file, like a rig file's.
    replay = spec.methods.replay
    if replay is not None and not replay.data.is_absolute():
        replay.data = path.parent / replay.data
    if spec.initial_data is not None and not spec.initial_data.is_absolute():
        spec.initial_data = path.parent / spec.initial_data
    return spec
