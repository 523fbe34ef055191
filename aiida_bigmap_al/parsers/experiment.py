"""Parser of :class:`~aiida_bigmap_al.calcjobs.experiment.ExperimentCalcJob`: instrument result -> FINALES Measurement.

The instrument server leaves two files in the job's workspace (named, and the first one shaped,
by the bridge's :mod:`~aiida_bigmap_al.instrument_bridge.protocol`): the result file, how the job
ended and the rig's result (a ``JobResult``, the model the server writes it with), and the raw
file, the HDF5 log of every action (the server's ``hdf5log.py``). The parser

1. keeps the raw file as the ``raw_data`` node whenever it came back, also for a failed job: what
   the devices said before a fault is exactly what one wants to look at;
2. reads the result file and checks that it belongs to this job (job id) and to this request
   (the parameters the rig echoes are the ones that were sent), so that a mixed-up workspace can
   never put one sample's value on another's formulation;
3. ends with an exit code for a failed job (instrument fault: the server's message names the step,
   the device and the command), a cancelled job, a missing or invalid file; and only for a job
   that is ``done`` with a finite value in a known unit emits the ``measurement``.
"""

from __future__ import annotations

import io
import json
import math
import typing as t

import h5py
import pydantic
from aiida.engine import ExitCode
from aiida.orm import Dict, SinglefileData
from aiida.parsers import Parser

from ..calcjobs.point import describe_validation_error, measurement_at_point
from ..instrument_bridge.protocol import (
    RAW_FILE,
    REQUEST_FILE,
    RESULT_FILE,
    JobResult,
    JobState,
    MeasuredValue,
    MeasurementRequest,
)
from ..schemas import Measurement

__all__ = ("ExperimentParser",)

#: Relative tolerance when comparing the parameters the rig echoes with the ones sent (JSON round trip).
_ECHO_RTOL = 1e-12


class ExperimentParser(Parser):
    """Turn the result and raw files into ``measurement`` and ``raw_data``, or an exit code saying why not."""

    def parse(self, **kwargs: t.Any) -> ExitCode:
        raw_error = self._keep_raw_data()
        try:
            text = self.retrieved.base.repository.get_object_content(RESULT_FILE, mode="r")
        except FileNotFoundError:
            return self.exit_codes.ERROR_RESULT_MISSING
        try:
            document = JobResult.model_validate_json(text)
        except pydantic.ValidationError as error:
            return self._invalid(f"{RESULT_FILE}: {describe_validation_error(error)}")
        problem = raw_error or self._mismatch(document)
        if problem:
            return self._invalid(problem)

        if document.state is JobState.FAILED:
            return self.exit_codes.ERROR_INSTRUMENT_FAULT.format(message=document.message)
        if document.state is JobState.CANCELLED:
            return self.exit_codes.ERROR_JOB_CANCELLED.format(message=document.message)
        if "raw_data" not in self.outputs and "raw" in document.files:  # a broker tenant sends no raw file
            return self.exit_codes.ERROR_RAW_DATA_MISSING
        try:
            value = MeasuredValue.model_validate(document.result)
            measurement = self._measurement(value)
        except pydantic.ValidationError as error:
            return self._invalid(f"the result of a done job: {describe_validation_error(error)}")
        self.out("measurement", Dict(measurement.model_dump(mode="json")))
        broker = json.loads(text).get("broker")
        if broker:  # who answered through the broker: request, result and tenant UUIDs
            self.out("broker", Dict(broker))
        return ExitCode()

    def _invalid(self, error: str) -> ExitCode:
        return self.exit_codes.ERROR_INVALID_RESULT.format(error=error)

    def _keep_raw_data(self) -> str | None:
        """Output the raw file as ``raw_data`` if it was retrieved and is the HDF5 log of this job."""
        try:
            content = self.retrieved.base.repository.get_object_content(RAW_FILE, mode="rb")
        except FileNotFoundError:
            return None
        try:
            with h5py.File(io.BytesIO(content), "r") as log:
                job_id = log.attrs.get("job_id")
        except OSError as error:
            return f"{RAW_FILE} is not an HDF5 file: {error}"
        if job_id != self.node.get_job_id():
            return f"{RAW_FILE} is the log of job {job_id!r}, not of this job {self.node.get_job_id()!r}"
        self.out("raw_data", SinglefileData(io.BytesIO(content), filename=RAW_FILE))
        return None

    def _mismatch(self, document: JobResult) -> str | None:
        """Why the result is not that of this job and request, if it is not."""
        if document.job_id != self.node.get_job_id():
            return f"{RESULT_FILE} is the result of job {document.job_id!r}, not of this job {self.node.get_job_id()!r}"
        sent = MeasurementRequest.model_validate_json(
            self.node.base.repository.get_object_content(REQUEST_FILE, mode="r")).parameters
        for name, value in sent.items():
            echoed = document.parameters.get(name)
            if not isinstance(echoed, (int, float)) or not math.isclose(echoed, value, rel_tol=_ECHO_RTOL):
                return f"the rig ran {name}={echoed!r}, but the request asked for {name}={value!r}"
        return None

    def _measurement(self, value: MeasuredValue) -> Measurement:
        """The FINALES measurement of the requested formulation and temperature, with the rig's value.

        The point is the one requested (nominal), as in the campaign's search space; the prepared
        composition and the measured temperature the rig reports stay in the result file.
        """
        return measurement_at_point(self.node.inputs, value=value.value, unit=value.unit, origin="experiment",
                                    measurement_id=self.node.uuid, name=value.quantity)

