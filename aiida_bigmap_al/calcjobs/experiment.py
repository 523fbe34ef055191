"""``ExperimentCalcJob``: one measurement on a lab instrument, as an AiiDA calculation job.

The instrument is an AiiDA computer whose transport and scheduler are ``bigmap.instrument``
(``bigmap-al instrument register NAME URL`` sets it up): the job's directory is a workspace on
the instrument server, and the job is the request file in it. So this CalcJob

* writes the request file, a :class:`~aiida_bigmap_al.instrument_bridge.protocol.MeasurementRequest`
  ``{"method": ..., "parameters": {"r", "c", "temperature", ...}}`` in the form the server's
  ``GET /methods`` describes, validated here for
  what can be known without the rig (a formulation of the FZJ domain, a temperature in K, no
  parameter given twice); the rig's own limits are checked by the server, which refuses a request
  outside them, and the job then ends with exit status 190 and the server's message;
* retrieves the result file (how the job ended, the rig's result) and the raw file (the job's HDF5
  log: every action with its parameters, times, result and raw device traffic), named as the
  bridge's :mod:`~aiida_bigmap_al.instrument_bridge.protocol` names them;
* hands them to :class:`~aiida_bigmap_al.parsers.experiment.ExperimentParser`, which makes the
  FINALES ``measurement`` (origin experiment) and the ``raw_data`` node.

A measurement is a fact about the world at one moment, not a pure function of the inputs: two
runs of the same request are two samples, and a campaign that asks twice wants two. Experiments
are therefore never taken from AiiDA's cache (``metadata.disable_cache`` defaults to True and no
node of this class is ever a valid cache source).
"""

from __future__ import annotations

import math
import typing as t

from aiida.common import datastructures
from aiida.common.folders import Folder
from aiida.engine import CalcJob, CalcJobProcessSpec
from aiida.orm import Dict, SinglefileData, Str, to_aiida_type

from ..electrolyte import from_formulation
from ..instrument_bridge.protocol import RAW_FILE, REQUEST_FILE, RESULT_FILE, MeasurementRequest
from ..instrument_bridge.register import PLUGIN as INSTRUMENT_PLUGIN
from ..instrument_bridge.scheduler import EXIT_REQUEST_REJECTED
from .point import define_point_inputs, point_of, validate_point_given

__all__ = ("ExperimentCalcJob", "request_of")

#: The scheduler of a computer whose jobs the measurement broker answers (``broker_bridge.scheduler``).
BROKER_PLUGIN = "bigmap.broker"
#: The request parameters this job fills in from its point; ``parameters`` may not repeat them.
POINT_PARAMETERS = ("r", "c", "temperature")


class ExperimentCalcJob(CalcJob):
    """Ionic conductivity of one electrolyte formulation at one temperature, measured on an instrument."""

    DEFAULT_METHOD: str = "conductivity"

    @classmethod
    def define(cls, spec: CalcJobProcessSpec) -> None:  # type: ignore[override]
        """Inputs: the point (suggestion, or formulation and temperature), method, parameters, code."""
        super().define(spec)
        define_point_inputs(spec, measured_by="the conductivity rig")
        spec.input("method", valid_type=Str, default=lambda: Str(cls.DEFAULT_METHOD), serializer=to_aiida_type,
                   help="The instrument's method (see the server's GET /methods).")
        spec.input("parameters", valid_type=Dict, required=False, serializer=to_aiida_type,
                   validator=_validate_parameters,
                   help=f"Further numeric parameters of the method, e.g. {{'replicates': 3}}; not {POINT_PARAMETERS}.")
        spec.inputs.validator = _chain(_validate_inputs, spec.inputs.validator)

        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "bigmap.experiment"  # type: ignore[index]
        options["resources"].default = {}  # type: ignore[index]
        options["withmpi"].default = False  # type: ignore[index]
        spec.inputs["metadata"]["disable_cache"].default = True  # type: ignore[index]

        spec.output("measurement", valid_type=Dict, required=False,
                    help="FINALES Measurement (JSON): origin experiment, the rig's value, id = this job's UUID.")
        spec.output("raw_data", valid_type=SinglefileData, required=False,
                    help=f"The job's HDF5 log `{RAW_FILE}`, also when the job failed.")
        spec.output("broker", valid_type=Dict, required=False,
                    help="When the broker answered (scheduler `bigmap.broker`): its request, result and tenant UUIDs.")
        spec.default_output_node = "measurement"

        spec.exit_code(EXIT_REQUEST_REJECTED.status, "ERROR_REQUEST_REJECTED", message=EXIT_REQUEST_REJECTED.message,
                       invalidates_cache=True)
        spec.exit_code(350, "ERROR_RESULT_MISSING", invalidates_cache=True,
                       message=f"The instrument's result file `{RESULT_FILE}` was not retrieved.")
        spec.exit_code(351, "ERROR_INVALID_RESULT", invalidates_cache=True,
                       message="The instrument's result is not valid: {error}")
        spec.exit_code(352, "ERROR_RAW_DATA_MISSING", invalidates_cache=True,
                       message=f"The job ran but its raw data file `{RAW_FILE}` was not retrieved.")
        spec.exit_code(460, "ERROR_INSTRUMENT_FAULT", invalidates_cache=True,
                       message="The instrument job failed: {message}")
        spec.exit_code(461, "ERROR_JOB_CANCELLED", invalidates_cache=True,
                       message="The instrument job was cancelled: {message}")

    @classmethod
    def is_valid_cache(cls, node: t.Any) -> bool:
        """Never: a measurement is a new sample every time, not a result to reuse."""
        return False

    def prepare_for_submission(self, folder: Folder) -> datastructures.CalcInfo:
        """Write the request file; the instrument runs it, so the code only names the instrument."""
        with folder.open(REQUEST_FILE, "w", encoding="utf-8") as handle:
            handle.write(request_of(self.inputs).model_dump_json(indent=2))
        code_info = datastructures.CodeInfo()
        code_info.code_uuid = self.inputs.code.uuid
        calc_info = datastructures.CalcInfo()
        calc_info.codes_info = [code_info]
        calc_info.retrieve_list = [RESULT_FILE, RAW_FILE]
        return calc_info

    def parse_scheduler_output(self, retrieved: t.Any) -> None:
        """Nothing to parse: an instrument job has no scheduler output; the result file says how it went."""
        return None


def request_of(inputs: t.Any) -> MeasurementRequest:
    """The request: the method, and the point as the rig's ``r``, ``c`` (mol/kg), ``temperature`` (K)."""
    formulation, temperature = point_of(inputs)
    r, c = from_formulation(formulation)
    extra = inputs["parameters"].get_dict() if "parameters" in inputs else {}
    return MeasurementRequest(method=inputs["method"].value,
                              parameters={"r": r, "c": c, "temperature": temperature, **extra})


# --- port validators ----------------------------------------------------------------------------


def _chain(*validators: t.Callable[[t.Any, t.Any], str | None] | None) -> t.Callable[[t.Any, t.Any], str | None]:
    """One validator running ``validators`` in turn (ours, then ``CalcJob``'s) up to the first complaint."""

    def validate(inputs: t.Any, ctx: t.Any) -> str | None:
        for validator in validators:
            if validator is not None and (message := validator(inputs, ctx)):
                return message
        return None

    return validate


def _validate_inputs(inputs: t.Any, _: t.Any) -> str | None:
    """One way of naming the point, and an instrument computer to measure it on."""
    message = validate_point_given(inputs, _)
    if message:
        return message
    code = inputs.get("code")
    computer = getattr(code, "computer", None)
    if computer is not None and computer.scheduler_type not in (INSTRUMENT_PLUGIN, BROKER_PLUGIN):
        return (f"an experiment runs on an instrument computer (transport and scheduler `{INSTRUMENT_PLUGIN}`, "
                f"see `bigmap-al instrument register`); code {code.full_label} is on a "
                f"`{computer.scheduler_type}` computer")
    return None


def _validate_parameters(value: Dict, _: t.Any) -> str | None:
    """Numeric extra parameters that do not repeat the point's."""
    document = value.get_dict()
    repeated = sorted(set(document) & set(POINT_PARAMETERS))
    if repeated:
        return f"{repeated} come from the formulation and temperature; do not give them in `parameters`"
    wrong = {key: val for key, val in document.items()
             if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val)}
    if wrong:
        return f"method parameters must be finite numbers, got {wrong}"
    return None
