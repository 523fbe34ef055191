"""A campaign written as a YAML file, validated here and turned into workchain inputs.

``bigmap-al campaign run SPEC.yaml`` reads it; everything a campaign needs is named in it, codes
by their AiiDA labels::

    temperatures: [298.15]          # K; the FZJ electrolyte space (r, c) at these temperatures
    strategy: gp-ucb                # a name of `bigmap-al benchmark --list`, or a full strategy
    objective: per_temperature      # over several temperatures: the best at each (default),
                                    # or `global`: the highest value over all
    budget: 8                       # measurements in total, initial data included (1..1000)
    batch_size: 2                   # measured in parallel per iteration (1..64)
    # n_candidates: 4096            # Sobol candidates per temperature (1..16384)
    # initial_data: measured.csv    # start from these measurements (FZJ format; the rows at
    #                               # the campaign's temperatures, replicates averaged)
    methods:
      simulation: {code: bigmap-sim@localhost, model: flores2022}   # or landesfeind2019
      # experiment: {code: rig1-experiment@rig1}
      # instruments: {rig1: rig1-experiment@rig1, rig2: rig2-experiment@rig2}
      # replay: {data: ../shared/data/fzj_conductivity/HTE_dataset_PC_EMC_EC_LiPF6.csv}

What can be checked without a profile is checked here (temperatures above 0 K, the names, the
sizes against :mod:`.campaign_limits`); the workchain checks the rest when the campaign is
launched (each code's plugin, the temperatures inside the range of the code that measures).
"""

from __future__ import annotations

import pathlib
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .campaign_limits import SIZE_LIMITS
from .learning import STRATEGIES, Strategy
from .simulator import MODELS

__all__ = ["CampaignSpec", "load_spec"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _size(name: str, default: int | None = None) -> Any:
    """A size field within its limits (:data:`.campaign_limits.SIZE_LIMITS`)."""
    low, high = SIZE_LIMITS[name]
    return Field(... if default is None else default, ge=low, le=high)


class CodeMethod(_Spec):
    code: str = Field(description="AiiDA code label, e.g. bigmap-sim@localhost")
    model: Literal[tuple(sorted(MODELS))] | None = Field(  # type: ignore[valid-type]
        None, description="The simulator's conductivity model")


class ReplayMethod(_Spec):
    data: pathlib.Path = Field(description="A conductivity file in the FZJ format")


class Methods(_Spec):
    simulation: CodeMethod | None = None
    experiment: CodeMethod | None = None
    replay: ReplayMethod | None = None
    instruments: dict[str, str] = Field(default_factory=dict)
    policy: Literal["round_robin", "first"] = "round_robin"


class CampaignSpec(_Spec):
    """What ``ActiveLearningWorkChain`` needs, in the words of a YAML file."""

    temperatures: list[Annotated[float, Field(gt=0)]] = Field(min_length=1, description="K, above 0")
    strategy: Strategy
    objective: Literal["per_temperature", "global"] | None = Field(
        None, description="Over several temperatures, the best at each (per_temperature, the "
                          "strategy's default) or the highest value over all (global)")
    budget: int = _size("budget")
    batch_size: int = _size("batch_size", 1)
    n_initial: int = _size("n_initial", 1)
    n_candidates: int = _size("n_candidates", 4096)
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
    """Read and validate a campaign file; one-line errors name the file (once) and the field."""
    path = pathlib.Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a text (YAML) file: {error.reason} at byte {error.start}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}{_yaml_where(error)}: not valid YAML: {_yaml_problem(error)}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a campaign file is a mapping of fields, got {type(document).__name__}")
    try:
        spec = CampaignSpec.model_validate(document)
    except ValidationError as error:
        raise ValueError(f"{path}: {_one_line(error)}") from None
    # Data paths are relative to the campaign file, like a rig file's.
    replay = spec.methods.replay
    if replay is not None and not replay.data.is_absolute():
        replay.data = path.parent / replay.data
    if spec.initial_data is not None and not spec.initial_data.is_absolute():
        spec.initial_data = path.parent / spec.initial_data
    return spec


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    return " ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part) \
        or str(error).splitlines()[0]


def _one_line(error: ValidationError) -> str:
    """Pydantic's errors as ``field: problem; ...`` (its own text spans several lines with URLs)."""
    return "; ".join(f"{'.'.join(map(str, item['loc'])) or '(file)'}: {item['msg']}"
                     for item in error.errors(include_url=False))
