"""The point a measurement is made at: a campaign's suggestion, or a formulation and a temperature.

``SimulationCalcJob`` and ``ExperimentCalcJob`` both measure one electrolyte formulation of the
FZJ domain at one temperature, named either by the ``suggestion`` that asked for it (which links
the measurement to the campaign's provenance) or directly by ``formulation`` and ``temperature``.
"""

from __future__ import annotations

import math
import typing as t

import pydantic
from aiida.engine import CalcJobProcessSpec
from aiida.orm import Dict, Float, to_aiida_type

from ..documents import Suggestion
from ..electrolyte import from_formulation
from ..schemas import FomData, Formulation, Measurement, Origin, Temperature

__all__ = ("define_point_inputs", "describe_validation_error", "measurement_at_point", "point_of",
           "validate_point_given")


def define_point_inputs(spec: CalcJobProcessSpec, measured_by: str) -> None:
    """Add the ports ``suggestion``, ``formulation`` and ``temperature`` (K) to ``spec``.

    :param measured_by: who measures, for messages, e.g. "the simulator".
    """

    def validate_formulation(value: Dict, _: t.Any) -> str | None:
        try:
            from_formulation(Formulation.model_validate(value.get_dict()))
        except pydantic.ValidationError as error:
            return f"not a valid FINALES Formulation: {describe_validation_error(error)}"
        except ValueError as error:
            return f"not an EC/PC/EMC/LiPF6 formulation {measured_by} can take: {error}"
        return None

    def validate_suggestion(value: Dict, _: t.Any) -> str | None:
        try:
            suggestion = Suggestion.model_validate(value.get_dict())
        except pydantic.ValidationError as error:
            return f"not a valid suggestion: {describe_validation_error(error)}"
        try:
            suggestion.formulation  # noqa: B018 (derived from the variables: r and c in range)
        except (KeyError, ValueError) as error:
            return f"not an EC/PC/EMC/LiPF6 formulation {measured_by} can take: {error}"
        return None

    spec.input("suggestion", valid_type=Dict, required=False, validator=validate_suggestion,
               help="A campaign's suggestion, whose `formulation` and `temperature` are measured, "
                    "instead of `formulation` and `temperature`: links the job to what asked for it.")
    spec.input("formulation", valid_type=Dict, required=False, serializer=_serialize_formulation,
               validator=validate_formulation,
               help="FINALES Formulation (JSON) of LiPF6 in EC/PC/EMC with (EC+PC):EMC = 3:7 by mass.")
    spec.input("temperature", valid_type=Float, required=False, serializer=to_aiida_type,
               validator=_validate_temperature, help="Temperature in K.")


def point_of(inputs: t.Any) -> tuple[Formulation, float]:
    """The formulation and temperature (K) to measure: from the suggestion, or given directly."""
    if "suggestion" in inputs:
        suggestion = Suggestion.model_validate(inputs["suggestion"].get_dict())
        return Formulation.model_validate(suggestion.formulation), suggestion.kelvin
    return Formulation.model_validate(inputs["formulation"].get_dict()), float(inputs["temperature"].value)


def measurement_at_point(inputs: t.Any, *, value: float, unit: str, origin: str, measurement_id: str,
                         name: str) -> Measurement:
    """The FINALES measurement of the point ``inputs`` name (see :func:`point_of`) with its value.

    The point is the one requested (nominal), as in the campaign's search space, whoever measured it.
    """
    formulation, temperature = point_of(inputs)
    kind = Origin(origin=origin)
    return Measurement(formulation=formulation, temperature=Temperature(value=temperature, unit="K"),
                       pending=False, kind=kind,
                       fom_data=FomData(value=value, unit=unit, origin=kind, measurement_id=measurement_id,
                                        name=name))


def validate_point_given(inputs: t.Any, _: t.Any) -> str | None:
    """Exactly one way of naming the point: a suggestion, or a formulation and a temperature."""
    direct = [name for name in ("formulation", "temperature") if name in inputs]
    if "suggestion" in inputs and direct:
        return f"give either `suggestion` or `formulation` and `temperature`, not both (got {direct})"
    if "suggestion" not in inputs and len(direct) != 2:
        return "give `suggestion`, or both `formulation` and `temperature`"
    return None


def describe_validation_error(error: pydantic.ValidationError) -> str:
    """Pydantic's errors on one line, ``field.path: problem; ...``, to fit a port or exit message."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(document)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def _serialize_formulation(value: t.Any) -> Dict:
    """Accept a ``Formulation`` object or a plain dict for the ``formulation`` port."""
    if isinstance(value, Formulation):
        return Dict(value.model_dump(mode="json"))
    return to_aiida_type(value)


def _validate_temperature(value: Float, _: t.Any) -> str | None:
    """A finite absolute temperature; whether it can be measured is the measurer's answer."""
    if not math.isfinite(value.value) or value.value <= 0:
        return f"the temperature must be a finite number of kelvin > 0, got {value.value}"
    return None
