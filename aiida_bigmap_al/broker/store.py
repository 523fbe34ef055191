"""What the broker does with requests and results: each operation one short transaction.

The rules of the life cycle live here: a request is ``pending`` until a tenant registered for one of
its methods reserves it (an atomic conditional ``UPDATE``: of two tenants claiming at once exactly
one succeeds, on SQLite and PostgreSQL alike), ``resolved`` when its result is posted, or
``retracted`` by the tenant that asked. A POST that carries an idempotency key is stored with that
key, so a retry returns what the first one created instead of creating it again.

Answers are JSON text assembled from the documents as they are stored (:func:`request_json`),
so a listing costs one query and no document is parsed again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
import uuid as uuidlib
from datetime import datetime, timezone
from typing import Any, Callable

import pydantic_core
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from . import db
from .auth import Account
from .capabilities import CapabilityCache, SchemaError
from .errors import Conflict, Forbidden, Invalid, NotFound, invalid
from .schemas import Request, RequestStatus, Result, ResultStatus

__all__ = ["Store", "fingerprint"]

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_R = db.requests.c
_S = db.results.c

#: Request statuses a tenant may set with update_status (resolved comes with a result).
SETTABLE = {RequestStatus.PENDING, RequestStatus.RESERVED, RequestStatus.RETRACTED}


def _document(value: Any, field: str) -> str:
    """A document as stored; NaN and infinities (which Python's JSON parser lets through) are refused.

    pydantic-core's serializer is several times faster than ``json`` on the documents of a post;
    where its output has ``NaN`` or ``Infinity`` (a number, or only a string holding the word) or it
    cannot serialize, ``json`` decides.
    """
    try:
        text = pydantic_core.to_json(value, inf_nan_mode="constants")
    except pydantic_core.PydanticSerializationError:
        text = b"NaN"
    if b"NaN" in text or b"Infinity" in text:
        try:
            return _dumps(value)
        except ValueError:
            raise invalid(["body", field], "NaN and Infinity are not JSON numbers") from None
    return text.decode()


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@functools.lru_cache(maxsize=4096)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _iso(unix: float) -> str:
    """``datetime.fromtimestamp(unix, timezone.utc).isoformat(timespec="microseconds")``, with the same
    rounding (half to even), at a third of its cost: a listing formats 1,000 of these, mostly in few seconds."""
    fraction, whole = math.modf(unix)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    return "%s.%06d+00:00" % (_second(int(whole)), micro)


def _with_metadata(text: str | None) -> str:
    return "" if text is None else f',"metadata":{text}'


#: JSON strings of the few quantities and tenant UUIDs that a listing repeats on every row.
_quoted = functools.lru_cache(maxsize=4096)(_dumps)


def request_json(row) -> str:
    """``{uuid, ctime, status, request}`` of a request row (columns of ``_REQUEST_COLUMNS``), from its stored JSON.

    Positional unpacking and ``%`` formatting: listing 1,000 requests is 1,000 of these calls.
    """
    _, uuid, ctime, status, quantity, methods, parameters, metadata, tenant_uuid, _ = row
    return '{"uuid":"%s","ctime":"%s","status":"%s","request":{"quantity":%s,"methods":%s,"parameters":%s,' \
           '"tenant_uuid":%s%s}}' % (uuid, _iso(ctime), status, _quoted(quantity), methods, parameters,
                                    _quoted(tenant_uuid), "" if metadata is None else ',"metadata":' + metadata)


def result_json(row, request_uuid: str) -> str:
    """``{uuid, ctime, status, result}`` of a result row, and ``status_message`` if it has one."""
    message = "" if row.status_message is None else f',"status_message":{_dumps(row.status_message)}'
    return (f'{{"uuid":{_dumps(row.uuid)},"ctime":"{_iso(row.ctime)}","status":"{row.status}"{message},'
            f'"result":{{"data":{row.data},"quantity":{_dumps(row.quantity)},"method":[{_dumps(row.method)}],'
            f'"parameters":{row.parameters},"tenant_uuid":{_dumps(row.tenant_uuid)},'
            f'"request_uuid":{_dumps(request_uuid)}{_with_metadata(row.metadata)}}}}}')


_REQUEST_COLUMNS = (_R.id, _R.uuid, _R.ctime, _R.status, _R.quantity, _R.methods, _R.parameters,
                    _R["metadata"], _R.tenant_uuid, _R.reserved_by)
_RESULT_COLUMNS = (_S.id, _S.uuid, _S.ctime, _S.status, _S.status_message, _S.quantity, _S.method, _S.parameters,
                   _S.data, _S["metadata"], _S.tenant_uuid, _S.request_id)

# Statements built once: SQLAlchemy then reuses their compiled form and cache key on every call.
_p = sa.bindparam
_INSERT_REQUEST = db.requests.insert().returning(_R.id)
_INSERT_REQUEST_METHOD = db.request_methods.insert()
_INSERT_RESULT = db.results.insert()
_REQUEST_BY_UUID = sa.select(*_REQUEST_COLUMNS).where(_R.uuid == _p("uuid"))
_REQUEST_STATUS = sa.select(_R.status).where(_R.id == _p("id"))
_SET_REQUEST_STATUS = (db.requests.update().where(_R.id == _p("row"), _R.status.in_(_p("allowed", expanding=True)))
                       .values(status=_p("new"), status_message=_p("message"), reserved_by=_p("tenant"),
                               mtime=_p("now")))
_RESOLVE_REQUEST = (db.requests.update().where(_R.id == _p("row"), _R.status == _p("current"))
                    .values(status=_p("new"), status_message=_p("message"), reserved_by=_p("tenant"), mtime=_p("now")))
_ORIGINAL_RESULTS = sa.select(sa.func.count()).where(_S.request_id == _p("id"),
                                                     _S.status == ResultStatus.ORIGINAL.value)
_RESULT_BY_UUID = (sa.select(*_RESULT_COLUMNS, _R.uuid.label("request_uuid"))
                   .join(db.requests, _R.id == _S.request_id).where(_S.uuid == _p("uuid")))
_CURRENT_RESULT = (sa.select(*_RESULT_COLUMNS)
                   .where(_S.request_id == _p("id"), _S.status == ResultStatus.ORIGINAL.value)
                   .order_by(_S.id.desc()).limit(1))
_IDEM = db.idempotency.c
_IDEMPOTENT = sa.select(_IDEM.fingerprint, _IDEM.uuid).where(_IDEM.user_id == _p("user"), _IDEM.key == _p("key"))
_INSERT_IDEMPOTENT = db.idempotency.insert()


@functools.cache
def _pending_query(by_quantity: bool, by_method: bool, after: bool) -> sa.Select:
    """The listing of pending requests with the filters given: one statement per combination, made once."""
    query = sa.select(*_REQUEST_COLUMNS).where(_R.status == RequestStatus.PENDING.value)
    if by_quantity:
        query = query.where(_R.quantity == _p("quantity"))
    if by_method:
        rm = db.request_methods.c
        query = query.where(sa.exists().where(rm.request_id == _R.id, rm.method == _p("method")))
    if after:
        query = query.where(_R.id > sa.select(_R.id).where(_R.uuid == _p("after")).scalar_subquery())
    return query.order_by(_R.id).limit(_p("limit"))


class Store:
    """Requests, results, capabilities and tenants of one broker database."""

    def __init__(self, database: db.Database, capabilities: CapabilityCache):
        self.db = database
        self.capabilities = capabilities

    async def run(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Call an operation from the event loop: inline on SQLite (a local call of microseconds, and one
        writer per process), in a worker thread on PostgreSQL (network round trips and a synced commit,
        during which the process serves other calls)."""
        if self.db.is_sqlite:
            return operation(*args)
        return await run_in_threadpool(operation, *args)

    # --- checks ---------------------------------------------------------------------------------

    def _capability(self, quantity: str, method: str, loc: list):
        capability = self.capabilities.get(quantity, method)
        if capability is None:
            raise invalid(loc, f"no capability {quantity}/{method} is registered (GET /capabilities/)")
        if not capability.is_active:
            raise invalid(loc, f"capability {quantity}/{method} is not active")
        return capability

    def _check_parameters(self, quantity: str, methods: list[str], parameters: dict, methods_loc: str) -> None:
        """Each method's parameters against its capability; all offending fields in one 422."""
        loc = "parameters"
        extra = sorted(set(parameters) - set(methods))
        if extra:
            raise invalid(["body", loc, extra[0]],
                          f"parameters for {extra[0]!r}, which is not among the methods {methods}")
        errors = []
        for index, method in enumerate(methods):
            capability = self._capability(quantity, method, ["body", methods_loc, index])
            if method not in parameters:
                errors.append({"loc": ["body", loc, method], "msg": f"no parameters for method {method!r}",
                               "type": "missing"})
                continue
            try:
                capability.check_parameters(parameters[method], ("body", loc, method))
            except SchemaError as error:
                errors.extend(error.errors)
        if errors:
            raise Invalid(errors)

    @staticmethod
    def _writer(account: Account) -> None:
        if account.read_only:
            raise Forbidden(f"account {account.name!r} is read-only")

    @staticmethod
    def _own_tenant(account: Account, tenant_uuid: str) -> None:
        if not account.owns(tenant_uuid):
            raise Forbidden(f"tenant {tenant_uuid!r} is not a tenant of account {account.name!r}")

    # --- idempotent creation ----------------------------------------------------------------------

    def _create(self, account: Account, key: str | None, body_hash: str,
                insert: Callable[[db.FastTransaction], str]) -> str:
        """Run ``insert`` in one transaction, once per idempotency ``key`` of this account."""
        which = {"user": account.user_id, "key": key}
        try:
            with self.db.fast_write() as connection:
                if key is not None:
                    done = connection.execute(_IDEMPOTENT, which).first()
                    if done is not None:
                        return _replay(done, body_hash, key)
                new_uuid = insert(connection)
                if key is not None:
                    connection.execute(_INSERT_IDEMPOTENT, {"user_id": account.user_id, "key": key,
                                                            "fingerprint": body_hash, "uuid": new_uuid,
                                                            "ctime": time.time()})
                return new_uuid
        except sa.exc.IntegrityError:
            if key is None:
                raise
            with self.db.read() as connection:  # a concurrent retry with the same key won the race
                done = connection.execute(_IDEMPOTENT, which).first()
            if done is None:
                raise
            return _replay(done, body_hash, key)

    # --- requests ---------------------------------------------------------------------------------

    def check_request(self, account: Account, body: Request) -> None:
        self._writer(account)
        self._own_tenant(account, body.tenant_uuid)
        self._check_parameters(body.quantity, body.methods, body.parameters, "methods")

    def create_request(self, account: Account, body: Request, key: str | None = None, body_hash: str = "") -> str:
        """Store a new pending request (after :meth:`check_request`); returns its UUID."""
        self.check_request(account, body)
        return self._create(account, key, body_hash, lambda c: self._insert_request(c, body, RequestStatus.PENDING))

    @staticmethod
    def _insert_request(connection: db.FastTransaction, body: Request, status: RequestStatus,
                        message: str | None = None, reserved_by: str | None = None) -> str:
        now = time.time()
        new_uuid = str(uuidlib.uuid4())
        methods = list(dict.fromkeys(body.methods))
        inserted = connection.execute(_INSERT_REQUEST, {
            "uuid": new_uuid, "quantity": body.quantity, "methods": _dumps(methods),
            "parameters": _document(body.parameters, "parameters"),
            "metadata": None if body.metadata is None else _document(body.metadata, "metadata"),
            "tenant_uuid": body.tenant_uuid, "status": status.value, "status_message": message,
            "reserved_by": reserved_by, "ctime": now, "mtime": now})
        request_id = inserted.scalar_one()
        connection.execute(_INSERT_REQUEST_METHOD, [{"request_id": request_id, "method": m} for m in methods])
        return new_uuid

    def _request_row(self, connection: sa.Connection | db.FastTransaction, request_uuid: str):
        row = connection.execute(_REQUEST_BY_UUID, {"uuid": request_uuid}).first()
        if row is None:
            raise NotFound(f"no request {request_uuid!r}")
        return row

    def get_request(self, request_uuid: str) -> str:
        """The request as listed, and the tenant holding or having resolved it (how a restarted tenant
        knows whether a reservation it made before a crash is its own)."""
        with self.db.read() as connection:
            row = self._request_row(connection, request_uuid)
        return request_json(row)[:-1] + ',"reserved_by":%s}' % _dumps(row.reserved_by)

    def pending(self, quantity: str | None = None, method: str | None = None, limit: int = 1000,
                after: str | None = None) -> str:
        """The pending requests (oldest first, at most ``limit``), as a JSON list; one query."""
        given = {key: value for key, value in (("quantity", quantity), ("method", method), ("after", after))
                 if value is not None}
        query = _pending_query("quantity" in given, "method" in given, "after" in given)
        with self.db.fast_read() as connection:
            rows = connection.execute(query, {"limit": limit, **given}).all()
        return "[" + ",".join(map(request_json, rows)) + "]"

    def update_request_status(self, account: Account, request_uuid: str, new_status: RequestStatus,
                              message: str | None = None) -> str:
        """Reserve (claim), release or retract a request; the change is atomic."""
        self._writer(account)
        if new_status not in SETTABLE:
            raise invalid(["query", "new_status"], "a request is resolved by posting its result, not by update_status")
        with self.db.write() as connection:
            row = self._request_row(connection, request_uuid)
            keys = [f"{row.quantity}/{m}" for m in json.loads(row.methods)]
            tenant = row.reserved_by
            if new_status is RequestStatus.RESERVED:
                tenant = account.tenant_serving(keys)
                if tenant is None:
                    raise Forbidden(f"none of account {account.name!r}'s tenants is registered for {keys}")
                allowed = [RequestStatus.PENDING.value]
            elif new_status is RequestStatus.PENDING:  # release: only the tenant that reserved it
                if not account.owns(row.reserved_by or ""):
                    raise Forbidden("only the tenant that reserved a request can release it")
                tenant, allowed = None, [RequestStatus.RESERVED.value]
            else:  # retract: only the tenant that asked
                if not account.owns(row.tenant_uuid):
                    raise Forbidden("only the tenant that posted a request can retract it")
                allowed = [RequestStatus.PENDING.value, RequestStatus.RESERVED.value]
            changed = connection.execute(_SET_REQUEST_STATUS, {
                "row": row.id, "allowed": allowed, "new": new_status.value, "message": message, "tenant": tenant,
                "now": time.time()}).rowcount
            if changed != 1:
                current = connection.execute(_REQUEST_STATUS, {"id": row.id}).scalar_one()
                raise Conflict(f"request {request_uuid} is {current}: it cannot become {new_status.value}")
        return f"request {request_uuid} is {new_status.value}"

    # --- results ----------------------------------------------------------------------------------

    def check_result(self, account: Account, body: Result) -> str | None:
        """Check who posts and what; returns the misfit of data and result schema to record, if any."""
        self._writer(account)
        self._own_tenant(account, body.tenant_uuid)
        method = body.method[0]
        key = f"{body.quantity}/{method}"
        if key not in account.tenants[body.tenant_uuid]:
            raise Forbidden(f"tenant {body.tenant_uuid!r} is not registered for {key}")
        self._check_parameters(body.quantity, [method], body.parameters, "method")
        return self._capability(body.quantity, method, ["body", "method", 0]).check_result(body.data, ("body", "data"))

    def create_result(self, account: Account, body: Result, key: str | None = None, body_hash: str = "") -> str:
        """Store the result of a pending or reserved request, which becomes resolved; returns its UUID."""
        misfit = self.check_result(account, body)
        return self._create(account, key, body_hash, lambda c: self._insert_result(c, body, misfit))

    def create_unsolicited(self, account: Account, body: Result, key: str | None = None, body_hash: str = "") -> str:
        """A result nobody asked for: stored with a new request, resolved at once."""
        misfit = self.check_result(account, body)
        request = Request(quantity=body.quantity, methods=body.method, parameters=body.parameters,
                          tenant_uuid=body.tenant_uuid, metadata=body.metadata)

        def insert(connection):
            request_uuid = self._insert_request(connection, request, RequestStatus.RESOLVED, "unsolicited result",
                                                reserved_by=body.tenant_uuid)
            return self._insert_result(connection, body.model_copy(update={"request_uuid": request_uuid}), misfit,
                                       resolve=False)

        return self._create(account, key, body_hash, insert)

    def _insert_result(self, connection: db.FastTransaction, body: Result, misfit: str | None,
                       resolve: bool = True) -> str:
        row = self._request_row(connection, body.request_uuid)
        method = body.method[0]
        if row.quantity != body.quantity or method not in json.loads(row.methods):
            raise invalid(["body", "method"], f"request {body.request_uuid} asks for {row.quantity} by "
                          f"{json.loads(row.methods)}, not {body.quantity}/{method}")
        now = time.time()
        if resolve:
            self._resolve(connection, row, body.tenant_uuid, now)
        new_uuid = str(uuidlib.uuid4())
        connection.execute(_INSERT_RESULT, {
            "uuid": new_uuid, "request_id": row.id, "quantity": body.quantity, "method": method,
            "parameters": _document(body.parameters, "parameters"), "data": _document(body.data, "data"),
            "metadata": None if body.metadata is None else _document(body.metadata, "metadata"),
            "tenant_uuid": body.tenant_uuid,
            "status": ResultStatus.ORIGINAL.value, "status_message": misfit, "ctime": now, "mtime": now})
        return new_uuid

    @staticmethod
    def _resolve(connection: db.FastTransaction, row, tenant_uuid: str, now: float) -> None:
        """Mark the request resolved, unless another tenant holds it or it is over."""
        status = RequestStatus(row.status)
        if status is RequestStatus.RESERVED and row.reserved_by != tenant_uuid:
            raise Conflict(f"request {row.uuid} is reserved by another tenant")
        if status is RequestStatus.RETRACTED:
            raise Conflict(f"request {row.uuid} was retracted")
        if status is RequestStatus.RESOLVED:
            current = connection.execute(_ORIGINAL_RESULTS, {"id": row.id}).scalar_one()
            if current:
                raise Conflict(f"request {row.uuid} already has a result: mark it amended or deleted first")
            return
        changed = connection.execute(_RESOLVE_REQUEST, {
            "row": row.id, "current": row.status, "new": RequestStatus.RESOLVED.value, "message": "result posted",
            "tenant": tenant_uuid, "now": now}).rowcount
        if changed != 1:
            raise Conflict(f"request {row.uuid} changed meanwhile; try again")

    def get_result(self, result_uuid: str) -> str:
        with self.db.read() as connection:
            row = connection.execute(_RESULT_BY_UUID, {"uuid": result_uuid}).first()
        if row is None:
            raise NotFound(f"no result {result_uuid!r}")
        return result_json(row, row.request_uuid)

    def result_for_request(self, request_uuid: str) -> str:
        """The request's current (``original``) result, or ``null`` while it has none."""
        with self.db.read() as connection:
            request = self._request_row(connection, request_uuid)
            row = connection.execute(_CURRENT_RESULT, {"id": request.id}).first()
        return "null" if row is None else result_json(row, request_uuid)

    def update_result_status(self, account: Account, result_uuid: str, new_status: ResultStatus,
                             message: str | None = None) -> str:
        """Mark a result amended or deleted (by the tenant that posted it); its request may then get a new one."""
        self._writer(account)
        if new_status is ResultStatus.ORIGINAL:
            raise invalid(["query", "new_status"], "'original' is the status of a result when it is posted")
        with self.db.write() as connection:
            row = connection.execute(sa.select(_S.id, _S.tenant_uuid, _S.status).where(_S.uuid == result_uuid)).first()
            if row is None:
                raise NotFound(f"no result {result_uuid!r}")
            if not account.owns(row.tenant_uuid):
                raise Forbidden("only the tenant that posted a result can change its status")
            if row.status != ResultStatus.ORIGINAL.value:
                raise Conflict(f"result {result_uuid} is already {row.status}")
            connection.execute(db.results.update().where(_S.id == row.id).values(
                status=new_status.value, status_message=message, mtime=time.time()))
        return f"result {result_uuid} is {new_status.value}"

    # --- directory ----------------------------------------------------------------------------------

    def tenants(self) -> list[dict[str, Any]]:
        t, tm, cap = db.tenants.c, db.tenant_methods.c, db.capabilities.c
        with self.db.read() as connection:
            rows = connection.execute(sa.select(t.uuid, t.name, t.limitations, t.contact_person, cap.quantity,
                                                cap.method)
                                      .select_from(db.tenants.outerjoin(db.tenant_methods).outerjoin(db.capabilities))
                                      .order_by(t.name, cap.quantity, cap.method)).all()
        tenants: dict[str, dict[str, Any]] = {}
        for row in rows:
            tenant = tenants.setdefault(row.uuid, {"uuid": row.uuid, "name": row.name, "methods": [],
                                                   "limitations": json.loads(row.limitations),
                                                   "contact_person": row.contact_person})
            if row.quantity is not None:
                tenant["methods"].append(f"{row.quantity}/{row.method}")
        return list(tenants.values())


def _replay(done, body_hash: str, key: str) -> str:
    if done.fingerprint != body_hash:
        raise invalid(["header", "idempotency-key"], f"idempotency key {key!r} was used before with a different body")
    return done.uuid
