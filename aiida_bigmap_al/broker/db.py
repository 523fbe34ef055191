"""The broker's tables (SQLAlchemy Core) and its database: SQLite in WAL mode by default, PostgreSQL by URL.

The broker's cost sits in the database, so the tables are shaped for its queries: the columns that
are filtered (a request's status and quantity, the methods it asks for) are indexed, and JSON
documents are stored as text exactly as they are served, so that listing is one query and no
document is parsed again. SQLite runs in WAL mode (readers never wait for the writer) with
``synchronous=NORMAL``: a committed write survives a crash or kill of the server process (only a
power cut can lose the last commits). A write transaction on SQLite starts with ``BEGIN IMMEDIATE``,
so two server processes queue for the write lock instead of failing half-way ("database is locked").
A serving broker checkpoints the WAL in a thread of its own (:meth:`Database.checkpointing`), not in
the commit that happens to fill it: that request would otherwise wait for the checkpoint's writes
and the database file's fsync, tens of milliseconds on a busy disk.

The two hot writes (a new request, a new result) run in :meth:`Database.fast_write`: the same
SQLAlchemy statements, compiled once to the driver's SQL and executed on the driver's connection.
SQLAlchemy's execution layer (pool checkout, events, result objects) cost more CPU than SQLite's
insert and commit themselves: about half of the server's time per posted item.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["Database", "FastTransaction", "metadata", "capabilities", "idempotency", "request_methods", "requests",
           "results", "tenant_methods", "tenants", "users"]

metadata = sa.MetaData()

#: Seconds between two checkpoints of a serving broker's WAL (see :meth:`Database.checkpointing`).
CHECKPOINT_EVERY = 1.0

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False, default=False),
    sa.Column("ctime", sa.Float, nullable=False),
)

capabilities = sa.Table(
    "capabilities", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("quantity", sa.String(200), nullable=False),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # the capability file as registered, unchanged
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    # refuse (422) results whose data do not fit json_schema_result_output, or only record the misfit
    sa.Column("strict_results", sa.Boolean, nullable=False, default=False),
    sa.Column("ctime", sa.Float, nullable=False),
    sa.UniqueConstraint("quantity", "method"),
)

tenants = sa.Table(
    "tenants", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("limitations", sa.Text, nullable=False, default="[]"),
    sa.Column("contact_person", sa.Text, nullable=False, default=""),
    sa.Column("ctime", sa.Float, nullable=False),
)

tenant_methods = sa.Table(
    "tenant_methods", metadata,
    sa.Column("tenant_id", sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("capability_id", sa.ForeignKey("capabilities.id"), primary_key=True),
)

requests = sa.Table(
    "requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(64), nullable=False, unique=True),
    sa.Column("quantity", sa.String(200), nullable=False),
    sa.Column("methods", sa.Text, nullable=False),  # JSON list
    sa.Column("parameters", sa.Text, nullable=False),  # JSON object
    sa.Column("metadata", sa.Text, nullable=True),  # JSON object or NULL
    sa.Column("tenant_uuid", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("reserved_by", sa.String(64), nullable=True),  # tenant uuid
    sa.Column("ctime", sa.Float, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),
    sa.Index("ix_requests_status_quantity", "status", "quantity", "id"),
)

request_methods = sa.Table(
    "request_methods", metadata,
    sa.Column("request_id", sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("method", sa.String(200), primary_key=True),
)

results = sa.Table(
    "results", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(64), nullable=False, unique=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("quantity", sa.String(200), nullable=False),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=True),
    sa.Column("tenant_uuid", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text, nullable=True),
    sa.Column("ctime", sa.Float, nullable=False),
    sa.Column("mtime", sa.Float, nullable=False),
)

idempotency = sa.Table(
    "idempotency", metadata,
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the body
    sa.Column("uuid", sa.String(64), nullable=False),  # what the first POST created
    sa.Column("ctime", sa.Float, nullable=False),
)


def normalize_url(url: str) -> str:
    """A bare path is a SQLite file; ``postgresql://`` uses psycopg 3 (the driver installed with AiiDA)."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """The broker's engine(s): :meth:`read` for queries, :meth:`write` for one atomic transaction."""

    def __init__(self, url: str, background_checkpoints: bool = False):
        """``background_checkpoints``: SQLite's WAL is not checkpointed by the commits of this
        process; :meth:`checkpointing` does it instead (a server)."""
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            autocheckpoint = 0 if background_checkpoints else 1000  # pages; 1000 is SQLite's default
            self._reader = _sqlite_engine(self.url, "BEGIN", autocheckpoint)
            self._writer = _sqlite_engine(self.url, "BEGIN IMMEDIATE", autocheckpoint)
        else:
            # No pre-ping (a round trip per call): after a PostgreSQL restart, the first call on a dead
            # connection fails and SQLAlchemy then drops the whole pool.
            self._reader = self._writer = sa.create_engine(self.url, pool_size=20, max_overflow=20)
        self._dialect = self._writer.dialect
        # (id of statement, parameter names) -> (statement, kept alive; SQL; positional order; literal values)
        self._compiled: dict[tuple, tuple[Any, str, tuple[str, ...] | None, dict[str, Any]]] = {}
        self._local = threading.local()  # SQLite: one driver connection per thread for fast_write
        self._fast_connections: list[Any] = []

    def create_tables(self) -> None:
        """Create what is missing (idempotent; a new broker database needs nothing else)."""
        metadata.create_all(self._writer)

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self._reader.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._writer.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def fast_write(self) -> Iterator[FastTransaction]:
        """:meth:`write` on the driver's connection (see the module docstring): committed when the block
        ends, rolled back if it raises; the driver's errors come as SQLAlchemy's (``IntegrityError``...)."""
        if self.is_sqlite:
            connection = getattr(self._local, "connection", None) or self._sqlite_connection()
            connection.execute("BEGIN IMMEDIATE")
        else:
            connection = self._writer.raw_connection()  # pooled; a transaction begins with the first statement
        try:
            yield FastTransaction(self, connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if not self.is_sqlite:
                connection.close()  # back to the pool

    @contextlib.contextmanager
    def fast_read(self) -> Iterator[FastTransaction]:
        """One query on the driver's connection (SQLite: in its own implicit transaction)."""
        if self.is_sqlite:
            yield FastTransaction(self, getattr(self._local, "connection", None) or self._sqlite_connection())
            return
        connection = self._reader.raw_connection()
        try:
            yield FastTransaction(self, connection)
        finally:
            connection.rollback()
            connection.close()

    def _sqlite_connection(self):
        """This thread's driver connection, with the pragmas of every connection of the engines."""
        proxied = self._writer.raw_connection()  # checked out for the thread's life, closed by dispose()
        self._fast_connections.append(proxied)
        self._local.connection = connection = proxied.driver_connection
        return connection

    def compiled(self, statement, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        """The driver's SQL of ``statement`` for parameters ``keys``, compiled once: statements are module
        constants (a statement built per call would fill this cache), with no expanding ``IN``; also the
        values the statement holds itself, which the driver gets as parameters like the others."""
        found = self._compiled.get((id(statement), keys))
        if found is None:
            compiled = statement.compile(dialect=self._dialect, column_keys=list(keys) or None)
            literals = {name: value for name, value in compiled.construct_params(_check=False).items()
                        if value is not None}  # values written into the statement, such as status == 'original'
            found = self._compiled[(id(statement), keys)] = (statement, str(compiled), compiled.positiontup, literals)
        return found[1:]

    @contextlib.contextmanager
    def checkpointing(self, every: float = CHECKPOINT_EVERY) -> Iterator[None]:
        """While the block runs, checkpoint SQLite's WAL every ``every`` seconds in a thread.

        A passive checkpoint copies committed pages into the database file without taking the
        write lock, so writers go on meanwhile; the driver releases the GIL while it works, so
        the event loop does too. Nothing to do on PostgreSQL.
        """
        if not self.is_sqlite:
            yield
            return
        stop = threading.Event()

        def run() -> None:
            proxied = self._reader.raw_connection()  # in autocommit: no transaction holds a snapshot
            try:
                while not stop.wait(every):
                    proxied.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                proxied.close()

        thread = threading.Thread(target=run, name="broker-wal-checkpoint", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def dispose(self) -> None:
        for proxied in self._fast_connections:
            proxied.close()
        self._fast_connections.clear()
        self._local = threading.local()
        self._reader.dispose()
        if self._writer is not self._reader:
            self._writer.dispose()


@functools.lru_cache(maxsize=64)
def _row_type(names: tuple[str, ...]):
    return collections.namedtuple("Row", names, rename=True)


class FastResult:
    """What the store reads of an executed statement: ``first()``, ``scalar_one()``, ``rowcount``."""

    __slots__ = ("_cursor", "rowcount")

    def __init__(self, cursor):
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    def first(self):
        rows = self._cursor.fetchall()  # to the end: no statement is left running at the commit
        if not rows:
            return None
        return _row_type(tuple(column[0] for column in self._cursor.description))._make(rows[0])

    def all(self) -> list[tuple]:
        return self._cursor.fetchall()

    def scalar_one(self):
        rows = self._cursor.fetchall()
        if len(rows) != 1:
            raise sa.exc.NoResultFound(f"{len(rows)} rows where one was required")
        return rows[0][0]


class FastTransaction:
    """``execute(statement, parameters)`` like a SQLAlchemy connection's, on the driver's connection."""

    __slots__ = ("_database", "_connection")

    def __init__(self, database: Database, connection):
        self._database, self._connection = database, connection

    def execute(self, statement, parameters: dict | list[dict] | None = None) -> FastResult:
        many = isinstance(parameters, list)
        first = (parameters[0] if many else parameters) or {}
        sql, order, literals = self._database.compiled(statement, tuple(first))
        if literals:
            parameters = [{**literals, **p} for p in parameters] if many else {**literals, **first}
            first = parameters[0] if many else parameters
        if order is not None:  # positional (SQLite's qmark)
            parameters = [tuple(p[k] for k in order) for p in parameters] if many else \
                tuple(first[k] for k in order)
        cursor = self._connection.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
        except self._database._dialect.loaded_dbapi.Error as error:
            raise sa.exc.DBAPIError.instance(sql, parameters, error, self._database._dialect.loaded_dbapi.Error,
                                             dialect=self._database._dialect) from error
        return FastResult(cursor)


def _sqlite_engine(url: str, begin: str, autocheckpoint: int) -> sa.Engine:
    """SQLite with WAL, a generous busy timeout and transactions that start with ``begin``; a commit
    checkpoints the WAL once it holds ``autocheckpoint`` pages (0: never)."""
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql(begin)

    return engine
