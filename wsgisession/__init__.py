"""Server-side sessions for any WSGI application, the way Node's
express-session does them: a signed session-id cookie, the data in a store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cookie import CookieOptions, SessionCookie
from .errors import SessionError, StoreError
from .middleware import SessionMiddleware
from .session import Session, get_session
from .stores import MemoryStore, SQLiteStore, Store

if TYPE_CHECKING:
    from .stores import PostgresStore, RedisStore

__version__ = "0.1.0.dev0"

__all__ = [
    "CookieOptions",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "Session",
    "SessionCookie",
    "SessionError",
    "SessionMiddleware",
    "Store",
    "StoreError",
    "get_session",
]


def __getattr__(name: str) -> Any:
    # RedisStore and PostgresStore import their driver only when asked for.
    if name in ("RedisStore", "PostgresStore"):
        from . import stores

        return getattr(stores, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
