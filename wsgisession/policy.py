"""When a session is saved, touched, destroyed and sent: express-session's
decision logic (SPEC §6) over plain values, with no WSGI in sight.

The middleware takes a :class:`SessionState` when the response headers go
out (for the cookie) and again at the end of the response (for the store),
and asks :func:`cookie_action` and :func:`store_action` what to do.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal

Unset = Literal["keep", "destroy"]


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """The middleware options the decisions depend on."""

    resave: bool
    rolling: bool
    save_uninitialized: bool
    unset: Unset


@dataclasses.dataclass(frozen=True)
class SessionState:
    """One request's session, as the decisions see it.

    Data is compared in its serialised form, as express-session compares a
    hash of the JSON, so nested changes count.
    """

    #: The id the request's cookie carried, verified; ``None`` without one.
    cookie_id: str | None
    #: The id and serialised data the session had when loaded or generated.
    original_id: str
    original_data: str
    #: The id and data last written to the store (or counted as written:
    #: a loaded session with ``resave=False``); ``None`` when never written.
    saved: tuple[str, str] | None
    #: The session's id and serialised data now.
    id: str
    data: str
    #: Whether the session's cookie has an expiry (not a browser-session
    #: cookie), or had one when loaded (so the browser holds one to replace).
    has_expiry: bool
    #: ``"present"`` while the application has the session; ``"unset"`` when
    #: it set ``environ["wsgisession"]`` to ``None`` or deleted it;
    #: ``"destroyed"`` after :meth:`Session.destroy`.
    presence: Literal["present", "unset", "destroyed"] = "present"


class StoreAction(enum.Enum):
    """What the end of a request does to the store."""

    NOTHING = "nothing"
    SAVE = "save"
    TOUCH = "touch"
    DESTROY = "destroy"


class CookieAction(enum.Enum):
    """What the response does to the browser's session cookie."""

    NOTHING = "nothing"
    SET = "set"
    CLEAR = "clear"


def is_new(state: SessionState) -> bool:
    """The request did not carry this session's id (no cookie, a bad one, an
    unknown or expired id, or the session was regenerated)."""
    return state.id != state.cookie_id


def is_modified(state: SessionState) -> bool:
    """The id or the data differ from what was loaded or generated."""
    return state.id != state.original_id or state.data != state.original_data


def is_saved(state: SessionState) -> bool:
    """The store already holds the session as it is now."""
    return state.saved == (state.id, state.data)


def should_save(state: SessionState, lifecycle: Lifecycle) -> bool:
    """Write the session: it is not saved as it is, unless it is new and
    unmodified and ``save_uninitialized`` is off."""
    if state.presence != "present":
        return False
    if is_new(state) and not lifecycle.save_uninitialized and state.saved is None:
        return is_modified(state)
    return not is_saved(state)


def should_touch(state: SessionState, lifecycle: Lifecycle) -> bool:
    """Extend the stored session's expiry: it was loaded and is not saved."""
    return state.presence == "present" and not is_new(state) and not should_save(state, lifecycle)


def should_destroy(state: SessionState, lifecycle: Lifecycle) -> bool:
    """Delete the stored session: the application unset it under ``unset="destroy"``."""
    return state.presence == "unset" and lifecycle.unset == "destroy"


def should_set_cookie(state: SessionState, lifecycle: Lifecycle) -> bool:
    """Send the cookie: a new id worth keeping, or the same id with ``rolling``
    or with an expiry that a modification renews."""
    if state.presence != "present":
        return False
    if is_new(state):
        return lifecycle.save_uninitialized or is_modified(state)
    return lifecycle.rolling or (state.has_expiry and is_modified(state))


def should_clear_cookie(state: SessionState, lifecycle: Lifecycle, *, cookie_sent: bool) -> bool:
    """Remove the browser's cookie: the session was destroyed and the browser
    holds a cookie of that name."""
    ended = state.presence == "destroyed" or should_destroy(state, lifecycle)
    return ended and cookie_sent


def store_action(state: SessionState, lifecycle: Lifecycle) -> StoreAction:
    """What to do to the store at the end of the request."""
    if should_destroy(state, lifecycle):
        return StoreAction.DESTROY
    if should_save(state, lifecycle):
        return StoreAction.SAVE
    if should_touch(state, lifecycle):
        return StoreAction.TOUCH
    return StoreAction.NOTHING


def cookie_action(
    state: SessionState,
    lifecycle: Lifecycle,
    *,
    cookie_sent: bool,
    secure_cookie: bool,
    secure_request: bool,
) -> CookieAction:
    """What to do to the browser's cookie when the headers go out.

    A secure cookie is never sent over an insecure request, neither to set it
    nor to clear it (the browser would ignore it).
    """
    if secure_cookie and not secure_request:
        return CookieAction.NOTHING
    if should_set_cookie(state, lifecycle):
        return CookieAction.SET
    if should_clear_cookie(state, lifecycle, cookie_sent=cookie_sent):
        return CookieAction.CLEAR
    return CookieAction.NOTHING
