"""From a broker result (or request) back to what asked for it and what answered it in AiiDA.

The AiiDA side leaves its process UUIDs in the broker's metadata: an ``ExperimentCalcJob`` posts
its request with ``aiida_process_uuid`` (scheduler ``bigmap.broker``), the AiiDA tenant posts its
result with the ``aiida_process_uuid`` of the ``SimulationCalcJob`` that computed it. From the
asking process the provenance graph leads on: its ``suggestion`` input, the ``suggest`` (or
``initial_design``) calculation that made it, the ``model`` that calculation was given, and the
campaign (workflow) at the top of the call stack.
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common.exceptions import NotExistent

from ..broker.client import BrokerClient, BrokerClientError

__all__ = ["describe", "trace"]

NOT_FOUND = 404


def describe(node: orm.Node | None) -> str | None:
    if node is None:
        return None
    label = getattr(node, "process_label", None) or type(node).__name__
    return f"{label}<{node.pk}> {node.uuid}"


def _asked_by(process: orm.ProcessNode) -> dict[str, Any]:
    """The asking process, its suggestion, the model behind the suggestion, and the campaign it belongs to."""
    found: dict[str, Any] = {"process": process, "suggestion": None, "suggested_by": None, "model": None,
                             "campaign": None}
    suggestion = process.inputs.suggestion if "suggestion" in process.inputs else None
    if suggestion is not None:
        found["suggestion"] = suggestion
        creator = suggestion.creator
        found["suggested_by"] = creator
        if creator is not None and "model" in creator.inputs:
            found["model"] = creator.inputs.model
    top = process
    while top.caller is not None:
        top = top.caller
    found["campaign"] = top if top is not process else None
    return found


def _load(uuid: str | None) -> orm.ProcessNode | None:
    if not uuid:
        return None
    try:
        return orm.load_node(uuid)
    except NotExistent:
        return None


def trace(client: BrokerClient, uuid: str) -> dict[str, Any]:
    """What the broker and the provenance graph say of result (or request) ``uuid``."""
    try:
        result = client.get_result(uuid)
        request_uuid = result["result"]["request_uuid"]
    except BrokerClientError as error:
        if error.status_code != NOT_FOUND:
            raise
        result, request_uuid = None, uuid
    request = client.get_request(request_uuid)
    if result is None:
        result = client.result_for_request(request_uuid)
    asking = (request["request"].get("metadata") or {}).get("aiida_process_uuid")
    answering = ((result or {}).get("result", {}).get("metadata") or {}).get("aiida_process_uuid")
    process = _load(asking)
    return {"request": request, "result": result, "asked_by_uuid": asking,
            "asked_by": _asked_by(process) if process is not None else None,
            "answered_by": _load(answering), "answered_by_uuid": answering}
