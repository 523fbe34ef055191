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
import typing as t

from aiida.common.folders import Folder
from aiida.engine import CalcJobProcessSpec
from aiida.orm import Dict, Str, to_aiida_type
from aiida_shell.calculations.shell import ShellJob

from ..electrolyte import from_formulation
from ..simulator import MODELS
from .point import define_point_inputs, point_of, validate_point_given

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
        define_point_inputs(spec, measured_by="the simulator")
        spec.input(
            "model",
            valid_type=Str,
            default=lambda: Str(cls.DEFAULT_MODEL),
            serializer=to_aiida_type,
            validator=_validate_model,
            help=f"Conductivity model of the simulator: one of {', '.join(sorted(MODELS))}.",
        )
        spec.inputs.validator = validate_point_given
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


def _validate_model(value: Str, _: t.Any) -> str | None:
    if value.value not in MODELS:
        return f"unknown model {value.value!r}; known models: {', '.join(sorted(MODELS))}"
    return None
