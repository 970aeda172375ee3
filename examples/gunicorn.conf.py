"""gunicorn settings for production.py: the view counter with several workers.

Run (from the repository root): ``gunicorn -c examples/gunicorn.conf.py``,
with the secrets in the environment, for example::

    export SESSION_SECRETS="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    gunicorn -c examples/gunicorn.conf.py

``HOST`` and ``PORT`` (default 127.0.0.1:8000) choose where it listens, and
``WEB_CONCURRENCY`` (default 2) how many worker processes serve; production.py
says how its sessions are configured. Put a reverse proxy (nginx, say) that
terminates TLS and sets ``X-Forwarded-Proto`` in front of it.
"""

from __future__ import annotations

import os

# production.py (and the view_counter.py it reuses) sit beside this file.
pythonpath = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "production:app"

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Load the application once, in the master, before forking the workers: a
# configuration error (SESSION_SECRETS unset) stops gunicorn at once, with its
# message, instead of in every worker. The stores are safe to fork: SQLiteStore
# opens a new connection in each process, redis-py a new connection pool.
preload_app = True

accesslog = "-"

# gunicorn 27 opens a control socket at one fixed path per user, which a
# second gunicorn started by the same user silently takes over.
control_socket_disable = True

# Forwarded headers are werkzeug's ProxyFix's job in production.py (it trusts
# exactly one proxy); gunicorn itself trusts none, so there is one rule.
forwarded_allow_ips = ""
