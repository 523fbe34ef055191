"""The capability of a point measurement: the instrument bridge's request and result, as a FINALES2 capability.

An ``ExperimentCalcJob`` asks an instrument for ``{"r", "c", "temperature", ...}`` (the rig's own
parameters, :class:`~aiida_bigmap_al.instrument_bridge.protocol.MeasurementRequest`) and reads a
:class:`~aiida_bigmap_al.instrument_bridge.protocol.MeasuredValue` back. Through the broker it
asks the same, so the capability is made from those models rather than written a second time:
whichever tenant serves it (an instrument PC, the AiiDA simulation tenant, a person at the page)
answers in the bridge's terms. No AiiDA import: a lab PC registers or serves it without AiiDA.
"""

from __future__ import annotations

from typing import Any

from ..instrument_bridge.protocol import MeasuredValue

__all__ = ["POINT_PARAMETERS_SCHEMA", "point_capability"]

#: The point of a request: r = PC/(EC+PC) by mass, c = LiPF6 in mol/kg, temperature in K; the method's
#: further numeric parameters (``replicates``...) may follow.
POINT_PARAMETERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["r", "c", "temperature"],
    "properties": {
        "r": {"type": "number", "minimum": 0, "maximum": 1, "description": "PC/(EC+PC) by mass"},
        "c": {"type": "number", "minimum": 0, "description": "LiPF6 in mol/kg of solvent"},
        "temperature": {"type": "number", "exclusiveMinimum": 0, "description": "K"},
    },
    "additionalProperties": {"type": "number"},
}


def point_capability(quantity: str = "conductivity", method: str = "simulation") -> dict[str, Any]:
    """The FINALES2 capability file of ``quantity/method`` measured at a point (``bigmap-al broker
    capability point``)."""
    return {
        "quantity": quantity,
        "method": method,
        "json_schema_specifications": POINT_PARAMETERS_SCHEMA,
        "json_schema_result_output": MeasuredValue.model_json_schema(),
        "is_active": True,
    }
