"""A minimal Django project whose WSGI application is wrapped in wsgisession.

Run: ``python examples/django_site/manage.py runserver 127.0.0.1:8000`` and open
http://127.0.0.1:8000 (without an address, ``runserver`` takes ``HOST`` and
``PORT`` from the environment).

``django_site/wsgi.py`` wraps Django's application in :class:`SessionMiddleware`
(sessions in an SQLite file, ``SESSION_DB``, default ``django_site.db`` in the
current directory), and the view reads the session from
``request.environ["wsgisession"]``. No Django app, database or migration is
needed; ``DEBUG=1`` turns on Django's debug mode.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a Django management command, as ``django-admin`` would."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
    from django.core.management import execute_from_command_line  # type: ignore[import-untyped]

    argv = sys.argv
    if argv[1:] == ["runserver"]:
        host = os.environ.get("HOST", "127.0.0.1")
        argv = [*argv, f"{host}:{os.environ.get('PORT', '8000')}"]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
