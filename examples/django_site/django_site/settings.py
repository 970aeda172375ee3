"""Django settings for the wsgisession example: no apps, no database.

Sessions are wsgisession's, in the WSGI layer (see wsgi.py), so neither
``django.contrib.sessions`` nor a database is needed.
"""

from __future__ import annotations

import os

DEBUG = os.environ.get("DEBUG") == "1"

# Django's own signing key (not used by wsgisession, which has SESSION_SECRET).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "change me: only for trying the example out")

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS: list[str] = []

MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]

ROOT_URLCONF = "django_site.urls"

WSGI_APPLICATION = "django_site.wsgi.application"

DATABASES: dict[str, dict[str, str]] = {}

TIME_ZONE = "UTC"
USE_TZ = True
