"""Signing session ids the way express-session does.

The cookie value is ``"s:" + sid + "." + sig``: ``sig`` is the HMAC-SHA256 of
the id keyed with the secret, in standard base64 with the ``=`` padding
removed, and the whole value is percent-encoded as JavaScript's
``encodeURIComponent`` does. This module is the only one that imports
itsdangerous.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote, unquote

from itsdangerous import BadSignature, Signer

#: Marks a signed value, as in express-session and cookie-parser.
SIGNED_PREFIX = "s:"

# encodeURIComponent leaves letters, digits and these characters alone.
_URI_COMPONENT_SAFE = "-_.!~*'()"

# A SHA-256 digest in base64 without padding is always 43 characters.
_SIGNATURE_LENGTH = 43

# encodeURIComponent of the characters standard base64 has beyond the safe
# ones: a signature is escaped by this table, without quote()'s general path.
_ESCAPE_BASE64 = str.maketrans({"+": "%2B", "/": "%2F"})


def _b64encode(raw: bytes) -> bytes:
    return base64.b64encode(raw).rstrip(b"=")


def _decode_uri_component(value: str) -> str:
    # What the cookie this module writes holds: "s%3A", then "%2B" and "%2F"
    # in the signature. With those decoded and no "%" left, that is what
    # unquote() would give, for a fraction of its time.
    decoded = value.replace("%3A", ":").replace("%2B", "+").replace("%2F", "/")
    if "%" not in decoded:
        return decoded
    # A malformed escape leaves the value as it is, as in Node.
    with contextlib.suppress(UnicodeDecodeError):
        return unquote(value, errors="strict")
    return value


class ExpressSigner(Signer):
    """An itsdangerous :class:`~itsdangerous.Signer` that writes and checks
    signatures as Node's ``cookie-signature`` does: HMAC-SHA256 of the value
    keyed with the raw secret, standard base64 without padding.

    itsdangerous signs with the *last* key of its list; pass the keys oldest
    first. Verification tries every key in constant time per key.
    """

    default_digest_method = staticmethod(hashlib.sha256)
    default_key_derivation = "none"

    def get_signature(self, value: str | bytes) -> bytes:
        if isinstance(value, str):
            value = value.encode()
        return _b64encode(self.algorithm.get_signature(self.derive_key(), value))

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        # cookie-signature compares the base64 text, so exactly one spelling
        # of a signature is valid: compare the text too, in constant time,
        # with each key (all of them, whichever matches).
        if isinstance(sig, str):
            sig = sig.encode("ascii", "replace")
        if len(sig) != _SIGNATURE_LENGTH:
            return False
        if isinstance(value, str):
            value = value.encode()
        matched = False
        for key in self._derived_keys:
            expected = _b64encode(self.algorithm.get_signature(key, value))
            matched |= hmac.compare_digest(expected, sig)
        return matched

    @functools.cached_property
    def _derived_keys(self) -> list[bytes]:
        return [self.derive_key(key) for key in self.secret_keys]


class CookieSigner:
    """Turns a session id into the cookie value and back.

    :param secrets: the secrets, newest first: the first signs, all verify.
    """

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self._signer = ExpressSigner(list(reversed(secrets)), salt=None)

    def sign(self, sid: str) -> str:
        """The cookie value for ``sid``, percent-encoded, ready for a header."""
        # encodeURIComponent of "s:" + sid + "." + signature, part by part.
        signature = self._signer.get_signature(sid).decode().translate(_ESCAPE_BASE64)
        return "s%3A" + quote(sid, safe=_URI_COMPONENT_SAFE) + "." + signature

    def unsign(self, value: str) -> str | None:
        """The session id a request's cookie value carries, or ``None``.

        ``None`` when the value is not ``s:``-prefixed or no secret verifies
        its signature. The value is percent-decoded first, as the ``cookie``
        package of Node does.
        """
        if "%" in value:
            value = _decode_uri_component(value)
        if not value.startswith(SIGNED_PREFIX):
            return None
        try:
            return self._signer.unsign(value[len(SIGNED_PREFIX) :].encode()).decode()
        except (BadSignature, UnicodeError):
            return None
