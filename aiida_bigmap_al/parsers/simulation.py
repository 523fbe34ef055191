"""Parser of :class:`~aiida_bigmap_al.calcjobs.simulation.SimulationCalcJob`: simulator JSON -> FINALES Measurement.

It reuses aiida-shell's parsing of what every shell command leaves behind (stdout and stderr
nodes, the exit status) and then reads ``output.json``: a missing file, a file that is not the
simulator's JSON, and a point the model does not cover each end the job with their own exit
code. Only a value the model vouches for becomes a ``measurement``.
"""

from __future__ import annotations

import pathlib
import typing as t

import pydantic
from aiida.engine import ExitCode
from aiida.orm import Dict
from aiida_shell.parsers.shell import ShellParser

from ..calcjobs.point import describe_validation_error, measurement_at_point
from ..calcjobs.simulation import SimulationCalcJob
from ..schemas import Measurement
from ..simulator import PointResult, SimulationOutput

__all__ = ("SimulationParser",)

#: What the measurement's figure of merit is called.
FOM_NAME = "conductivity"


class SimulationParser(ShellParser):
    """Turn the simulator's ``output.json`` into the ``measurement`` output, or an exit code saying why not."""

    def parse(self, **kwargs: t.Any) -> ExitCode:
        """Check the command's exit status, then read and validate ``output.json``."""
        exit_code = self.parse_default_outputs(pathlib.Path(kwargs["retrieved_temporary_folder"]))
        # The simulator reports progress on stderr ("1 point(s) written to ..."); a failure is a
        # non-zero exit status, which ShellParser reports with the stderr text.
        if exit_code.status and exit_code.status != self.exit_codes.ERROR_STDERR_NOT_EMPTY.status:
            return exit_code

        try:
            text = self.retrieved.base.repository.get_object_content(SimulationCalcJob.FILENAME_OUTPUT, mode="r")
        except FileNotFoundError:
            return self.exit_code("ERROR_OUTPUT_FILE_MISSING")
        try:
            output = SimulationOutput.model_validate_json(text)
        except pydantic.ValidationError as error:
            return self.exit_code("ERROR_OUTPUT_FILE_INVALID", error=describe_validation_error(error))
        if len(output.results) != 1:
            return self.exit_code("ERROR_OUTPUT_FILE_INVALID",
                                  error=f"{len(output.results)} results for the job's one point")

        result = output.results[0]
        if not result.in_range:
            return self.exit_code("ERROR_OUTSIDE_MODEL_RANGE", model=output.model, reason=result.message)
        try:
            measurement = self._measurement(output.unit, result)
        except (pydantic.ValidationError, ValueError) as error:
            return self.exit_code("ERROR_OUTPUT_FILE_INVALID", error=f"no valid measurement from it: {error}")
        self.out("measurement", Dict(measurement.model_dump(mode="json")))
        return ExitCode()

    def _measurement(self, unit: str, result: PointResult) -> Measurement:
        """The FINALES measurement of the job's own formulation and temperature, with the simulated value."""
        if result.conductivity is None:
            raise ValueError("the point is marked in range but has no conductivity")
        return measurement_at_point(self.node.inputs, value=result.conductivity, unit=unit, origin="simulation",
                                    measurement_id=self.node.uuid, name=FOM_NAME)

