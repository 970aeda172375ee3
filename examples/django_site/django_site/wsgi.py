"""The WSGI application: Django's, wrapped in wsgisession's SessionMiddleware.

``runserver`` serves it (``WSGI_APPLICATION`` in settings.py), and so does any
WSGI server: ``gunicorn --chdir examples/django_site django_site.wsgi``.
"""

from __future__ import annotations

import logging
import os

from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]

from wsgisession import SessionMiddleware, SQLiteStore

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

# For trying it out only: a real deployment sets SESSION_SECRET (see ../../production.py).
DEV_SECRET = "change me: a long random string"


def session_secret() -> str:
    """``SESSION_SECRET``, or a development secret, loudly."""
    secret = os.environ.get("SESSION_SECRET")
    if secret is None:
        logging.getLogger(__name__).warning(
            "SESSION_SECRET is not set: cookies are signed with a public development secret"
        )
        return DEV_SECRET
    return secret


application = SessionMiddleware(
    get_wsgi_application(),
    secret=session_secret(),
    store=SQLiteStore(os.environ.get("SESSION_DB", "django_site.db")),
    resave=False,
    save_uninitialized=False,
    cookie={"max_age": 3600, "samesite": "lax", "secure": "auto"},
)
