"""The signed-cookie wire format (SPEC §5): byte for byte what express-session
writes and reads.

Expected values are computed here by hand (hmac, hashlib, base64 and
``urllib.parse.quote`` standing in for ``encodeURIComponent``), or taken from
the vectors of express-session's own tests, and compared with what the
middleware sends and accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote, unquote

import pytest
from werkzeug.test import Client, TestResponse

from tests.conftest import (
    SECRET,
    RecordingStore,
    expected_cookie_value,
    make_middleware,
    session_app,
    session_cookie,
    set_cookies,
    sid_from,
)
from wsgisession import Session, signing
from wsgisession.signing import CookieSigner

# express-session's worked example: sid "abc", secret "keyboard cat".
ABC_COOKIE = "s%3Aabc.BpxCrWRpvZMh%2Fwk%2Fdjl34N%2Bm%2BVQEU7K%2F5WenLwJCgFU"
ABC_SIGNATURE = "BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU"
ABC_HEADER = f"connect.sid={ABC_COOKIE}; Path=/; HttpOnly"

# A record for "abc" in express-session's JSON shape, as a Node app stores it.
STORED_ABC = {
    "cookie": {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"},
    "user": "alice",
}


def hand_signature(sid: str, secret: str | bytes) -> str:
    """HMAC-SHA256 of ``sid`` keyed with ``secret``, standard base64, no '='."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, sid.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii").rstrip("=")


def hand_cookie(sid: str, secret: str | bytes = SECRET) -> str:
    """The cookie value on the wire: ``encodeURIComponent("s:" + sid + "." + sig)``."""
    return quote("s:" + sid + "." + hand_signature(sid, secret), safe="-_.!~*'()")


def cookie_value(header: str) -> str:
    """The value of a Set-Cookie header (the text between '=' and the first ';')."""
    return header.split(";", 1)[0].split("=", 1)[1]


def cookie_attributes(header: str) -> set[str]:
    """The attributes of a Set-Cookie header, as a set of strings."""
    return set(header.split("; ")[1:])


def client_for(view: Any = None, **options: Any) -> Client:
    """A client that sends only the Cookie headers a test gives it."""
    return Client(make_middleware(session_app(view), **options), use_cookies=False)


def with_cookie(header: str) -> dict[str, Any]:
    """Request arguments that send ``header`` as the raw Cookie header."""
    return {"environ_overrides": {"HTTP_COOKIE": header}}


def seen_view(seen: list[tuple[str, dict[str, Any]]]) -> Any:
    """A view noting the session id and data it was given."""

    def view(session: Session, environ: dict[str, Any]) -> str:
        seen.append((session.id, dict(session)))
        return "ok"

    return view


class TestCookieValue:
    """The value of the Set-Cookie the middleware sends."""

    @pytest.mark.parametrize(
        ("sid", "expected"),
        [
            pytest.param("abc", ABC_COOKIE, id="abc"),
            pytest.param(
                "apple", "s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU", id="apple"
            ),
            pytest.param(
                "%", "s%3A%25.kzQ6x52kKVdF35Qh62AWk4ZekS28K5XYCXKa%2FOTZ01g", id="percent"
            ),
            pytest.param(
                "/foo", "s%3A%2Ffoo.paEKBtAHbV5s1IB8B2zPnzAgYmmnRPIqObW4VRYj%2FMQ", id="slash"
            ),
        ],
    )
    def test_reference_vectors(self, sid: str, expected: str) -> None:
        response = client_for(genid=lambda environ: sid).get("/")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == expected
        assert hand_cookie(sid) == expected

    @pytest.mark.parametrize(
        "sid",
        [
            pytest.param("abc", id="plain"),
            pytest.param("Zm9vYmFyYmF6LXF1eF9xdXV4", id="base64url"),
            pytest.param("a.b.c", id="dots"),
            pytest.param("a b", id="space"),
            pytest.param("a+b=c&d", id="reserved"),
            pytest.param("-_.!~*'()", id="unreserved"),
            pytest.param('"quoted";semi,comma\\', id="cookie-syntax"),
            pytest.param("séance-日本", id="non-ascii"),
        ],
    )
    def test_value_is_computed_by_hand(self, sid: str) -> None:
        response = client_for(genid=lambda environ: sid).get("/")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == hand_cookie(sid)
        assert cookie_value(header) == expected_cookie_value(sid)

    def test_value_is_ascii_and_unquoted(self) -> None:
        response = client_for(genid=lambda environ: 'séance "x";').get("/")
        header = session_cookie(response)
        assert header is not None
        value = cookie_value(header)
        assert value.isascii()
        assert not value.startswith('"')
        assert value.startswith("s%3A")

    def test_encode_uri_component_leaves_its_unreserved_characters(self) -> None:
        sid = "AZaz09-_.!~*'()"
        response = client_for(genid=lambda environ: sid).get("/")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header).startswith("s%3A" + sid + ".")

    def test_signature_is_standard_base64_without_padding(self) -> None:
        response = client_for(genid=lambda environ: "abc").get("/")
        header = session_cookie(response)
        assert header is not None
        signature = cookie_value(header).rsplit(".", 1)[1]
        assert signature == quote(ABC_SIGNATURE, safe="")
        assert "%3D" not in signature
        assert "-" not in signature
        assert "_" not in signature

    def test_default_cookie_header(self) -> None:
        response = client_for(genid=lambda environ: "abc").get("/")
        headers = set_cookies(response)
        assert len(headers) == 1
        header = headers[0]
        assert header.split(";", 1)[0] == ABC_HEADER.split(";", 1)[0]
        assert cookie_attributes(header) == cookie_attributes(ABC_HEADER)
        assert cookie_attributes(header) == {"Path=/", "HttpOnly"}

    def test_custom_name(self) -> None:
        response = client_for(genid=lambda environ: "abc", name="sid").get("/")
        header = session_cookie(response, "sid")
        assert header is not None
        assert header.startswith("sid=" + ABC_COOKIE + ";")
        assert session_cookie(response) is None

    def test_bytes_secret(self) -> None:
        secret = bytes(range(256))
        response = client_for(genid=lambda environ: "abc", secret=secret).get("/")
        assert sid_from(response) == "abc"
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == hand_cookie("abc", secret)

    def test_bytes_secret_same_as_its_utf8_str(self) -> None:
        by_bytes = client_for(genid=lambda environ: "abc", secret=SECRET.encode()).get("/")
        by_str = client_for(genid=lambda environ: "abc", secret=SECRET).get("/")
        assert session_cookie(by_bytes) == session_cookie(by_str)

    def test_non_ascii_str_secret_is_utf8(self) -> None:
        secret = "clé secrète ✓"
        response = client_for(genid=lambda environ: "abc", secret=secret).get("/")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == hand_cookie("abc", secret.encode("utf-8"))

    def test_different_secrets_sign_differently(self) -> None:
        one = session_cookie(client_for(genid=lambda environ: "abc", secret="one").get("/"))
        two = session_cookie(client_for(genid=lambda environ: "abc", secret="two").get("/"))
        assert one is not None
        assert two is not None
        assert one != two


class TestSecretRotation:
    """The first secret signs; every one verifies (SPEC §2)."""

    @pytest.mark.parametrize(
        "secrets",
        [
            pytest.param(["new", "old"], id="list"),
            pytest.param(("new", "old", "older"), id="tuple"),
            pytest.param(["new", b"old"], id="str-and-bytes"),
            pytest.param([b"new"], id="bytes-list"),
        ],
    )
    def test_first_secret_signs(self, secrets: Any) -> None:
        response = client_for(genid=lambda environ: "abc", secret=secrets).get("/")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == hand_cookie("abc", "new")

    @pytest.mark.parametrize("signed_with", ["new", "old", "older"])
    def test_every_secret_verifies(self, signed_with: str) -> None:
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(
            seen_view(seen), secret=["new", "old", "older"], store=store, genid=lambda e: "fresh"
        )
        response = client.get("/", **with_cookie("connect.sid=" + hand_cookie("abc", signed_with)))
        assert response.status_code == 200
        assert seen == [("abc", {"user": "alice"})]
        assert session_cookie(response) is None

    def test_removed_secret_no_longer_verifies(self) -> None:
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        store.calls.clear()
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(
            seen_view(seen), secret=["new", "old"], store=store, genid=lambda e: "fresh"
        )
        response = client.get("/", **with_cookie("connect.sid=" + hand_cookie("abc", "retired")))
        assert response.status_code == 200
        assert seen == [("fresh", {})]
        assert sid_from(response) == "fresh"
        assert [call for call in store.calls if call[1] == "abc"] == []
        assert store.get("abc") == STORED_ABC

    def test_rotation_keeps_sessions_of_the_old_deployment(self) -> None:
        store = RecordingStore()
        old_app = client_for(
            lambda session, environ: session.update(user="bob"),
            secret="old",
            store=store,
            genid=lambda e: "abc",
        )
        cookie = session_cookie(old_app.get("/"))
        assert cookie is not None
        seen: list[tuple[str, dict[str, Any]]] = []
        new_app = client_for(seen_view(seen), secret=["new", "old"], store=store)
        response = new_app.get("/", **with_cookie(cookie.split(";", 1)[0]))
        assert response.status_code == 200
        assert seen == [("abc", {"user": "bob"})]

    def test_rolled_cookie_is_resigned_with_the_first_secret(self) -> None:
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        client = client_for(secret=["new", "old"], store=store, rolling=True)
        response = client.get("/", **with_cookie("connect.sid=" + hand_cookie("abc", "old")))
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) == hand_cookie("abc", "new")


class TestReadingTheCookie:
    """Request cookies: the first of the name wins; the value is percent-decoded
    (SPEC §5)."""

    def loaded(self, cookie_header: str, **options: Any) -> tuple[TestResponse, list[Any]]:
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        seen: list[tuple[str, dict[str, Any]]] = []
        options.setdefault("genid", lambda environ: "fresh")
        client = client_for(seen_view(seen), store=store, **options)
        response = client.get("/", **with_cookie(cookie_header))
        assert response.status_code == 200
        return response, seen

    def test_node_signed_cookie_loads_the_session(self) -> None:
        response, seen = self.loaded("connect.sid=" + ABC_COOKIE)
        assert seen == [("abc", {"user": "alice"})]
        assert session_cookie(response) is None

    def test_whole_set_cookie_sent_back(self) -> None:
        # express-session's tests send the Set-Cookie string back as the Cookie.
        _, seen = self.loaded(ABC_HEADER)
        assert seen == [("abc", {"user": "alice"})]

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("other=1; connect.sid=" + ABC_COOKIE, id="after-another"),
            pytest.param("connect.sid=" + ABC_COOKIE + "; other=1", id="before-another"),
            pytest.param("connect.sidx=junk; connect.sid=" + ABC_COOKIE, id="longer-name"),
            pytest.param("xconnect.sid=junk; connect.sid=" + ABC_COOKIE, id="suffix-name"),
            pytest.param("  connect.sid =  " + ABC_COOKIE + "  ", id="spaces"),
            pytest.param(f'connect.sid="{ABC_COOKIE}"', id="double-quoted"),
        ],
    )
    def test_cookie_found_among_others(self, header: str) -> None:
        _, seen = self.loaded(header)
        assert seen == [("abc", {"user": "alice"})]

    def test_first_cookie_of_the_name_wins_valid_first(self) -> None:
        bad = "s%3Aabc." + "A" * 43
        _, seen = self.loaded(f"connect.sid={ABC_COOKIE}; connect.sid={bad}")
        assert seen == [("abc", {"user": "alice"})]

    def test_first_cookie_of_the_name_wins_invalid_first(self) -> None:
        bad = "s%3Aabc." + "A" * 43
        response, seen = self.loaded(f"connect.sid={bad}; connect.sid={ABC_COOKIE}")
        assert seen == [("fresh", {})]
        assert sid_from(response) == "fresh"

    def test_first_cookie_wins_with_an_unsigned_first(self) -> None:
        _, seen = self.loaded(f"connect.sid=abc; connect.sid={ABC_COOKIE}")
        assert seen == [("fresh", {})]

    def test_custom_name_is_the_one_read(self) -> None:
        _, seen = self.loaded(f"connect.sid={ABC_COOKIE}", name="sid")
        assert seen == [("fresh", {})]
        _, seen = self.loaded(f"connect.sid=junk; sid={ABC_COOKIE}", name="sid")
        assert seen == [("abc", {"user": "alice"})]

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(ABC_COOKIE, id="encoded"),
            pytest.param("s:abc." + ABC_SIGNATURE, id="raw"),
            pytest.param(ABC_COOKIE.replace("%3A", "%3a").replace("%2F", "%2f"), id="lowercase"),
            pytest.param(
                "s%3Aabc.BpxCrWRpvZMh/wk/djl34N%2Bm+VQEU7K%2F5WenLwJCgFU", id="partly-encoded"
            ),
            pytest.param(
                "".join(f"%{byte:02X}" for byte in ("s:abc." + ABC_SIGNATURE).encode()),
                id="every-byte-encoded",
            ),
        ],
    )
    def test_value_is_percent_decoded(self, value: str) -> None:
        _, seen = self.loaded("connect.sid=" + value)
        assert seen == [("abc", {"user": "alice"})]

    def test_plus_is_not_a_space(self) -> None:
        # decodeURIComponent, unlike form decoding, leaves '+' alone: a raw '+' in
        # the signature must not become a space.
        _, seen = self.loaded(
            "connect.sid=s%3Aabc.BpxCrWRpvZMh%2Fwk%2Fdjl34N+m+VQEU7K%2F5WenLwJCgFU"
        )
        assert seen == [("abc", {"user": "alice"})]

    @pytest.mark.parametrize("sid", ["%", "/foo", "a b", "séance", "%41"])
    def test_ids_that_need_encoding_round_trip(self, sid: str) -> None:
        store = RecordingStore()
        first = client_for(
            lambda session, environ: session.update(n=1), store=store, genid=lambda e: sid
        ).get("/")
        header = session_cookie(first)
        assert header is not None
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(seen_view(seen), store=store, genid=lambda e: "fresh")
        client.get("/", **with_cookie(header.split(";", 1)[0]))
        assert seen == [(sid, {"n": 1})]


ABC_RAW = "s:abc." + ABC_SIGNATURE
# The same HMAC over SHA-1, as old cookie-signature versions wrote it.
_SHA1_SIGNATURE = (
    base64.b64encode(hmac.new(SECRET.encode(), b"abc", hashlib.sha1).digest()).decode().rstrip("=")
)
_NON_CANONICAL = ABC_COOKIE[:-1] + "V"  # 'U' and 'V' differ only in the unused low bits


def _flip(value: str, index: int) -> str:
    char = value[index]
    return value[:index] + ("B" if char == "A" else "A") + value[index + 1 :]


BAD_VALUES = [
    pytest.param(_flip(ABC_COOKIE, 10), id="tampered-signature-start"),
    pytest.param(_flip(ABC_COOKIE, len(ABC_COOKIE) - 2), id="tampered-signature-end"),
    pytest.param(ABC_COOKIE.replace("abc.", "abd.", 1), id="tampered-id"),
    pytest.param(ABC_COOKIE.replace("abc.", "abc%00.", 1), id="id-with-nul"),
    pytest.param(ABC_COOKIE.replace("abc.", "ab.", 1), id="id-shortened"),
    pytest.param(ABC_COOKIE.replace("abc.", "abc.x.", 1), id="extra-dot"),
    pytest.param("abc", id="unsigned-id"),
    pytest.param("abc." + ABC_SIGNATURE, id="unsigned-without-prefix"),
    pytest.param(ABC_COOKIE[len("s%3A") :], id="prefix-stripped"),
    pytest.param(ABC_COOKIE[:-1], id="truncated-by-one"),
    pytest.param(ABC_COOKIE[:-20], id="truncated-half-signature"),
    pytest.param(ABC_COOKIE.split(".")[0] + ".", id="signature-empty"),
    pytest.param(ABC_COOKIE.split(".")[0], id="no-signature"),
    pytest.param(ABC_COOKIE[: ABC_COOKIE.rindex("%") + 2], id="truncated-inside-escape"),
    pytest.param("", id="empty"),
    pytest.param("s%3A", id="only-prefix-encoded"),
    pytest.param("s:", id="only-prefix-raw"),
    pytest.param("s%3A.", id="prefix-and-dot"),
    pytest.param("S%3A" + ABC_COOKIE[4:], id="uppercase-prefix"),
    pytest.param("j%3A" + ABC_COOKIE[4:], id="json-prefix"),
    pytest.param("s%3B" + ABC_COOKIE[4:], id="wrong-separator"),
    pytest.param("%20" + ABC_COOKIE, id="leading-encoded-space"),
    pytest.param(ABC_COOKIE + "%20", id="trailing-encoded-space"),
    pytest.param(_NON_CANONICAL, id="non-canonical-base64"),
    pytest.param(ABC_COOKIE + "%3D", id="padded-signature"),
    pytest.param(ABC_COOKIE.replace("%2F", "_").replace("%2B", "-"), id="urlsafe-alphabet"),
    pytest.param(ABC_COOKIE + "AAAA", id="signature-too-long"),
    pytest.param("s%3Aabc." + hand_signature("abc", SECRET).lower(), id="signature-lowercased"),
    pytest.param(
        "s%3Aabc." + quote(hand_signature("abc", "another secret"), safe=""), id="other-secret"
    ),
    pytest.param("s%3Aabc." + quote(_SHA1_SIGNATURE, safe=""), id="sha1-signature"),
    pytest.param(ABC_COOKIE + "%C3%A9", id="non-ascii-encoded"),
    pytest.param("s%3A%C3%A9." + ABC_SIGNATURE, id="non-ascii-id"),
    pytest.param("s%3Aabc.%E2%9C%93" + ABC_SIGNATURE[1:], id="non-ascii-in-signature"),
    pytest.param("é".encode().decode("latin-1") + ABC_COOKIE, id="raw-utf8-bytes"),
    pytest.param(ABC_COOKIE + "%FF%FE", id="encoded-non-utf8"),
    pytest.param(ABC_COOKIE + "%", id="dangling-percent"),
    pytest.param(ABC_COOKIE.replace("%3A", "%3", 1), id="escape-swallows-id"),
    pytest.param("s%3Aabc.%ZZ" + ABC_SIGNATURE[2:], id="invalid-escape"),
    pytest.param("%", id="lone-percent"),
    pytest.param(ABC_COOKIE + "x" * 4100, id="oversized"),
    pytest.param(ABC_COOKIE + "%41" * 1400, id="oversized-encoded"),
    pytest.param("s%3A" + "a" * 5000 + "." + ABC_SIGNATURE, id="oversized-id"),
]


class TestBadCookies:
    """A bad cookie is client input, never a server error: the request gets a
    fresh session, and the stored session it names is left alone (SPEC §5)."""

    def check_fresh(self, cookie_header: str, old_sid: str = "abc") -> None:
        store = RecordingStore()
        store.set(old_sid, STORED_ABC)
        store.calls.clear()
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(seen_view(seen), store=store, genid=lambda environ: "fresh")
        response = client.get("/", **with_cookie(cookie_header))
        assert response.status_code == 200
        assert response.get_data() == b"ok"
        assert seen == [("fresh", {})]
        assert sid_from(response) == "fresh"
        assert [call for call in store.calls if call[1] == old_sid] == []
        assert store.get("fresh") is not None
        assert store.get(old_sid) == STORED_ABC

    def test_the_good_cookie_loads(self) -> None:
        # The control for the table below.
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(seen_view(seen), store=store, genid=lambda environ: "fresh")
        client.get("/", **with_cookie("connect.sid=" + ABC_COOKIE))
        assert seen == [("abc", {"user": "alice"})]

    def test_non_canonical_signature_decodes_to_the_same_bytes(self) -> None:
        # The non-canonical case below is only meaningful if lenient base64
        # decoding would accept it.
        signature = _NON_CANONICAL.rsplit(".", 1)[1].replace("%2F", "/").replace("%2B", "+")
        assert signature != ABC_SIGNATURE
        assert base64.b64decode(signature + "=") == base64.b64decode(ABC_SIGNATURE + "=")

    @pytest.mark.parametrize("value", BAD_VALUES)
    def test_bad_value_gives_a_fresh_session(self, value: str) -> None:
        self.check_fresh("connect.sid=" + value)

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param(b"connect.sid=\xff\xfe", id="non-utf8-value"),
            pytest.param(b"connect.sid=s%3Aabc.\xc3\x28" + b"A" * 41, id="invalid-utf8-sequence"),
            pytest.param(b"connect.sid=" + ABC_COOKIE.encode() + b"\x80", id="non-utf8-suffix"),
            pytest.param(b"\xff\xfe\xfd", id="non-utf8-header"),
            pytest.param(b"connect.sid=\x00\x01\x7f", id="control-bytes"),
            pytest.param(b'connect.sid="' + ABC_COOKIE.encode(), id="unbalanced-quote"),
            pytest.param(b"connect.sid", id="name-without-value"),
            pytest.param(b";;;=;", id="only-separators"),
        ],
    )
    def test_raw_bytes_in_the_header_give_a_fresh_session(self, raw: bytes) -> None:
        # WSGI hands header bytes over as latin-1 text.
        self.check_fresh(raw.decode("latin-1"))

    def test_non_utf8_bytes_in_another_cookie_do_not_lose_the_session(self) -> None:
        # express-session parses each pair on its own; a stray byte in some
        # other application's cookie must not log the user out.
        store = RecordingStore()
        store.set("abc", STORED_ABC)
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(seen_view(seen), store=store, genid=lambda environ: "fresh")
        raw = b"legacy=caf\xe9; connect.sid=" + ABC_COOKIE.encode()
        response = client.get("/", **with_cookie(raw.decode("latin-1")))
        assert response.status_code == 200
        assert seen == [("abc", {"user": "alice"})]

    def test_oversized_value_is_ignored_even_when_validly_signed(self) -> None:
        # No browser keeps a cookie this long, so it is not one we issued.
        sid = "a" * 4100
        self.check_fresh("connect.sid=" + hand_cookie(sid), old_sid=sid)

    def test_validly_signed_unknown_id_gives_a_fresh_session(self) -> None:
        store = RecordingStore()
        seen: list[tuple[str, dict[str, Any]]] = []
        client = client_for(seen_view(seen), store=store, genid=lambda environ: "fresh")
        response = client.get("/", **with_cookie("connect.sid=" + hand_cookie("gone")))
        assert response.status_code == 200
        assert seen == [("fresh", {})]
        assert sid_from(response) == "fresh"
        assert store.get("gone") is None

    def test_a_forged_cookie_for_another_users_id_is_refused(self) -> None:
        # The attacker knows the id but not the secret.
        forged = "s%3Aabc." + quote(hand_signature("abc", "guessed"), safe="")
        self.check_fresh("connect.sid=" + forged)


class TestCookieSigner:
    """:class:`wsgisession.signing.CookieSigner` on its own."""

    @pytest.mark.parametrize(
        "value",
        [
            ABC_COOKIE,
            "s%3A%25.kzQ6x52kKVdF35Qh62AWk4ZekS28K5XYCXKa%2FOTZ01g",
            "s%253Aabc.x",
            "s%%3Aabc.x",
            "s%3a%2fabc%2B.x",
            "s%3A%C3%A9.x",
            "s%3A%E9.x",
            "s%3Aabc.%ZZ",
            "%2%3AB",
            "%",
        ],
    )
    def test_reading_decodes_as_unquote_does(self, value: str) -> None:
        # The shortcut for this module's own escapes must agree with unquote
        # (which leaves a value whose escapes are not UTF-8 as it is).
        try:
            expected = unquote(value, errors="strict")
        except UnicodeDecodeError:
            expected = value
        assert signing._decode_uri_component(value) == expected

    @pytest.mark.parametrize(
        ("sid", "expected"),
        [
            ("abc", ABC_COOKIE),
            ("apple", "s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU"),
            ("%", "s%3A%25.kzQ6x52kKVdF35Qh62AWk4ZekS28K5XYCXKa%2FOTZ01g"),
            ("/foo", "s%3A%2Ffoo.paEKBtAHbV5s1IB8B2zPnzAgYmmnRPIqObW4VRYj%2FMQ"),
        ],
    )
    def test_sign_reference_vectors(self, sid: str, expected: str) -> None:
        signer = CookieSigner([b"keyboard cat"])
        assert signer.sign(sid) == expected
        assert signer.unsign(expected) == sid

    @pytest.mark.parametrize("sid", ["abc", "a.b.c", "séance", "", "x" * 64, "s:abc"])
    def test_round_trip(self, sid: str) -> None:
        signer = CookieSigner([b"k1"])
        value = signer.sign(sid)
        assert value == hand_cookie(sid, b"k1")
        assert signer.unsign(value) == sid

    def test_signature_is_43_characters(self) -> None:
        signer = CookieSigner([b"k1"])
        for sid in ("a", "abc", "x" * 100):
            raw = unquote(signer.sign(sid))
            assert raw.startswith("s:" + sid + ".")
            assert len(raw.rsplit(".", 1)[1]) == 43

    def test_unsign_raw_value(self) -> None:
        assert CookieSigner([b"keyboard cat"]).unsign(ABC_RAW) == "abc"

    def test_first_secret_signs(self) -> None:
        signer = CookieSigner([b"new", b"old"])
        assert signer.sign("abc") == hand_cookie("abc", b"new")

    @pytest.mark.parametrize("secret", [b"new", b"old", b"older"])
    def test_every_secret_verifies(self, secret: bytes) -> None:
        signer = CookieSigner([b"new", b"old", b"older"])
        assert signer.unsign(hand_cookie("abc", secret)) == "abc"

    def test_unknown_secret_does_not_verify(self) -> None:
        signer = CookieSigner([b"new", b"old"])
        assert signer.unsign(hand_cookie("abc", b"other")) is None

    def test_binary_secret(self) -> None:
        secret = b"\x00\xff\x80 raw"
        signer = CookieSigner([secret])
        assert signer.sign("abc") == hand_cookie("abc", secret)
        assert signer.unsign(hand_cookie("abc", secret)) == "abc"

    def test_splits_at_the_last_dot(self) -> None:
        signer = CookieSigner([b"k"])
        value = "s:a.b." + hand_signature("a.b", b"k")
        assert signer.unsign(value) == "a.b"
        assert signer.unsign("s:a." + hand_signature("a.b", b"k")) is None

    @pytest.mark.parametrize("value", BAD_VALUES)
    def test_unsign_bad_values(self, value: str) -> None:
        assert CookieSigner([b"keyboard cat"]).unsign(value) is None

    def test_unsign_ignores_unsigned_value_even_when_it_is_a_signature(self) -> None:
        # An unsigned cookie is never trusted, whatever follows.
        signer = CookieSigner([b"keyboard cat"])
        assert signer.unsign("abc." + ABC_SIGNATURE) is None
        assert signer.unsign(quote("abc." + ABC_SIGNATURE, safe="")) is None

    def test_unsign_rejects_canonical_signature_of_a_different_id(self) -> None:
        signer = CookieSigner([b"keyboard cat"])
        assert signer.unsign("s:apple." + ABC_SIGNATURE) is None
