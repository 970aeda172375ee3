"""The stored record: a session's data plus its cookie, in express-session's
JSON shape, and the date format that shape uses.

A record is the dict handed to :meth:`Store.set`::

    {"cookie": {"originalMaxAge": 3600000, "expires": "2030-01-01T00:00:00.000Z",
                "httpOnly": true, "path": "/"},
     "views": 3}

``originalMaxAge`` is in milliseconds and ``expires`` an ISO-8601 UTC string
with milliseconds, as JavaScript's ``Date.prototype.toJSON`` writes it, so
sessions are shared with Node applications that use the same store.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

#: The record key that holds the cookie; users may not set it.
COOKIE_KEY = "cookie"

Record = dict[str, Any]


def format_js_date(value: datetime) -> str:
    """Write ``value`` as JavaScript's ``Date.toJSON`` does:
    ``2030-01-01T00:00:00.000Z``."""
    # A naive datetime is taken as UTC, as everywhere in wsgisession.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    elif value.utcoffset():
        value = value.astimezone(timezone.utc)
    # isoformat truncates to milliseconds, as a JavaScript Date holds them.
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def parse_js_date(value: str) -> datetime:
    """Read an ISO-8601 date as JavaScript writes it, as an aware UTC datetime.

    :raises ValueError: when ``value`` is not an ISO-8601 date.
    """
    if len(value) == 24 and value[23] == "Z":
        # Date.toJSON's own form, the one stores hold: no offset to apply.
        return datetime.fromisoformat(value[:23]).replace(tzinfo=timezone.utc)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError as error:
        raise ValueError(f"date out of range: {value!r}") from error


def record_expiry(record: Record) -> float | None:
    """The Unix time at which ``record`` expires, or ``None`` when its cookie
    has no expiry (a browser-session cookie) or the record has no cookie.

    Stores use this to honour expiry. An unreadable ``expires`` counts as
    already expired, so a corrupt record is never served.
    """
    cookie = record.get(COOKIE_KEY)
    if not isinstance(cookie, dict):
        return None
    expires = cookie.get("expires")
    if expires is None:
        return None
    if isinstance(expires, str):
        try:
            return parse_js_date(expires).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def is_expired(record: Record, now: float | None = None) -> bool:
    """Whether ``record``'s cookie expiry has passed."""
    expiry = record_expiry(record)
    if expiry is None:
        return False
    return expiry <= (time.time() if now is None else now)


def record_lifetime(record: Record) -> float | None:
    """The seconds a touch gives ``record`` from now: its cookie's
    ``originalMaxAge``, or ``None`` when it has none (a browser-session
    cookie, or no cookie)."""
    cookie = record.get(COOKIE_KEY)
    max_age = cookie.get("originalMaxAge") if isinstance(cookie, dict) else None
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
        return None
    return max_age / 1000


def restart_expiry(record: Record, *, now: float) -> Record:
    """``record`` as a touch at ``now`` leaves it: a copy whose cookie
    expires its ``originalMaxAge`` milliseconds after ``now``. A record whose
    cookie has no ``originalMaxAge`` (a browser-session cookie) is returned
    as it is.

    :raises ValueError: when the expiry is beyond the dates Python can hold.
    """
    lifetime = record_lifetime(record)
    if lifetime is None:
        return record
    try:
        expires = datetime.fromtimestamp(now + lifetime, timezone.utc)
    except (OverflowError, OSError) as error:
        raise ValueError(f"originalMaxAge out of range: {lifetime * 1000!r}") from error
    return {**record, COOKIE_KEY: {**record[COOKIE_KEY], "expires": format_js_date(expires)}}


# One encoder, built once: json.dumps with options builds one per call.
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: object) -> str:
    """Compact JSON, with non-ASCII text kept as it is: how stores write records."""
    return _encoder.encode(value)


def expires_at(record: Record, *, ttl: float, now: float) -> float:
    """When a store lets ``record`` expire: at its cookie's expiry, or ``ttl``
    seconds from ``now`` for a record without one."""
    expiry = record_expiry(record)
    return now + ttl if expiry is None else expiry
