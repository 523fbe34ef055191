"""Capabilities: a FINALES2 capability file (quantity, method, JSON schemas) registered unchanged.

A capability's two JSON schemas say what a request's parameters for that method and a result's
``data`` must look like. Parameters that do not fit are always refused (422). Result data are
refused only for a capability registered with ``strict_results``: five of the nine result examples
that FINALES2 publishes do not fit their own capability's result schema (required fields missing,
``"True"`` for a boolean), FINALES2 never checked result data, and its tenants must keep working;
otherwise the misfit is recorded with the result (its ``status_message``). Their validators are
compiled once per capability and kept
(:class:`CapabilityCache`): FINALES2 compiled a schema per post, which cost it 8-16 % of its time.
Capabilities are only ever added (by ``bigmap-al broker capability add``, possibly while the server
runs), so a capability the cache does not know is looked up in the database again.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import jsonschema_rs
import sqlalchemy as sa

from . import db
from .errors import Invalid

__all__ = ["Capability", "CapabilityCache", "CapabilityError", "SchemaError", "parse_capability", "register"]

KEYS = ("quantity", "method", "json_schema_specifications", "json_schema_result_output")


class CapabilityError(ValueError):
    """A capability file that cannot be registered; the message names what is wrong."""


class SchemaError(Invalid):
    """A document that does not fit a capability's schema (422); ``errors`` hold FastAPI-style ``loc`` and ``msg``."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in self.errors)


@dataclasses.dataclass(frozen=True)
class Capability:
    """A registered capability with its compiled validators."""

    id: int
    quantity: str
    method: str
    document: dict[str, Any]
    is_active: bool
    strict_results: bool
    _parameters: Any = dataclasses.field(repr=False, compare=False)
    _result: Any = dataclasses.field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.quantity}/{self.method}"

    def check_parameters(self, parameters: Any, loc: tuple) -> None:
        _check(self._parameters, parameters, loc)

    def check_result(self, data: Any, loc: tuple) -> str | None:
        """Refuse data that do not fit (strict capability), or return the misfit as a message."""
        try:
            _check(self._result, data, loc)
        except SchemaError as error:
            if self.strict_results:
                raise
            return f"data do not fit the result schema of {self.key}: {error}"
        return None


def _check(validator, instance: Any, loc: tuple) -> None:
    errors = [{"loc": [*loc, *error.instance_path], "msg": error.message, "type": "json_schema"}
              for error in validator.iter_errors(instance)]
    if errors:
        raise SchemaError(errors)


def _compile(schema: Any, what: str):
    try:
        return jsonschema_rs.validator_for(schema)
    except (ValueError, jsonschema_rs.ValidationError, TypeError) as error:
        raise CapabilityError(f"{what} is not a valid JSON schema: {error}") from None


def parse_capability(document: Any, source: str = "capability") -> dict[str, Any]:
    """Check that ``document`` is a FINALES2 capability whose schemas compile; returns it unchanged."""
    if not isinstance(document, dict):
        raise CapabilityError(f"{source}: a capability is a JSON object, got {type(document).__name__}")
    missing = [key for key in KEYS if key not in document]
    if missing:
        raise CapabilityError(f"{source}: missing key(s) {missing}; a FINALES2 capability has {list(KEYS)}")
    for key in ("quantity", "method"):
        if not isinstance(document[key], str) or not document[key] or "/" in document[key]:
            raise CapabilityError(f"{source}: {key!r} must be a non-empty string without '/'")
    for key in KEYS[2:]:
        _compile(document[key], f"{source}: {key}")
    return document


def register(database: db.Database, document: dict[str, Any], strict_results: bool = False) -> None:
    """Store a capability (checked with :func:`parse_capability`); an existing quantity/method is refused."""
    parse_capability(document)
    with database.write() as connection:
        exists = connection.execute(sa.select(db.capabilities.c.id).where(
            db.capabilities.c.quantity == document["quantity"], db.capabilities.c.method == document["method"]))
        if exists.first() is not None:
            raise CapabilityError(f"capability {document['quantity']}/{document['method']} is already registered")
        connection.execute(db.capabilities.insert().values(
            quantity=document["quantity"], method=document["method"], document=json.dumps(document),
            is_active=bool(document.get("is_active", True)), strict_results=strict_results, ctime=time.time()))


def _load(row) -> Capability:
    document = json.loads(row.document)
    return Capability(row.id, row.quantity, row.method, document, row.is_active, row.strict_results,
                      _compile(document["json_schema_specifications"], row.quantity),
                      _compile(document["json_schema_result_output"], row.quantity))


class CapabilityCache:
    """Registered capabilities by ``quantity/method``, with their validators compiled once."""

    def __init__(self, database: db.Database):
        self._database = database
        self._by_key: dict[str, Capability] = {}

    def reload(self) -> None:
        with self._database.read() as connection:
            rows = connection.execute(sa.select(db.capabilities)).all()
        known = self._by_key
        self._by_key = {f"{row.quantity}/{row.method}": known.get(f"{row.quantity}/{row.method}") or _load(row)
                        for row in rows}

    def get(self, quantity: str, method: str) -> Capability | None:
        key = f"{quantity}/{method}"
        if key not in self._by_key:
            self.reload()
        return self._by_key.get(key)

    def all(self) -> list[Capability]:
        self.reload()
        return sorted(self._by_key.values(), key=lambda capability: capability.key)
