"""Cookie options and the per-session cookie.

:class:`CookieOptions` is the validated form of the middleware's ``cookie``
option. Each new session copies it into a :class:`SessionCookie`, resolving the
``"auto"`` values against the request; the cookie is stored with the session,
so a loaded session keeps its own attributes. All durations are in seconds.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, cast
from urllib.parse import unquote

from werkzeug.http import dump_cookie

from .record import format_js_date, parse_js_date

SameSite = Literal["lax", "strict", "none"]
Priority = Literal["low", "medium", "high"]

_SAMESITE_VALUES = ("lax", "strict", "none", "auto")
_PRIORITY_VALUES = ("low", "medium", "high")
# Characters that would break out of a Set-Cookie attribute.
_UNSAFE_ATTRIBUTE = re.compile(r"[\x00-\x20;\x7f]")
# A path is compared with the request path as it is, so it must be plain ASCII
# (Node's cookie package refuses anything else too).
_UNSAFE_PATH = re.compile(r"[^\x21-\x7e]|;")
# Express users reach for the camelCase names; say what to use instead.
_EXPRESS_NAMES = {
    "maxAge": "max_age",
    "httpOnly": "httponly",
    "sameSite": "samesite",
}

Seconds = int | float | timedelta


def _utc(value: datetime) -> datetime:
    # A naive datetime is taken as UTC, as werkzeug does.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return _in_range(name, value.total_seconds())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"cookie option {name!r} must be seconds (int, float or timedelta) or"
            f" None, not {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(f"cookie option {name!r} must be a finite number of seconds")
    return _in_range(name, float(value))


# The Unix times a datetime can hold (a day inside, for time zones). Checked
# on every loaded session, so by comparison rather than by building a date.
_EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc).timestamp()
_LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp()


def _in_range(name: str, seconds: float) -> float:
    if not _EARLIEST < time.time() + seconds < _LATEST:
        raise ValueError(f"cookie option {name!r} is out of range: {seconds!r} seconds")
    return seconds


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"cookie option {name!r} must be True or False, not {value!r}")
    return value


def _samesite(value: object) -> SameSite | Literal["auto"] | None:
    if value is None or value is False:
        return None
    if value is True:
        return "strict"
    if isinstance(value, str) and value.lower() in _SAMESITE_VALUES:
        return cast("SameSite | Literal['auto']", value.lower())
    raise ValueError(
        "cookie option 'samesite' must be True, False, None, 'lax', 'strict',"
        f" 'none' or 'auto', not {value!r}"
    )


def _priority(value: object) -> Priority | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _PRIORITY_VALUES:
        return cast(Priority, value.lower())
    raise ValueError(
        f"cookie option 'priority' must be None, 'low', 'medium' or 'high', not {value!r}"
    )


def _secure(value: object) -> bool | Literal["auto"]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    raise ValueError(f"cookie option 'secure' must be True, False or 'auto', not {value!r}")


def _attribute(name: str, value: object, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"cookie option {name!r} must be a str, not {type(value).__name__}")
    if not value or _UNSAFE_ATTRIBUTE.search(value):
        raise ValueError(
            f"cookie option {name!r} must be non-empty, without spaces, control"
            f" characters or ';': {value!r}"
        )
    return value


def _domain(value: object) -> str | None:
    domain = _attribute("domain", value, optional=True)
    if domain is not None:
        # What werkzeug's dump_cookie will do with it, so it cannot fail later.
        host = domain.partition(":")[0].lstrip(".")
        try:
            host.encode("idna")
        except UnicodeError:
            host = ""
        if not host:
            raise ValueError(f"cookie option 'domain' is not a valid domain: {domain!r}")
    return domain


def _path(value: object) -> str:
    path = cast(str, _attribute("path", value, optional=False))
    if _UNSAFE_PATH.search(path):
        raise ValueError(f"cookie option 'path' must be printable ASCII without ';': {path!r}")
    if not path.startswith("/"):
        raise ValueError(f"cookie option 'path' must start with '/': {path!r}")
    return path


@dataclasses.dataclass(frozen=True)
class CookieOptions:
    """The validated cookie options given to :class:`SessionMiddleware`.

    Every field has the default of express-session, with durations in
    seconds. Values are checked and normalised when the options are built
    (``max_age`` may be given as a :class:`~datetime.timedelta`, ``samesite``
    as ``True``, names in any case); :meth:`from_mapping` builds them from the
    ``cookie`` option's dict.

    :raises TypeError: for a value of the wrong type.
    :raises ValueError: for a value out of range.
    """

    path: str = "/"
    domain: str | None = None
    httponly: bool = True
    secure: bool | Literal["auto"] = False
    #: Seconds the cookie lives after each request; ``None`` for a cookie that
    #: ends with the browser session.
    max_age: float | None = None
    expires: datetime | None = None
    samesite: SameSite | Literal["auto"] | None = None
    partitioned: bool = False
    priority: Priority | None = None

    def __post_init__(self) -> None:
        expires = self.expires
        if expires is not None and not isinstance(expires, datetime):
            raise TypeError(
                f"cookie option 'expires' must be a datetime or None, not {type(expires).__name__}"
            )
        normalised = {
            "path": _path(self.path),
            "domain": _domain(self.domain),
            "httponly": _flag("httponly", self.httponly),
            "secure": _secure(self.secure),
            "max_age": _seconds("max_age", self.max_age),
            "expires": None if expires is None else _utc(expires),
            "samesite": _samesite(self.samesite),
            "partitioned": _flag("partitioned", self.partitioned),
            "priority": _priority(self.priority),
        }
        for name, value in normalised.items():
            object.__setattr__(self, name, value)

    @functools.cached_property
    def wsgi_path(self) -> str:
        """:attr:`path` as WSGI's ``PATH_INFO`` spells it (percent-decoded,
        UTF-8 bytes as latin-1), for comparing with the request path."""
        return unquote(self.path).encode().decode("latin-1")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> CookieOptions:
        """Validate ``options`` (the ``cookie`` option's dict, or what its
        callable returned) and build the options.

        :raises TypeError: for an unknown key or a value of the wrong type.
        :raises ValueError: for a value out of range.
        """
        if options is None:
            return _DEFAULT_OPTIONS
        if isinstance(options, CookieOptions):
            return options
        if not isinstance(options, Mapping):
            raise TypeError(
                "the 'cookie' option must be a dict, a callable returning a dict,"
                f" or None, not {type(options).__name__}"
            )
        for key in options:
            if key not in _FIELDS:
                hint = _EXPRESS_NAMES.get(key)
                suggestion = f"; did you mean {hint!r}?" if hint else ""
                raise TypeError(f"unknown cookie option {key!r}{suggestion}")
        return cls(**options)


_FIELDS = frozenset(field.name for field in dataclasses.fields(CookieOptions))
_DEFAULT_OPTIONS = CookieOptions()


class SessionCookie:
    """The cookie of one session: its attributes and its expiry.

    A new session's cookie is built from the :class:`CookieOptions`; a loaded
    session's from its stored record. ``max_age`` and ``original_max_age`` are
    seconds; ``expires`` is an aware UTC :class:`~datetime.datetime`.
    """

    __slots__ = (
        "path",
        "domain",
        "httponly",
        "secure",
        "samesite",
        "partitioned",
        "priority",
        "original_max_age",
        "_expires",
    )

    def __init__(
        self,
        *,
        path: str = "/",
        domain: str | None = None,
        httponly: bool = True,
        secure: bool = False,
        samesite: SameSite | None = None,
        partitioned: bool = False,
        priority: Priority | None = None,
        expires: datetime | None = None,
        original_max_age: float | None = None,
    ) -> None:
        self.path = path
        self.domain = domain
        self.httponly = httponly
        self.secure = secure
        self.samesite: SameSite | None = samesite
        self.partitioned = partitioned
        self.priority: Priority | None = priority
        self._expires = None if expires is None else _utc(expires)
        #: The lifetime in seconds the cookie is renewed to on each request
        #: (see :meth:`touch`), or ``None`` for a browser-session cookie.
        self.original_max_age = original_max_age

    def _settings(self) -> tuple[object, ...]:
        # Everything a store keeps of the cookie but its expiry, which moves
        # on every request: what a touch writes besides it.
        return (
            self.original_max_age,
            self.path,
            self.domain,
            self.httponly,
            self.secure,
            self.samesite,
            self.partitioned,
            self.priority,
        )

    @classmethod
    def from_options(cls, options: CookieOptions, *, secure_request: bool) -> SessionCookie:
        """A new session's cookie, with ``"auto"`` resolved for this request."""
        secure = secure_request if options.secure == "auto" else options.secure
        samesite = options.samesite
        if samesite == "auto":
            samesite = "none" if secure_request else "lax"
        cookie = cls(
            path=options.path,
            domain=options.domain,
            httponly=options.httponly,
            secure=bool(secure),
            samesite=samesite,
            partitioned=options.partitioned,
            priority=options.priority,
        )
        if options.max_age is not None:
            cookie.max_age = options.max_age
        elif options.expires is not None:
            cookie.expires = options.expires
        return cookie

    @property
    def expires(self) -> datetime | None:
        """When the cookie expires (aware UTC), or ``None`` for a cookie that
        ends with the browser session. Assigning it also sets
        :attr:`original_max_age` to the time left, as express-session does."""
        return self._expires

    @expires.setter
    def expires(self, value: datetime | None) -> None:
        if value is not None and not isinstance(value, datetime):
            raise TypeError(f"expires must be a datetime or None, not {type(value).__name__}")
        self._expires = None if value is None else _utc(value)
        self.original_max_age = self.max_age

    @property
    def max_age(self) -> float | None:
        """Seconds until the cookie expires, or ``None``. Assigning seconds (or
        a :class:`~datetime.timedelta`) sets :attr:`expires` to now plus that."""
        if self._expires is None:
            return None
        return self._expires.timestamp() - time.time()

    @max_age.setter
    def max_age(self, value: Seconds | None) -> None:
        seconds = _seconds("max_age", value)
        if seconds is None:
            self.expires = None
            return
        self._expires = datetime.fromtimestamp(time.time() + seconds, timezone.utc)
        self.original_max_age = seconds

    def touch(self) -> None:
        """Restart the expiry: ``max_age`` becomes ``original_max_age`` again."""
        if self.original_max_age is None:
            self._expires = None
        else:
            self._expires = datetime.fromtimestamp(
                time.time() + self.original_max_age, timezone.utc
            )

    @property
    def sends_secure(self) -> bool:
        """Whether the Set-Cookie carries ``Secure`` (``Partitioned`` implies it,
        as browsers require)."""
        return self.secure or self.partitioned

    def to_header(self, name: str, value: str) -> str:
        """The Set-Cookie header value for this cookie carrying ``value``."""
        header = dump_cookie(
            name,
            value,
            expires=self._expires,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.httponly,
            samesite=self.samesite,
            partitioned=self.partitioned,
        )
        if self.priority is not None:
            header += f"; Priority={self.priority.title()}"
        return header

    def to_clearing_header(self, name: str) -> str:
        """A Set-Cookie header value that removes this cookie from the browser:
        an empty value, expired, with the same name, path and domain."""
        return dump_cookie(
            name,
            "",
            expires=0,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.httponly,
            samesite=self.samesite,
            partitioned=self.partitioned,
        )

    def to_json(self) -> dict[str, Any]:
        """The cookie in express-session's JSON shape (milliseconds, ISO date)."""
        data: dict[str, Any] = {
            "originalMaxAge": (
                None if self.original_max_age is None else round(self.original_max_age * 1000)
            )
        }
        if self.partitioned:
            data["partitioned"] = True
        if self.priority is not None:
            data["priority"] = self.priority
        data["expires"] = None if self._expires is None else format_js_date(self._expires)
        if self.secure:
            data["secure"] = True
        data["httpOnly"] = self.httponly
        if self.domain is not None:
            data["domain"] = self.domain
        data["path"] = self.path
        if self.samesite is not None:
            data["sameSite"] = self.samesite
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionCookie:
        """Rebuild a cookie from its stored JSON (as written by :meth:`to_json`
        or by express-session).

        :raises ValueError: when the JSON is not a cookie.
        """
        original = data.get("originalMaxAge")
        if original is not None and (
            isinstance(original, bool) or not isinstance(original, (int, float))
        ):
            raise ValueError(f"originalMaxAge is not a number: {original!r}")
        expires = data.get("expires")
        if expires is not None and not isinstance(expires, str):
            raise ValueError(f"expires is not a date string: {expires!r}")
        if original is not None:
            original = _in_range("originalMaxAge", original / 1000) * 1000
        path = data.get("path") or "/"
        domain = data.get("domain") or None
        if not isinstance(path, str) or not (domain is None or isinstance(domain, str)):
            raise ValueError("path and domain must be strings")
        secure = bool(data.get("secure", False))
        samesite = _samesite(data.get("sameSite"))
        if samesite == "auto":
            samesite = "none" if secure else "lax"
        priority = data.get("priority")
        return cls(
            path=path,
            domain=domain,
            httponly=bool(data.get("httpOnly", True)),
            # express-session stores secure: "auto" when it came from a
            # cookie function; it then acts as true.
            secure=secure,
            samesite=samesite,
            partitioned=bool(data.get("partitioned", False)),
            priority=_priority(priority.lower() if isinstance(priority, str) else priority),
            expires=None if expires is None else parse_js_date(expires),
            original_max_age=None if original is None else original / 1000,
        )

    def __repr__(self) -> str:
        return f"<SessionCookie path={self.path!r} expires={self._expires!r}>"


def path_matches(cookie_path: str, request_path: str) -> bool:
    """Whether ``request_path`` is inside ``cookie_path`` (RFC 6265 §5.1.4):
    equal, or a prefix that ends in ``/`` or is followed by ``/``. Unlike
    express-session's plain prefix test, ``/foo`` does not match ``/foobar``."""
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
