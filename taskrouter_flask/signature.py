"""Compute and check ``X-Twilio-Signature``, for form and JSON bodies.

Every TaskRouter callback is signed by Twilio with the account's auth token:
HMAC-SHA1 over the full URL it requested followed by each form field's name
and value, fields sorted by name, base64-encoded. A JSON body is instead bound
to the signature through a ``bodySHA256`` query parameter (the hex SHA-256 of
the raw body) and no fields are appended.

This module is pure (no Flask, no package state) so that the extension, the
sandbox that signs its own callbacks and the test helpers all share exactly one
implementation. It is on the hot path of every callback, so it avoids URL
parsing objects and computes the field string once however many URL variants
and tokens are tried.

Two readings of Twilio's rules, both as Twilio's own helper library does them:

* A field sent several times contributes each *distinct* value once, values
  sorted (``Digits=5678&Digits=1234&Digits=1234`` signs as
  ``Digits1234Digits5678``).
* Twilio is not consistent about default ports (``:443``/``:80``), so a URL is
  accepted with and without its scheme's default port. A non-default port is
  never dropped: that would let one port's signature pass on another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeAlias

__all__ = [
    "SIGNATURE_HEADER",
    "body_sha256",
    "compute_signature",
    "signature_url_variants",
    "validate_signature",
]

#: The request header that carries the signature.
SIGNATURE_HEADER = "X-Twilio-Signature"

_DEFAULT_PORTS = {"https": "443", "http": "80"}

#: What a JSON body's raw bytes may come as (a tuple: ``bytes | ...`` is rebuilt at each call).
_RAW_BODY = (bytes, bytearray, memoryview)


class _MultiValued(Protocol):
    """A mapping that can give every value of a repeated field (werkzeug's MultiDict)."""

    def getlist(self, key: str) -> list[str]: ...

    def keys(self) -> Iterable[str]: ...


#: Form fields: a mapping (a repeated field's value is a list of values), or a MultiDict.
FormParams: TypeAlias = Mapping[str, str | Sequence[str]] | _MultiValued
#: What a signature covers besides the URL: form fields, or the raw bytes of a JSON body.
SignedContent: TypeAlias = FormParams | bytes | None


def body_sha256(body: bytes) -> str:
    """Return the lowercase hex SHA-256 that Twilio puts in ``bodySHA256`` for a JSON body.

    :param body: the raw request body, exactly as sent.
    """
    return hashlib.sha256(body).hexdigest()


def compute_signature(url: str, params: SignedContent, auth_token: str) -> str:
    """Return the ``X-Twilio-Signature`` value Twilio sends for this request.

    :param url: the full URL requested, scheme through query string. Any
        ``user:password@`` part is left out of the signature, as Twilio does.
    :param params: the form fields (a mapping, a mapping of lists, or a
        werkzeug ``MultiDict``), or the raw ``bytes`` of a JSON body (whose
        ``bodySHA256`` must already be in ``url``), or ``None``.
    :param auth_token: the account's auth token.
    :raises ValueError: if ``auth_token`` is empty.
    """
    key = _token_bytes(auth_token)
    message = _strip_userinfo(url).encode() + _content_bytes(params)
    return base64.b64encode(hmac.digest(key, message, "sha1")).decode("ascii")


def validate_signature(
    url: str,
    params: SignedContent,
    signature: str | None,
    auth_token: str | Sequence[str],
) -> bool:
    """Tell whether ``signature`` is Twilio's signature of this request.

    The comparison is constant-time. For a JSON body (``params`` is ``bytes``)
    the URL must carry a ``bodySHA256`` equal to the body's SHA-256, else the
    request is refused whatever the signature.

    :param url: the full URL as received, scheme through query string.
    :param params: as for :func:`compute_signature`.
    :param signature: the ``X-Twilio-Signature`` header value (``None`` when absent).
    :param auth_token: the auth token, or several tokens to accept (a primary
        and a secondary while a token is being rotated).
    :raises ValueError: if a token is empty or no token is given.
    """
    tokens = [auth_token] if isinstance(auth_token, str) else list(auth_token)
    if not tokens:
        raise ValueError("auth_token: expected at least one auth token, got none")
    keys = [_token_bytes(token) for token in tokens]
    expected = _signature_bytes(signature)
    if expected is None:
        return False
    if isinstance(params, _RAW_BODY) and not _body_hash_matches(url, bytes(params)):
        return False
    content = _content_bytes(params)
    # The URL as received is what Twilio signed nearly always: its other spellings are
    # only worked out when it fails.
    if _signs(_strip_userinfo(url), content, keys, expected):
        return True
    return any(
        _signs(candidate, content, keys, expected) for candidate in signature_url_variants(url)[1:]
    )


def _signs(url: str, content: bytes, keys: list[bytes], expected: bytes) -> bool:
    message = url.encode() + content
    for key in keys:
        if hmac.compare_digest(base64.b64encode(hmac.digest(key, message, "sha1")), expected):
            return True
    return False


def signature_url_variants(url: str) -> tuple[str, ...]:
    """Return the spellings of ``url`` a signature may have been computed over.

    The URL itself (less any ``user:password@``) first, then the same URL with
    its scheme's default port added or removed. A non-default port is kept.

    :param url: an absolute URL.
    """
    url = _strip_userinfo(url)
    scheme, sep, rest = url.partition("://")
    default_port = _DEFAULT_PORTS.get(scheme.lower())
    if not sep or default_port is None:
        return (url,)
    end = _authority_end(rest)
    authority, tail = rest[:end], rest[end:]
    host, port = _split_port(authority)
    prefix = scheme + "://" + host
    if port is None:
        return (url, f"{prefix}:{default_port}{tail}")
    if port == default_port:
        return (url, prefix + tail)
    return (url,)


def _token_bytes(token: str) -> bytes:
    if not isinstance(token, str) or not token:
        raise ValueError("auth_token: expected a non-empty string")
    return token.encode()


def _signature_bytes(signature: str | None) -> bytes | None:
    """The header as bytes to compare with our base64 (so only the canonical spelling passes)."""
    if not isinstance(signature, str) or not signature.isascii():
        return None
    return signature.encode("ascii")


def _content_bytes(params: SignedContent) -> bytes:
    """Return the part of the signed string that follows the URL."""
    if params is None or isinstance(params, _RAW_BODY):
        return b""
    if type(params) is dict:
        # A parsed form (see schemas.parse_form): each name once, sorted with its value. A
        # repeated field's list of values fails the concatenation and goes the general way.
        try:
            return "".join([name + value for name, value in sorted(params.items())]).encode()
        except TypeError:
            pass
    getlist = getattr(params, "getlist", None)
    pieces: list[str] = []
    for name in sorted(params.keys()):
        if getlist is not None:
            values: Iterable[str] = getlist(name)
        else:
            value = params[name]  # type: ignore[index]
            values = (value,) if isinstance(value, str) else value
        distinct = set(values)
        if len(distinct) == 1:
            pieces.append(name)
            pieces.extend(distinct)
        else:
            for value in sorted(distinct):
                pieces.append(name)
                pieces.append(value)
    return "".join(pieces).encode()


def _body_hash_matches(url: str, body: bytes) -> bool:
    query = url.partition("?")[2].partition("#")[0]
    hashes = [part[11:] for part in query.split("&") if part.startswith("bodySHA256=")]
    if len(hashes) != 1:
        return False
    return hmac.compare_digest(hashes[0].lower().encode(), body_sha256(body).encode())


def _authority_end(rest: str) -> int:
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1 and index < end:
            end = index
    return end


def _split_port(authority: str) -> tuple[str, str | None]:
    """Split ``host[:port]`` (IPv6 hosts in brackets) into host and port."""
    bracket = authority.rfind("]")
    colon = authority.rfind(":")
    if colon > bracket:
        return authority[:colon], authority[colon + 1 :]
    return authority, None


def _strip_userinfo(url: str) -> str:
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = _authority_end(rest)
    at = rest.rfind("@", 0, end)
    if at == -1:
        return url
    return scheme + sep + rest[at + 1 :]
