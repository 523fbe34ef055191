"""What the administrator does (``bigmap-al broker user|capability|tenant add``): the only way in.

No user, tenant or password is built into the broker. A new database gets its tables and the
capabilities of the older FINALES endpoint (``measurement/experiment``, ``measurement/simulation``,
``measurement/test``: a FINALES ``Measurement`` as parameters and as result data), so that tenants
can be registered for those too.
"""

from __future__ import annotations

import json
import pathlib
import time
import uuid as uuidlib
from typing import Any

import sqlalchemy as sa

from ..schemas import Measurement
from . import db
from .auth import hash_password
from .capabilities import CapabilityError, register

__all__ = ["AdminError", "LEGACY_QUANTITY", "add_capability", "add_tenant", "add_user", "open_database"]

#: The quantity of requests made by ``POST /api/broker/post/measurement``; its methods are the origins.
LEGACY_QUANTITY = "measurement"
LEGACY_METHODS = ("experiment", "simulation", "test")


class AdminError(ValueError):
    """A refused admin command; the message names what is wrong."""


def open_database(url: str, background_checkpoints: bool = False) -> db.Database:
    """The broker database at ``url``, with its tables and the legacy capabilities (made if missing);
    ``background_checkpoints`` for a server (see :class:`~.db.Database`)."""
    database = db.Database(url, background_checkpoints)
    database.create_tables()
    schema = Measurement.model_json_schema()
    with database.read() as connection:
        known = {m for (m,) in connection.execute(sa.select(db.capabilities.c.method).where(
            db.capabilities.c.quantity == LEGACY_QUANTITY))}
    for method in LEGACY_METHODS:
        if method not in known:
            try:
                register(database, {"quantity": LEGACY_QUANTITY, "method": method, "json_schema_specifications": schema,
                                    "json_schema_result_output": schema, "is_active": True}, strict_results=True)
            except (CapabilityError, sa.exc.IntegrityError):
                pass  # another process registered it meanwhile
    return database


def add_user(database: db.Database, name: str, password: str, read_only: bool = False) -> None:
    if not name.strip():
        raise AdminError("a user name must not be empty")
    if len(password) < 8:
        raise AdminError("a password needs at least 8 characters")
    with database.write() as connection:
        if connection.execute(sa.select(db.users.c.id).where(db.users.c.name == name)).first():
            raise AdminError(f"user {name!r} exists already")
        connection.execute(db.users.insert().values(name=name, password_hash=hash_password(password),
                                                    read_only=read_only, ctime=time.time()))


def add_capability(database: db.Database, path: str | pathlib.Path, strict_results: bool = False) -> str:
    """Register the FINALES2 capability file at ``path`` unchanged; returns ``quantity/method``.

    ``strict_results``: refuse results whose data do not fit the result schema (see :mod:`.capabilities`).
    """
    try:
        document = json.loads(pathlib.Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise AdminError(f"{path}: {error}") from None
    try:
        register(database, document, strict_results)
    except CapabilityError as error:
        raise AdminError(f"{path}: {error}") from None
    return f"{document['quantity']}/{document['method']}"


def add_tenant(database: db.Database, name: str, user: str, methods: list[str],
               limitations: list[dict[str, Any]] | None = None, contact_person: str = "") -> str:
    """Register a tenant of ``user`` serving ``methods`` (each ``quantity/method``); returns its UUID."""
    if not methods:
        raise AdminError("give at least one --method QUANTITY/METHOD")
    new_uuid = str(uuidlib.uuid4())
    cap = db.capabilities.c
    with database.write() as connection:
        user_id = connection.execute(sa.select(db.users.c.id).where(db.users.c.name == user)).scalar()
        if user_id is None:
            raise AdminError(f"no user {user!r}: add it first with `bigmap-al broker user add {user}`")
        if connection.execute(sa.select(db.tenants.c.id).where(db.tenants.c.name == name)).first():
            raise AdminError(f"tenant {name!r} exists already")
        capability_ids = []
        for key in dict.fromkeys(methods):
            quantity, _, method = key.partition("/")
            found = connection.execute(sa.select(cap.id).where(cap.quantity == quantity, cap.method == method)).scalar()
            if found is None:
                raise AdminError(f"no capability {key!r}: register it with `bigmap-al broker capability add FILE`")
            capability_ids.append(found)
        tenant_id = connection.execute(db.tenants.insert().values(
            uuid=new_uuid, name=name, user_id=user_id, limitations=json.dumps(limitations or []),
            contact_person=contact_person, ctime=time.time())).inserted_primary_key[0]
        connection.execute(db.tenant_methods.insert(),
                           [{"tenant_id": tenant_id, "capability_id": c} for c in capability_ids])
    return new_uuid
