"""The broker's configuration: from the environment, so that every uvicorn worker process reads the same.

``BIGMAP_BROKER_SECRET`` (required, no default: a broker that signs tokens with a known key lets
anyone in), ``BIGMAP_BROKER_DB`` (database URL or SQLite path), ``BIGMAP_BROKER_TOKEN_SECONDS``
(lifetime of an access token) and ``BIGMAP_BROKER_MAX_BODY`` (largest request body in bytes).
"""

from __future__ import annotations

import dataclasses
import os

__all__ = ["ConfigurationError", "Settings"]

SECRET_ENV = "BIGMAP_BROKER_SECRET"
DB_ENV = "BIGMAP_BROKER_DB"
TOKEN_SECONDS_ENV = "BIGMAP_BROKER_TOKEN_SECONDS"
MAX_BODY_ENV = "BIGMAP_BROKER_MAX_BODY"

DEFAULT_DB = "broker.sqlite"
DEFAULT_TOKEN_SECONDS = 8 * 3600
DEFAULT_MAX_BODY = 1024 * 1024


class ConfigurationError(ValueError):
    """The broker cannot start; the message says which setting is wrong."""


@dataclasses.dataclass(frozen=True)
class Settings:
    secret: str
    db: str = DEFAULT_DB
    token_seconds: int = DEFAULT_TOKEN_SECONDS
    max_body: int = DEFAULT_MAX_BODY

    def __post_init__(self):
        if not self.secret:
            raise ConfigurationError(f"set {SECRET_ENV}: the secret that signs access tokens (there is no default)")
        if self.token_seconds <= 0 or self.max_body <= 0:
            raise ConfigurationError("token lifetime and largest body must be positive")

    @classmethod
    def from_env(cls) -> Settings:
        def number(name: str, default: int) -> int:
            try:
                return int(os.environ.get(name, default))
            except ValueError:
                raise ConfigurationError(f"{name} must be an integer, got {os.environ[name]!r}") from None

        return cls(secret=os.environ.get(SECRET_ENV, ""), db=os.environ.get(DB_ENV, DEFAULT_DB),
                   token_seconds=number(TOKEN_SECONDS_ENV, DEFAULT_TOKEN_SECONDS),
                   max_body=number(MAX_BODY_ENV, DEFAULT_MAX_BODY))

    def to_env(self) -> dict[str, str]:
        return {SECRET_ENV: self.secret, DB_ENV: self.db, TOKEN_SECONDS_ENV: str(self.token_seconds),
                MAX_BODY_ENV: str(self.max_body)}
