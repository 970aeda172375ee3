"""The sans-IO decision logic of SPEC §6 (express-session's ``shouldSave``,
``shouldTouch``, ``shouldSetCookie``, ``shouldDestroy``) as truth tables.

Each session situation is built as the middleware would describe it to
:mod:`wsgisession.policy`: a loaded session under ``resave=False`` counts as
saved as loaded (SPEC §6), a manual ``save()`` records what it wrote, and so on.
The expected values come from the SPEC and from the outcome table of
express-session (reference §1.3), written out row by row. Options a row does
not name are expanded over every value, so each row also shows that the
decision does not depend on them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from wsgisession.policy import (
    CookieAction,
    Lifecycle,
    SessionState,
    StoreAction,
    cookie_action,
    is_modified,
    is_new,
    is_saved,
    should_clear_cookie,
    should_destroy,
    should_save,
    should_set_cookie,
    should_touch,
    store_action,
)

COOKIE_ID = "loaded-id"  # the id the browser's cookie carried
FRESH_ID = "fresh-id"  # an id generated in this request
REGENERATED_ID = "regenerated-id"  # the id regenerate() gave
STALE_ID = "stale-id"  # a validly signed id the store does not know

EMPTY = "{}"
LOADED = '{"views":1}'
CHANGED = '{"views":2}'


# The session situations. Each builder takes the ``resave`` option, which
# decides whether a loaded session starts out counted as saved.


def _loaded_saved(resave: bool) -> tuple[str, str] | None:
    return None if resave else (COOKIE_ID, LOADED)


def _state(**fields: Any) -> SessionState:
    fields.setdefault("has_expiry", True)
    return SessionState(**fields)


def new(resave: bool) -> dict[str, Any]:
    """No cookie: a generated session the app did not touch."""
    return dict(
        cookie_id=None,
        original_id=FRESH_ID,
        original_data=EMPTY,
        saved=None,
        id=FRESH_ID,
        data=EMPTY,
    )


def new_stale(resave: bool) -> dict[str, Any]:
    """A signed cookie whose id the store does not hold: a generated session."""
    return dict(
        cookie_id=STALE_ID,
        original_id=FRESH_ID,
        original_data=EMPTY,
        saved=None,
        id=FRESH_ID,
        data=EMPTY,
    )


def new_modified(resave: bool) -> dict[str, Any]:
    return dict(new(resave), data=CHANGED)


def new_saved(resave: bool) -> dict[str, Any]:
    """A new session the app saved by hand and did not change afterwards."""
    return dict(new(resave), saved=(FRESH_ID, EMPTY))


def new_modified_saved(resave: bool) -> dict[str, Any]:
    """A new session modified, then saved by hand."""
    return dict(new(resave), data=CHANGED, saved=(FRESH_ID, CHANGED))


def new_saved_then_modified(resave: bool) -> dict[str, Any]:
    """A new session saved by hand, then modified."""
    return dict(new(resave), data=CHANGED, saved=(FRESH_ID, EMPTY))


def loaded(resave: bool) -> dict[str, Any]:
    """Loaded from the store and left alone."""
    return dict(
        cookie_id=COOKIE_ID,
        original_id=COOKIE_ID,
        original_data=LOADED,
        saved=_loaded_saved(resave),
        id=COOKIE_ID,
        data=LOADED,
    )


def loaded_modified(resave: bool) -> dict[str, Any]:
    return dict(loaded(resave), data=CHANGED)


def loaded_saved(resave: bool) -> dict[str, Any]:
    """Loaded, modified, saved by hand, unchanged afterwards."""
    return dict(loaded(resave), data=CHANGED, saved=(COOKIE_ID, CHANGED))


def loaded_saved_then_modified(resave: bool) -> dict[str, Any]:
    """Loaded, saved by hand unchanged, then modified."""
    return dict(loaded(resave), data=CHANGED, saved=(COOKIE_ID, LOADED))


def loaded_reverted(resave: bool) -> dict[str, Any]:
    """Loaded, changed and changed back: the data is as loaded."""
    return loaded(resave)


def loaded_reordered(resave: bool) -> dict[str, Any]:
    """Loaded ``{"a":1,"b":2}``, then ``a`` deleted and re-added: the
    serialised data differs (express-session: key order matters)."""
    return dict(
        loaded(resave),
        original_data='{"a":1,"b":2}',
        data='{"b":2,"a":1}',
        saved=None if resave else (COOKIE_ID, '{"a":1,"b":2}'),
    )


def loaded_reloaded(resave: bool) -> dict[str, Any]:
    """Loaded, then reload() picked up another request's write: the data
    differs from what was loaded and equals what the store holds."""
    return dict(loaded(resave), data=CHANGED, saved=(COOKIE_ID, CHANGED))


def regenerated(resave: bool) -> dict[str, Any]:
    """Loaded, then regenerate(): a new id, empty data."""
    return dict(loaded(resave), id=REGENERATED_ID, data=EMPTY)


def regenerated_kept(resave: bool) -> dict[str, Any]:
    """Loaded, then regenerate(keep_data=True): a new id, the same data."""
    return dict(loaded(resave), id=REGENERATED_ID)


def regenerated_saved(resave: bool) -> dict[str, Any]:
    """Regenerated, then saved by hand: the store holds it as it is."""
    return dict(regenerated(resave), saved=(REGENERATED_ID, EMPTY))


def new_regenerated(resave: bool) -> dict[str, Any]:
    """A new session regenerated before the end of its first request."""
    return dict(new(resave), id=REGENERATED_ID)


def loaded_unset(resave: bool) -> dict[str, Any]:
    """Loaded, then the app set ``environ["wsgisession"] = None``."""
    return dict(loaded(resave), presence="unset")


def loaded_modified_unset(resave: bool) -> dict[str, Any]:
    return dict(loaded(resave), data=CHANGED, presence="unset")


def new_unset(resave: bool) -> dict[str, Any]:
    return dict(new(resave), presence="unset")


def loaded_destroyed(resave: bool) -> dict[str, Any]:
    """Loaded, then destroy()."""
    return dict(loaded(resave), presence="destroyed")


def new_destroyed(resave: bool) -> dict[str, Any]:
    return dict(new(resave), presence="destroyed")


SITUATIONS = {
    builder.__name__.replace("_", "-"): builder
    for builder in (
        new,
        new_stale,
        new_modified,
        new_saved,
        new_modified_saved,
        new_saved_then_modified,
        loaded,
        loaded_modified,
        loaded_saved,
        loaded_saved_then_modified,
        loaded_reverted,
        loaded_reordered,
        loaded_reloaded,
        regenerated,
        regenerated_kept,
        regenerated_saved,
        new_regenerated,
        loaded_unset,
        loaded_modified_unset,
        new_unset,
        loaded_destroyed,
        new_destroyed,
    )
}

OPTIONS: dict[str, tuple[Any, ...]] = {
    "resave": (True, False),
    "save_uninitialized": (True, False),
    "rolling": (True, False),
    "unset": ("keep", "destroy"),
}


def build(situation: str, lifecycle: Lifecycle, **overrides: Any) -> SessionState:
    fields = SITUATIONS[situation](lifecycle.resave)
    fields.update(overrides)
    return _state(**fields)


def _short(name: str, value: Any) -> str:
    short = {"resave": "resave", "save_uninitialized": "uninit", "rolling": "rolling"}
    if name == "unset":
        return f"unset={value}"
    return f"{short[name]}={'T' if value else 'F'}"


def expand(rows: list[tuple[Any, ...]]) -> Iterator[Any]:
    """Turn ``(situation, fixed options, *expected)`` rows into one
    ``pytest.param(situation, lifecycle, *expected)`` for every value of the
    options the row leaves free."""
    for situation, fixed, *expected in rows:
        unknown = set(fixed) - set(OPTIONS)
        assert not unknown, unknown
        free = [name for name in OPTIONS if name not in fixed]
        for values in itertools.product(*(OPTIONS[name] for name in free)):
            options = dict(fixed, **dict(zip(free, values, strict=True)))
            lifecycle = Lifecycle(**options)
            label = ",".join(_short(name, options[name]) for name in OPTIONS)
            yield pytest.param(situation, lifecycle, *expected, id=f"{situation}[{label}]")


ANY: dict[str, Any] = {}

ALL_LIFECYCLES = [
    Lifecycle(**dict(zip(OPTIONS, values, strict=True)))
    for values in itertools.product(*OPTIONS.values())
]


# --- is_new / is_modified / is_saved ---------------------------------------


@pytest.mark.parametrize(
    ("situation", "resave", "new_", "modified", "saved"),
    [
        pytest.param("new", True, True, False, False, id="new"),
        pytest.param("new-stale", True, True, False, False, id="unknown-cookie-id"),
        pytest.param("new-modified", True, True, True, False, id="new-modified"),
        pytest.param("new-saved", True, True, False, True, id="new-saved"),
        pytest.param("new-modified-saved", True, True, True, True, id="new-modified-saved"),
        pytest.param(
            "new-saved-then-modified", True, True, True, False, id="new-saved-then-modified"
        ),
        pytest.param("loaded", True, False, False, False, id="loaded-resave"),
        pytest.param("loaded", False, False, False, True, id="loaded-no-resave"),
        pytest.param("loaded-modified", True, False, True, False, id="loaded-modified-resave"),
        pytest.param("loaded-modified", False, False, True, False, id="loaded-modified-no-resave"),
        pytest.param("loaded-saved", True, False, True, True, id="loaded-saved"),
        pytest.param(
            "loaded-saved-then-modified",
            False,
            False,
            True,
            False,
            id="loaded-saved-then-modified",
        ),
        pytest.param("loaded-reverted", False, False, False, True, id="loaded-reverted"),
        pytest.param("loaded-reordered", False, False, True, False, id="loaded-reordered"),
        pytest.param("loaded-reloaded", True, False, True, True, id="loaded-reloaded"),
        pytest.param("regenerated", True, True, True, False, id="regenerated-resave"),
        pytest.param("regenerated", False, True, True, False, id="regenerated-no-resave"),
        pytest.param("regenerated-kept", False, True, True, False, id="regenerated-kept"),
        pytest.param("regenerated-saved", True, True, True, True, id="regenerated-saved"),
        pytest.param("new-regenerated", True, True, True, False, id="new-regenerated"),
    ],
)
def test_basic_predicates(
    situation: str, resave: bool, new_: bool, modified: bool, saved: bool
) -> None:
    lifecycle = Lifecycle(resave=resave, rolling=False, save_uninitialized=True, unset="keep")
    state = build(situation, lifecycle)
    assert is_new(state) is new_
    assert is_modified(state) is modified
    assert is_saved(state) is saved


def test_saved_requires_the_same_id() -> None:
    # The store holding this data under another id is not "saved".
    state = _state(
        cookie_id=COOKIE_ID,
        original_id=COOKIE_ID,
        original_data=LOADED,
        saved=(COOKIE_ID, EMPTY),
        id=REGENERATED_ID,
        data=EMPTY,
    )
    assert not is_saved(state)


def test_modified_ignores_the_cookie() -> None:
    # has_expiry (the cookie) is not data: flipping it is no modification.
    lifecycle = Lifecycle(resave=True, rolling=False, save_uninitialized=True, unset="keep")
    assert not is_modified(build("loaded", lifecycle, has_expiry=False))
    assert not is_modified(build("loaded", lifecycle, has_expiry=True))


# --- should_save --------------------------------------------------------------

SAVE_ROWS: list[tuple[Any, ...]] = [
    # New, unmodified: saved only with save_uninitialized.
    ("new", {"save_uninitialized": True}, True),
    ("new", {"save_uninitialized": False}, False),
    ("new-stale", {"save_uninitialized": True}, True),
    ("new-stale", {"save_uninitialized": False}, False),
    # New, modified: always.
    ("new-modified", ANY, True),
    # Saved by hand and unchanged since: already saved.
    ("new-saved", ANY, False),
    ("new-modified-saved", ANY, False),
    ("new-saved-then-modified", ANY, True),
    # Loaded, unmodified: resave decides.
    ("loaded", {"resave": True}, True),
    ("loaded", {"resave": False}, False),
    ("loaded-reverted", {"resave": True}, True),
    ("loaded-reverted", {"resave": False}, False),
    # Loaded, modified: always.
    ("loaded-modified", ANY, True),
    ("loaded-reordered", ANY, True),
    ("loaded-saved", ANY, False),
    ("loaded-saved-then-modified", ANY, True),
    ("loaded-reloaded", ANY, False),
    # A new id is never saved yet.
    ("regenerated", ANY, True),
    ("regenerated-kept", ANY, True),
    ("new-regenerated", ANY, True),
    # SPEC §6: saved "when it is not yet saved in its current state".
    ("regenerated-saved", ANY, False),
    # Unset or destroyed sessions are never written back.
    ("loaded-unset", ANY, False),
    ("loaded-modified-unset", ANY, False),
    ("new-unset", ANY, False),
    ("loaded-destroyed", ANY, False),
    ("new-destroyed", ANY, False),
]


@pytest.mark.parametrize(("situation", "lifecycle", "expected"), list(expand(SAVE_ROWS)))
def test_should_save(situation: str, lifecycle: Lifecycle, expected: bool) -> None:
    assert should_save(build(situation, lifecycle), lifecycle) is expected


# --- should_touch -------------------------------------------------------------

TOUCH_ROWS: list[tuple[Any, ...]] = [
    # Only a session the browser already holds is touched, and only when not saved.
    ("loaded", {"resave": False}, True),
    ("loaded", {"resave": True}, False),
    ("loaded-reverted", {"resave": False}, True),
    ("loaded-reverted", {"resave": True}, False),
    ("loaded-modified", ANY, False),
    ("loaded-reordered", ANY, False),
    # express: a manual save() then the end of the request touches.
    ("loaded-saved", ANY, True),
    ("loaded-saved-then-modified", ANY, False),
    ("loaded-reloaded", ANY, True),
    ("new", ANY, False),
    ("new-stale", ANY, False),
    ("new-modified", ANY, False),
    ("new-saved", ANY, False),
    ("new-modified-saved", ANY, False),
    ("regenerated", ANY, False),
    ("regenerated-saved", ANY, False),
    ("new-regenerated", ANY, False),
    ("loaded-unset", ANY, False),
    ("loaded-destroyed", ANY, False),
    ("new-unset", ANY, False),
]


@pytest.mark.parametrize(("situation", "lifecycle", "expected"), list(expand(TOUCH_ROWS)))
def test_should_touch(situation: str, lifecycle: Lifecycle, expected: bool) -> None:
    assert should_touch(build(situation, lifecycle), lifecycle) is expected


# --- should_destroy -----------------------------------------------------------

DESTROY_ROWS: list[tuple[Any, ...]] = [
    ("loaded-unset", {"unset": "destroy"}, True),
    ("loaded-unset", {"unset": "keep"}, False),
    ("loaded-modified-unset", {"unset": "destroy"}, True),
    ("loaded-modified-unset", {"unset": "keep"}, False),
    # express destroys even a never-stored id; harmless.
    ("new-unset", {"unset": "destroy"}, True),
    ("new-unset", {"unset": "keep"}, False),
    # destroy() already removed it. (Under unset="destroy" express-session
    # destroys it a second time, harmlessly; that quirk is left unpinned.)
    ("loaded-destroyed", {"unset": "keep"}, False),
    ("new-destroyed", {"unset": "keep"}, False),
    ("loaded", ANY, False),
    ("loaded-modified", ANY, False),
    ("new", ANY, False),
    ("regenerated", ANY, False),
]


@pytest.mark.parametrize(("situation", "lifecycle", "expected"), list(expand(DESTROY_ROWS)))
def test_should_destroy(situation: str, lifecycle: Lifecycle, expected: bool) -> None:
    assert should_destroy(build(situation, lifecycle), lifecycle) is expected


# --- should_set_cookie --------------------------------------------------------

SET_COOKIE_ROWS: list[tuple[Any, ...]] = [
    # New, unmodified: only with save_uninitialized, and rolling does not help.
    ("new", {"save_uninitialized": True}, True, True),
    ("new", {"save_uninitialized": False}, False, False),
    ("new-stale", {"save_uninitialized": True}, True, True),
    ("new-stale", {"save_uninitialized": False}, False, False),
    ("new-modified", ANY, True, True),
    # express quirk: a manual save() of an unmodified new session sends no cookie.
    ("new-saved", {"save_uninitialized": True}, True, True),
    ("new-saved", {"save_uninitialized": False}, False, False),
    ("new-modified-saved", ANY, True, True),
    ("new-saved-then-modified", ANY, True, True),
    # Loaded, unmodified: only rolling.
    ("loaded", {"rolling": True}, True, True),
    ("loaded", {"rolling": False}, False, False),
    ("loaded-reverted", {"rolling": True}, True, True),
    ("loaded-reverted", {"rolling": False}, False, False),
    # Loaded, modified: with an expiry to renew; a browser-session cookie only if rolling.
    ("loaded-modified", {"rolling": True}, True, True),
    ("loaded-modified", {"rolling": False}, True, False),
    ("loaded-reordered", {"rolling": False}, True, False),
    ("loaded-saved", {"rolling": False}, True, False),
    ("loaded-saved", {"rolling": True}, True, True),
    ("loaded-saved-then-modified", {"rolling": False}, True, False),
    ("loaded-reloaded", {"rolling": False}, True, False),
    # A new id is always sent, even with save_uninitialized=False.
    ("regenerated", ANY, True, True),
    ("regenerated-kept", ANY, True, True),
    ("regenerated-saved", ANY, True, True),
    ("new-regenerated", ANY, True, True),
    # No session, no cookie to set.
    ("loaded-unset", ANY, False, False),
    ("new-unset", ANY, False, False),
    ("loaded-destroyed", ANY, False, False),
    ("new-destroyed", ANY, False, False),
]


@pytest.mark.parametrize(
    ("situation", "lifecycle", "with_expiry", "browser_session"),
    list(expand(SET_COOKIE_ROWS)),
)
def test_should_set_cookie(
    situation: str, lifecycle: Lifecycle, with_expiry: bool, browser_session: bool
) -> None:
    assert should_set_cookie(build(situation, lifecycle, has_expiry=True), lifecycle) is (
        with_expiry
    )
    assert should_set_cookie(build(situation, lifecycle, has_expiry=False), lifecycle) is (
        browser_session
    )


# --- should_clear_cookie ------------------------------------------------------

CLEAR_ROWS: list[tuple[Any, ...]] = [
    # destroy(): the browser's cookie is removed, if it sent one.
    ("loaded-destroyed", ANY, True),
    ("new-destroyed", ANY, True),
    # Unset under "destroy" ends the session too; under "keep" the stored
    # session lives on and so must the browser's cookie.
    ("loaded-unset", {"unset": "destroy"}, True),
    ("loaded-unset", {"unset": "keep"}, False),
    ("loaded-modified-unset", {"unset": "keep"}, False),
    ("loaded", ANY, False),
    ("loaded-modified", ANY, False),
    ("new", ANY, False),
    ("regenerated", ANY, False),
]


@pytest.mark.parametrize(("situation", "lifecycle", "with_cookie"), list(expand(CLEAR_ROWS)))
def test_should_clear_cookie(situation: str, lifecycle: Lifecycle, with_cookie: bool) -> None:
    state = build(situation, lifecycle)
    assert should_clear_cookie(state, lifecycle, cookie_sent=True) is with_cookie
    # Nothing to clear when the browser sent no cookie.
    assert should_clear_cookie(state, lifecycle, cookie_sent=False) is False


# --- store_action -------------------------------------------------------------

NOTHING, SAVE, TOUCH, DESTROY = (
    StoreAction.NOTHING,
    StoreAction.SAVE,
    StoreAction.TOUCH,
    StoreAction.DESTROY,
)

STORE_ROWS: list[tuple[Any, ...]] = [
    ("new", {"save_uninitialized": True}, SAVE),
    ("new", {"save_uninitialized": False}, NOTHING),
    ("new-stale", {"save_uninitialized": False}, NOTHING),
    ("new-modified", ANY, SAVE),
    ("new-saved", ANY, NOTHING),
    ("new-saved-then-modified", ANY, SAVE),
    ("loaded", {"resave": True}, SAVE),
    ("loaded", {"resave": False}, TOUCH),
    ("loaded-reverted", {"resave": False}, TOUCH),
    ("loaded-modified", ANY, SAVE),
    ("loaded-reordered", ANY, SAVE),
    ("loaded-saved", ANY, TOUCH),
    ("loaded-saved-then-modified", ANY, SAVE),
    ("regenerated", ANY, SAVE),
    ("regenerated-kept", ANY, SAVE),
    ("regenerated-saved", ANY, NOTHING),
    ("loaded-unset", {"unset": "keep"}, NOTHING),
    ("loaded-unset", {"unset": "destroy"}, DESTROY),
    ("loaded-modified-unset", {"unset": "keep"}, NOTHING),
    ("loaded-modified-unset", {"unset": "destroy"}, DESTROY),
    ("new-unset", {"unset": "destroy"}, DESTROY),
    ("loaded-destroyed", {"unset": "keep"}, NOTHING),
    ("new-destroyed", {"unset": "keep"}, NOTHING),
]


@pytest.mark.parametrize(("situation", "lifecycle", "expected"), list(expand(STORE_ROWS)))
def test_store_action(situation: str, lifecycle: Lifecycle, expected: StoreAction) -> None:
    assert store_action(build(situation, lifecycle), lifecycle) is expected


# --- cookie_action and the secure gate ---------------------------------------

SET, CLEAR, NO_COOKIE = CookieAction.SET, CookieAction.CLEAR, CookieAction.NOTHING

COOKIE_ROWS: list[tuple[Any, ...]] = [
    # situation, options, with the browser's cookie, without one
    ("new", {"save_uninitialized": True}, SET, SET),
    ("new", {"save_uninitialized": False}, NO_COOKIE, NO_COOKIE),
    ("new-modified", ANY, SET, SET),
    ("loaded", {"rolling": True}, SET, SET),
    ("loaded", {"rolling": False}, NO_COOKIE, NO_COOKIE),
    ("loaded-modified", ANY, SET, SET),
    ("regenerated", ANY, SET, SET),
    ("loaded-destroyed", ANY, CLEAR, NO_COOKIE),
    ("new-destroyed", ANY, CLEAR, NO_COOKIE),
    ("loaded-unset", {"unset": "destroy"}, CLEAR, NO_COOKIE),
    ("loaded-unset", {"unset": "keep"}, NO_COOKIE, NO_COOKIE),
]


@pytest.mark.parametrize(
    ("situation", "lifecycle", "cookie_sent", "no_cookie_sent"), list(expand(COOKIE_ROWS))
)
def test_cookie_action(
    situation: str,
    lifecycle: Lifecycle,
    cookie_sent: CookieAction,
    no_cookie_sent: CookieAction,
) -> None:
    state = build(situation, lifecycle)
    # The gate is open for a plain cookie over either scheme, and for a
    # secure cookie over https.
    for secure_cookie, secure_request in ((False, False), (False, True), (True, True)):
        for sent, expected in ((True, cookie_sent), (False, no_cookie_sent)):
            action = cookie_action(
                state,
                lifecycle,
                cookie_sent=sent,
                secure_cookie=secure_cookie,
                secure_request=secure_request,
            )
            assert action is expected, (secure_cookie, secure_request, sent)


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_secure_cookie_is_never_sent_over_http(situation: str) -> None:
    # SPEC §4: neither to set it nor to clear it, whatever the options.
    for lifecycle in ALL_LIFECYCLES:
        state = build(situation, lifecycle)
        for sent in (True, False):
            action = cookie_action(
                state, lifecycle, cookie_sent=sent, secure_cookie=True, secure_request=False
            )
            assert action is CookieAction.NOTHING, (lifecycle, sent)


@pytest.mark.parametrize(
    ("situation", "options", "expected"),
    [
        pytest.param("new", {"save_uninitialized": True}, SAVE, id="new-still-saved-over-http"),
        pytest.param("loaded-modified", {}, SAVE, id="modified-still-saved-over-http"),
        pytest.param("loaded", {"resave": False}, TOUCH, id="loaded-still-touched-over-http"),
    ],
)
def test_secure_gate_does_not_stop_the_store(
    situation: str, options: dict[str, Any], expected: StoreAction
) -> None:
    # express: the cookie is skipped over http, but the session is still stored.
    lifecycle = Lifecycle(
        **{"resave": True, "rolling": False, "save_uninitialized": True, "unset": "keep", **options}
    )
    state = build(situation, lifecycle)
    action = cookie_action(
        state, lifecycle, cookie_sent=True, secure_cookie=True, secure_request=False
    )
    assert action is CookieAction.NOTHING
    assert store_action(state, lifecycle) is expected
