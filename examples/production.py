"""The view counter set up as for production, behind a reverse proxy.

Run (from the repository root): ``gunicorn -c examples/gunicorn.conf.py``,
with the secrets in the environment, for example::

    export SESSION_SECRETS="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    gunicorn -c examples/gunicorn.conf.py

The environment configures it:

- ``SESSION_SECRETS``: comma-separated secrets; the first signs new cookies and
  every one verifies, so to rotate, put a new secret first and keep the old
  one after it until the sessions it signed have expired. Required: without
  it the application refuses to start, unless ``DEBUG=1``, which uses a
  development secret (with a warning).
- ``WSGISESSION_STORE``: ``sqlite`` (the default; the file ``SESSION_DB``,
  default ``sessions.db``), which all the workers of one host share, or
  ``redis`` (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``; keys start
  with ``WSGISESSION_REDIS_PREFIX``, default ``sess:``), which many hosts share.

The cookie is ``Secure`` when the request is: werkzeug's ``ProxyFix`` runs
first, outermost, and sets ``wsgi.url_scheme`` from the proxy's
``X-Forwarded-Proto``, which ``secure="auto"`` then reads. ``ProxyFix``
trusts one proxy's headers (``X-Forwarded-For``, ``-Proto``, ``-Host``), so
let only that proxy reach the server (gunicorn.conf.py binds to 127.0.0.1).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

from view_counter import counter
from werkzeug.middleware.proxy_fix import ProxyFix

from wsgisession import SessionMiddleware, SQLiteStore, Store

# Used only with DEBUG=1 and no SESSION_SECRETS: anyone can forge its cookies.
DEV_SECRET = "development only: not a secret"


class ConfigurationError(RuntimeError):
    """The environment does not say how to run: the message says what to set."""


def session_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secrets in ``SESSION_SECRETS``, the first to sign.

    :raises ConfigurationError: when there is none and ``DEBUG`` is not ``1``.
    """
    secrets = [item.strip() for item in environ.get("SESSION_SECRETS", "").split(",")]
    secrets = [secret for secret in secrets if secret]
    if secrets:
        return secrets
    if environ.get("DEBUG") == "1":
        warnings.warn(
            "SESSION_SECRETS is not set: signing session cookies with a development"
            " secret (DEBUG=1); never do this in production",
            RuntimeWarning,
            stacklevel=2,
        )
        return [DEV_SECRET]
    raise ConfigurationError(
        "SESSION_SECRETS is not set: give one or more secrets, comma-separated, the first"
        " signing new cookies (make one with: python -c 'import secrets;"
        " print(secrets.token_urlsafe(32))'), or set DEBUG=1 to use a development secret"
    )


def session_store(environ: Mapping[str, str]) -> Store:
    """The store ``WSGISESSION_STORE`` names: ``sqlite`` (default) or ``redis``.

    :raises ConfigurationError: for any other name.
    """
    kind = environ.get("WSGISESSION_STORE", "sqlite").strip().lower()
    if kind == "sqlite":
        return SQLiteStore(environ.get("SESSION_DB", "sessions.db"))
    if kind == "redis":
        from wsgisession import RedisStore  # imports redis only when it is chosen

        return RedisStore(
            url=environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            prefix=environ.get("WSGISESSION_REDIS_PREFIX", "sess:"),
        )
    raise ConfigurationError(
        f"WSGISESSION_STORE must be 'sqlite' or 'redis', not {environ['WSGISESSION_STORE']!r}"
    )


def create_app(environ: Mapping[str, str] = os.environ) -> ProxyFix:
    """The view counter (view_counter.py's page) configured by ``environ``."""
    sessions = SessionMiddleware(
        counter,
        secret=session_secrets(environ),
        store=session_store(environ),
        resave=False,
        save_uninitialized=False,
        cookie={"max_age": 3600, "samesite": "lax", "secure": "auto", "httponly": True},
    )
    # Outermost, so that the session middleware sees the scheme the client used.
    return ProxyFix(sessions, x_for=1, x_proto=1, x_host=1)


app = create_app()
