"""Who is calling: argon2 password hashes checked at login only, then HS256 JWTs with an expiry.

A password is hashed (argon2, slow on purpose) only when a user logs in at
``POST /user_management/authenticate``; every other call carries the signed token, whose check
costs microseconds. An account's tenants and their methods are looked up per call but kept for
:data:`ACCOUNT_SECONDS`, so a change made with the admin CLI reaches a running server within that
time. Users and tenants exist only through the admin CLI (:mod:`.admin`); none is built in.
"""

from __future__ import annotations

import dataclasses
import time

import jwt
import sqlalchemy as sa
from pwdlib import PasswordHash

from . import db

__all__ = ["Account", "AuthError", "Accounts", "hash_password", "issue_token", "verify_password"]

ALGORITHM = "HS256"
#: How long a looked-up account (its read-only flag, tenants and methods) is reused.
ACCOUNT_SECONDS = 2.0
#: Verified tokens remembered per process (forgotten all at once when full).
TOKENS_KEPT = 10_000

_hasher = PasswordHash.recommended()  # argon2id
#: Checked against when the user does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such user")


class AuthError(Exception):
    """Not authenticated (401): missing, malformed, forged or expired token, or a wrong password."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@dataclasses.dataclass(frozen=True)
class Account:
    """A user and the methods (``quantity/method``) each of its tenants serves."""

    user_id: int
    name: str
    read_only: bool
    tenants: dict[str, frozenset[str]]

    def owns(self, tenant_uuid: str) -> bool:
        return tenant_uuid in self.tenants

    def tenant_serving(self, keys: list[str], tenant_uuid: str | None = None) -> str | None:
        """The first of this account's tenants (or ``tenant_uuid`` only) registered for one of ``keys``."""
        for uuid, methods in self.tenants.items():
            if (tenant_uuid is None or uuid == tenant_uuid) and not methods.isdisjoint(keys):
                return uuid
        return None


def issue_token(name: str, secret: str, seconds: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": name, "iat": now, "exp": now + seconds}, secret, algorithm=ALGORITHM)


class Accounts:
    """Logins and token checks against the users and tenants of one database."""

    def __init__(self, database: db.Database, secret: str, token_seconds: int):
        self._database = database
        self._secret = secret
        self._token_seconds = token_seconds
        self._cache: dict[str, tuple[float, Account | None]] = {}
        self._tokens: dict[str, tuple[str, float]] = {}

    def login(self, name: str, password: str) -> str:
        """A new access token for a correct name and password; :class:`AuthError` otherwise."""
        with self._database.read() as connection:
            row = connection.execute(sa.select(db.users.c.password_hash).where(db.users.c.name == name)).first()
        if not verify_password(password, row.password_hash if row else _DUMMY_HASH) or row is None:
            raise AuthError("incorrect username or password")
        return issue_token(name, self._secret, self._token_seconds)

    def from_token(self, token: str) -> Account:
        name, expiry = self._verified(token)
        if time.time() >= expiry:
            raise AuthError("token expired: log in again")
        account = self._account(name)
        if account is None:
            raise AuthError("the token's user no longer exists")
        return account

    def _verified(self, token: str) -> tuple[str, float]:
        """The signature is checked once per token and process (a client sends the same token every call);
        the expiry is checked on every call by :meth:`from_token`."""
        known = self._tokens.get(token)
        if known is not None:
            return known
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired: log in again") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        if len(self._tokens) >= TOKENS_KEPT:
            self._tokens.clear()
        self._tokens[token] = verified = (str(claims["sub"]), float(claims["exp"]))
        return verified

    def _account(self, name: str) -> Account | None:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < ACCOUNT_SECONDS:
            return cached[1]
        account = self._lookup(name)
        self._cache[name] = (now, account)
        return account

    def _lookup(self, name: str) -> Account | None:
        with self._database.read() as connection:
            user = connection.execute(sa.select(db.users.c.id, db.users.c.read_only)
                                      .where(db.users.c.name == name)).first()
            if user is None:
                return None
            rows = connection.execute(
                sa.select(db.tenants.c.uuid, db.capabilities.c.quantity, db.capabilities.c.method)
                .select_from(db.tenants.outerjoin(db.tenant_methods).outerjoin(db.capabilities))
                .where(db.tenants.c.user_id == user.id)).all()
        tenants: dict[str, set[str]] = {}
        for row in rows:
            methods = tenants.setdefault(row.uuid, set())
            if row.quantity is not None:
                methods.add(f"{row.quantity}/{row.method}")
        return Account(user.id, name, bool(user.read_only), {uuid: frozenset(m) for uuid, m in tenants.items()})
