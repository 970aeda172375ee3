"""Server-side sessions for any WSGI application, the way Node's
express-session does them: a signed session-id cookie, the data in a store."""

from __future__ import annotations

from .cookie import CookieOptions, SessionCookie
from .errors import SessionError, StoreError
from .middleware import SessionMiddleware
from .session import Session, get_session
from .stores import MemoryStore, Store

__version__ = "0.1.0.dev0"

__all__ = [
    "CookieOptions",
    "MemoryStore",
    "Session",
    "SessionCookie",
    "SessionError",
    "SessionMiddleware",
    "Store",
    "StoreError",
    "get_session",
]
