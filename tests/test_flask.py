"""wsgisession.flask: flask.session is the wsgisession session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import flask
import pytest
from flask import Flask

from tests.conftest import RecordingStore, session_cookie, sid_from
from wsgisession import Session, SessionMiddleware
from wsgisession.flask import FlaskSession, WsgiSessionInterface, init_app, session


def make_app(store: RecordingStore, **options: Any) -> Flask:
    app = Flask(__name__)
    app.secret_key = "flask secret"
    app.testing = True
    options.setdefault("resave", False)
    options.setdefault("save_uninitialized", False)
    init_app(app, store=store, **options)

    @app.route("/")
    def index() -> str:
        session["views"] = session.get("views", 0) + 1
        return str(session["views"])

    @app.route("/peek")
    def peek() -> str:
        return repr(dict(flask.session))

    @app.route("/flask-write")
    def flask_write() -> str:
        flask.session["x"] = 1
        return "written"

    @app.route("/nothing")
    def nothing() -> str:
        return "nothing"

    @app.route("/flags")
    def flags() -> dict[str, Any]:
        return {"new": session.new, "modified": session.modified, "permanent": session.permanent}

    @app.route("/permanent/<int:on>")
    def permanent(on: int) -> str:
        session.permanent = bool(on)
        return "ok"

    @app.route("/cart")
    def cart() -> str:
        session.setdefault("cart", []).append("apple")
        return str(len(session["cart"]))

    @app.route("/force")
    def force() -> str:
        session.modified = True
        return "forced"

    @app.route("/type")
    def type_() -> str:
        current = flask.session._get_current_object()  # type: ignore[attr-defined]
        same = current is flask.request.environ["wsgisession"]
        typed = session._get_current_object() is current  # type: ignore[attr-defined]
        return f"{type(current).__name__} {same} {typed}"

    @app.route("/login")
    def login() -> str:
        session.regenerate()
        session["user"] = "alice"
        return session.id

    @app.route("/logout")
    def logout() -> str:
        session.destroy()
        return "bye"

    return app


@pytest.fixture
def app(store: RecordingStore) -> Flask:
    return make_app(store)


class TestInstall:
    def test_init_app_wraps_wsgi_app_and_sets_the_interface(self, store: RecordingStore) -> None:
        app = Flask(__name__)
        middleware = init_app(app, secret="s", store=store, resave=False, save_uninitialized=False)
        assert isinstance(middleware, SessionMiddleware)
        assert app.wsgi_app is middleware
        assert app.extensions["wsgisession"] is middleware
        assert isinstance(app.session_interface, WsgiSessionInterface)
        assert middleware.session_class is FlaskSession

    def test_secret_defaults_to_the_apps_secret_key(self, store: RecordingStore) -> None:
        app = Flask(__name__)
        app.secret_key = "from flask"
        middleware = init_app(app, store=store, resave=False, save_uninitialized=False)
        assert middleware.signer.unsign(middleware.signer.sign("abc")) == "abc"
        other = init_app(
            Flask(__name__), secret="from flask", resave=False, save_uninitialized=False
        )
        assert other.signer.sign("abc") == middleware.signer.sign("abc")

    def test_no_secret_at_all_fails_naming_it(self) -> None:
        with pytest.raises(ValueError, match="secret"):
            init_app(Flask(__name__), resave=False, save_uninitialized=False)

    def test_invalid_option_fails_naming_it(self, store: RecordingStore) -> None:
        with pytest.raises(ValueError, match="unset"):
            init_app(
                Flask(__name__),
                secret="s",
                store=store,
                resave=False,
                save_uninitialized=False,
                unset="maybe",
            )

    def test_interface_without_the_middleware_explains(self) -> None:
        app = Flask(__name__)
        app.testing = True
        app.session_interface = WsgiSessionInterface()

        @app.route("/")
        def index() -> str:
            return str(session.get("x"))

        with pytest.raises(RuntimeError, match="init_app"):
            app.test_client().get("/")


class TestSession:
    def test_flask_session_is_the_wsgisession_session(self, app: Flask) -> None:
        assert app.test_client().get("/type").text == "FlaskSession True True"
        assert issubclass(FlaskSession, Session)

    def test_counts_and_stores(self, app: Flask, store: RecordingStore) -> None:
        client = app.test_client()
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
        records = list(store.all().values())
        assert [record["views"] for record in records] == [3]
        assert "_permanent" not in records[0]

    def test_set_cookie_is_wsgisession_s(self, app: Flask) -> None:
        response = app.test_client().get("/")
        header = session_cookie(response)
        assert header is not None
        assert header.startswith("connect.sid=s%3A")
        assert "HttpOnly" in header
        assert response.headers["Vary"] == "Cookie"

    def test_untouched_session_costs_no_cookie_and_no_write(
        self, app: Flask, store: RecordingStore
    ) -> None:
        response = app.test_client().get("/nothing")
        assert session_cookie(response) is None
        assert store.operations() == []
        assert "Vary" not in response.headers

    def test_nested_change_is_saved_without_modified(self, app: Flask) -> None:
        client = app.test_client()
        assert [client.get("/cart").text for _ in range(3)] == ["1", "2", "3"]

    def test_regenerate_and_destroy(self, app: Flask, store: RecordingStore) -> None:
        client = app.test_client()
        before = sid_from(client.get("/"))
        assert before is not None
        assert store.get(before) is not None
        response = client.get("/login")
        assert response.text != before
        assert sid_from(response) == response.text
        assert store.get(response.text) is not None
        assert store.get(before) is None
        response = client.get("/logout")
        assert response.text == "bye"
        assert store.length() == 0
        cleared = session_cookie(response)
        assert cleared is not None
        assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in cleared


class TestFlags:
    def test_new_then_not_new(self, app: Flask) -> None:
        client = app.test_client()
        assert client.get("/flags").json == {"new": True, "modified": False, "permanent": False}
        client.get("/")
        assert client.get("/flags").json == {"new": False, "modified": False, "permanent": False}

    def test_permanent_gives_the_flask_lifetime(self, store: RecordingStore) -> None:
        app = make_app(store)
        app.permanent_session_lifetime = timedelta(days=2)
        client = app.test_client()
        response = client.get("/permanent/1")
        header = session_cookie(response)
        assert header is not None
        assert "Expires=" in header
        record = next(iter(store.all().values()))
        assert record["cookie"]["originalMaxAge"] == 2 * 86400 * 1000
        flags = client.get("/flags").json
        assert flags is not None
        assert flags["permanent"] is True

    def test_permanent_false_is_a_browser_session_cookie(self, store: RecordingStore) -> None:
        app = make_app(store, cookie={"max_age": 600})
        client = app.test_client()
        client.get("/")
        client.get("/permanent/0")
        record = next(iter(store.all().values()))
        assert record["cookie"]["expires"] is None
        flags = client.get("/flags").json
        assert flags is not None
        assert flags["permanent"] is False

    def test_modified_true_forces_a_save(self, app: Flask, store: RecordingStore) -> None:
        client = app.test_client()
        client.get("/")
        store.operations()
        client.get("/force")
        assert store.operations() == ["get", "set"]

    def test_without_force_an_unchanged_request_only_touches(
        self, app: Flask, store: RecordingStore
    ) -> None:
        client = app.test_client()
        client.get("/")
        store.operations()
        client.get("/peek")
        assert store.operations() == ["get", "touch"]

    def test_a_returning_visitor_whose_view_ignores_the_session_costs_one_refresh(
        self, app: Flask, store: RecordingStore
    ) -> None:
        # Flask opens and "saves" its session on every request; neither loads it.
        client = app.test_client()
        client.get("/")
        store.operations()
        response = client.get("/nothing")
        assert response.text == "nothing"
        assert store.operations() == ["refresh"]
        assert session_cookie(response) is None
        # The view could have read environ["wsgisession.id"], the cookie's id.
        assert response.headers["Vary"] == "Cookie"


class TestCookiePath:
    def test_outside_the_cookie_path_flask_has_a_null_session(self, store: RecordingStore) -> None:
        app = make_app(store, cookie={"path": "/app"})
        response = app.test_client().get("/peek")
        assert response.text == "{}"
        with pytest.raises(RuntimeError, match="outside the session cookie's path"):
            app.test_client().get("/flask-write").text  # noqa: B018 - writing raises


class TestTypedProxy:
    def test_proxy_outside_a_wsgisession_request_explains(self) -> None:
        app = Flask(__name__)
        app.secret_key = "plain flask"
        app.testing = True

        @app.route("/")
        def index() -> str:
            return session.id

        with pytest.raises(RuntimeError, match="init_app"):
            app.test_client().get("/")


class TestPermanentChanges:
    def test_permanent_false_replaces_the_persistent_cookie(self, store: RecordingStore) -> None:
        app = make_app(store, cookie={"max_age": 600})
        client = app.test_client()
        client.get("/")
        response = client.get("/permanent/0")
        header = session_cookie(response)
        assert header is not None
        assert "Expires=" not in header

    def test_permanent_true_applies_the_flask_lifetime_over_max_age(
        self, store: RecordingStore
    ) -> None:
        app = make_app(store, cookie={"max_age": 3600})
        app.permanent_session_lifetime = timedelta(days=30)
        client = app.test_client()
        client.get("/")
        assert session_cookie(client.get("/permanent/1")) is not None
        record = next(iter(store.all().values()))
        assert record["cookie"]["originalMaxAge"] == 30 * 86400 * 1000

    def test_setting_permanent_again_costs_no_write(self, store: RecordingStore) -> None:
        app = make_app(store)
        client = app.test_client()
        client.get("/permanent/1")
        store.operations()
        client.get("/permanent/1")
        assert store.operations() == ["get", "touch"]


class TestFlaskConfig:
    def test_cookie_settings_come_from_the_flask_config(self, store: RecordingStore) -> None:
        app = Flask(__name__)
        app.config.update(
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_DOMAIN="example.com",
            SESSION_COOKIE_PATH="/",
        )
        init_app(app, secret="s", store=store, resave=False, save_uninitialized=True)

        @app.route("/")
        def index() -> str:
            return "ok"

        header = session_cookie(app.test_client().get("/", base_url="https://example.com"))
        assert header is not None
        assert "Secure" in header
        assert "SameSite=Lax" in header
        assert "Domain=example.com" in header
        assert session_cookie(app.test_client().get("/", base_url="http://example.com")) is None

    def test_an_explicit_cookie_option_wins(self, store: RecordingStore) -> None:
        app = Flask(__name__)
        app.config["SESSION_COOKIE_SECURE"] = True
        init_app(app, secret="s", store=store, resave=False, save_uninitialized=True, cookie={})

        @app.route("/")
        def index() -> str:
            return "ok"

        header = session_cookie(app.test_client().get("/"))
        assert header is not None
        assert "Secure" not in header

    def test_deprecation_warning_points_at_the_caller(self) -> None:
        app = Flask(__name__)
        with pytest.warns(DeprecationWarning, match="resave") as caught:
            init_app(app, secret="s", save_uninitialized=False)
        assert caught[0].filename == __file__
