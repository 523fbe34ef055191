"""``SimulationCalcJob``: one conductivity "measurement" by the project's simulator, as an AiiDA job.

The simulator is a command line program (``bigmap-sim INPUT.json OUTPUT.json``, see
:mod:`aiida_bigmap_al.simulator`), so this is aiida-shell's ``ShellJob`` with the command fixed:
a subclass rather than a plain ``ShellJob`` because then

* the inputs are the quantities of the science, typed and validated at submission (a FINALES
  formulation, a temperature in K, a model name), not a file and a pickled parser function;
* the exact ``input.json`` that was run is derived from those inputs and kept in the calculation's
  repository, and the raw ``output.json`` comes back in ``retrieved``: provenance of what ran;
* the failure modes of this program are declared exit codes (see :class:`SimulationParser`),
  while aiida-shell still contributes what every shell command needs: stdout and stderr captured
  as nodes, the exit status checked, and its exit codes for a command that failed.

The ports that make a ``ShellJob`` generic (``nodes``, ``filenames``, ``arguments``, ``outputs``,
``parser``) are removed: here they are fixed by the program, not chosen per run.
"""

from __future__ import annotations

import json
import math
import typing as t

import pydantic
from aiida.common.folders import Folder
from aiida.engine import CalcJobProcessSpec
from aiida.orm import Dict, Float, Str, to_aiida_type
from aiida_shell.calculations.shell import ShellJob

from ..electrolyte import from_formulation
from ..schemas import Formulation, Temperature
from ..simulator import MODELS

__all__ = ("SimulationCalcJob",)

#: The ports of ``ShellJob`` that describe an arbitrary command; the simulator's command is fixed.
_GENERIC_SHELL_PORTS = ("nodes", "filenames", "arguments", "outputs", "parser")


class SimulationCalcJob(ShellJob):
    """Ionic conductivity of one electrolyte formulation at one temperature from an empirical model."""

    FILENAME_INPUT: str = "input.json"
    FILENAME_OUTPUT: str = "output.json"
    DEFAULT_MODEL: str = "flores2022"

    @classmethod
    def define(cls, spec: CalcJobProcessSpec) -> None:  # type: ignore[override]
        """Inputs: formulation, temperature, model, code. Output: ``measurement``. Exit codes 350, 351, 450."""
        super().define(spec)
        for name in _GENERIC_SHELL_PORTS:
            del spec.inputs[name]
        spec.input(
            "suggestion",
            valid_type=Dict,
            required=False,
            validator=_validate_suggestion,
            help="A campaign's suggestion (its `formulation` and `temperature` are simulated), "
            "instead of `formulation` and `temperature`: links the job to what asked for it.",
        )
        spec.input(
            "formulation",
            valid_type=Dict,
            required=False,
            serializer=_serialize_formulation,
            validator=_validate_formulation,
            help="FINALES Formulation (JSON) of LiPF6 in EC/PC/EMC with (EC+PC):EMC = 3:7 by mass.",
        )
        spec.input(
            "temperature",
            valid_type=Float,
            required=False,
            serializer=to_aiida_type,
            validator=_validate_temperature,
            help="Temperature in K.",
        )
        spec.input(
            "model",
            valid_type=Str,
            default=lambda: Str(cls.DEFAULT_MODEL),
            serializer=to_aiida_type,
            validator=_validate_model,
            help=f"Conductivity model of the simulator: one of {', '.join(sorted(MODELS))}.",
        )
        spec.inputs.validator = _validate_point_given
        spec.inputs["metadata"]["options"]["parser_name"].default = "bigmap.simulation"  # type: ignore[index]
        spec.output(
            "measurement",
            valid_type=Dict,
            required=False,
            help="FINALES Measurement (JSON): origin simulation, conductivity in mS/cm, id = this job's UUID.",
        )
        spec.default_output_node = "measurement"
        spec.exit_code(
            350,
            "ERROR_OUTPUT_FILE_MISSING",
            message=f"The simulator's output file `{cls.FILENAME_OUTPUT}` was not retrieved.",
            invalidates_cache=True,
        )
        spec.exit_code(
            351,
            "ERROR_OUTPUT_FILE_INVALID",
            message=f"The simulator's output file `{cls.FILENAME_OUTPUT}` is not valid: {{error}}",
            invalidates_cache=True,
        )
        spec.exit_code(
            450,
            "ERROR_OUTSIDE_MODEL_RANGE",
            message="The formulation at this temperature lies outside the range of the model `{model}`: {reason}",
        )

    def _build_process_label(self) -> str:
        """``SimulationCalcJob``, not aiida-shell's ``ShellJob<code>``: the job is known by what it computes."""
        return type(self).__name__

    def prepare_for_submission(self, folder: Folder):
        """Let ``ShellJob`` set up the command, then add the simulator's input file and arguments.

        ``input.json`` is written after ``ShellJob`` has listed the folder's files for exclusion
        from provenance, so it is stored with the calculation.
        """
        calc_info = super().prepare_for_submission(folder)
        with folder.open(self.FILENAME_INPUT, "w", encoding="utf-8") as handle:
            json.dump(self._simulator_input(), handle, indent=2)
        calc_info.codes_info[0].cmdline_params = [self.FILENAME_INPUT, self.FILENAME_OUTPUT]
        calc_info.retrieve_list = [self.FILENAME_OUTPUT]
        return calc_info

    def _simulator_input(self) -> dict[str, t.Any]:
        """The simulator's input document: the model and the one (r, c, T) point of the inputs."""
        formulation, temperature = point_of(self.inputs)
        r, c = from_formulation(formulation)
        point = {"r": r, "c": c, "temperature": temperature}
        return {"model": self.inputs.model.value, "points": [point]}


def point_of(inputs: t.Any) -> tuple[Formulation, float]:
    """The formulation and temperature (K) to simulate: from the suggestion, or given directly."""
    if "suggestion" in inputs:
        suggestion = inputs["suggestion"].get_dict()
        temperature = Temperature.model_validate(suggestion["temperature"]).kelvin
        return Formulation.model_validate(suggestion["formulation"]), temperature
    return Formulation.model_validate(inputs["formulation"].get_dict()), float(inputs["temperature"].value)


def _validate_point_given(inputs: t.Any, _: t.Any) -> str | None:
    """Exactly one way of naming the point: a suggestion, or a formulation and a temperature."""
    direct = [name for name in ("formulation", "temperature") if name in inputs]
    if "suggestion" in inputs and direct:
        return f"give either `suggestion` or `formulation` and `temperature`, not both (got {direct})"
    if "suggestion" not in inputs and len(direct) != 2:
        return "give `suggestion`, or both `formulation` and `temperature`"
    return None


def _validate_suggestion(value: Dict, _: t.Any) -> str | None:
    """A suggestion with a valid formulation the simulator can take and a temperature."""
    document = value.get_dict()
    try:
        Temperature.model_validate(document.get("temperature"))
    except pydantic.ValidationError as error:
        return f"the suggestion has no valid temperature: {describe_validation_error(error)}"
    return _validate_formulation(Dict(document.get("formulation") or {}), None)


def _serialize_formulation(value: t.Any) -> Dict:
    """Accept a ``Formulation`` object or a plain dict for the ``formulation`` port."""
    if isinstance(value, Formulation):
        return Dict(value.model_dump(mode="json"))
    return to_aiida_type(value)


def _validate_formulation(value: Dict, _: t.Any) -> str | None:
    """A valid FINALES formulation that the simulator's (r, c) domain can represent."""
    try:
        formulation = Formulation.model_validate(value.get_dict())
    except pydantic.ValidationError as error:
        return f"not a valid FINALES Formulation: {describe_validation_error(error)}"
    try:
        from_formulation(formulation)
    except ValueError as error:
        return f"not an EC/PC/EMC/LiPF6 formulation the simulator can take: {error}"
    return None


def describe_validation_error(error: pydantic.ValidationError) -> str:
    """Pydantic's errors on one line, ``field.path: problem; ...``, to fit a port or exit message."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(document)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def _validate_temperature(value: Float, _: t.Any) -> str | None:
    """A finite absolute temperature; whether the model covers it is the simulator's answer."""
    if not math.isfinite(value.value) or value.value <= 0:
        return f"the temperature must be a finite number of kelvin > 0, got {value.value}"
    return None


def _validate_model(value: Str, _: t.Any) -> str | None:
    if value.value not in MODELS:
        return f"unknown model {value.value!r}; known models: {', '.join(sorted(MODELS))}"
    return None
