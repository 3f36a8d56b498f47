"""Tests for ``X-Twilio-Signature``: published vectors, an oracle, tampering, ports, JSON bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from taskrouter_flask.signature import (
    SIGNATURE_HEADER,
    body_sha256,
    compute_signature,
    signature_url_variants,
    validate_signature,
)

# --------------------------------------------------------------------------- oracle


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def oracle_signature(url: str, pairs: Iterable[tuple[str, str]], token: str) -> str:
    """Twilio's algorithm written from the docs: URL, then sorted name+value, HMAC-SHA1, base64.

    A repeated field contributes each distinct value once, values sorted (twilio-python's reading).
    """
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    data = url
    for name in sorted(values, key=_utf8):
        for value in sorted(values[name], key=_utf8):
            data += name + value
    mac = hmac.new(_utf8(token), _utf8(data), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


# --------------------------------------------------------------------------- strategies

_DEFAULT_PORT = {"http": "80", "https": "443"}
_URL_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%/"
_TOKEN_CHARS = "0123456789abcdef"


@dataclass(frozen=True)
class Url:
    """An absolute URL kept in parts so that tests can change one part at a time."""

    scheme: str
    host: str
    port: str | None
    path: str
    query: str | None
    userinfo: str | None = None

    def render(self, *, userinfo: bool = True) -> str:
        authority = self.host if self.port is None else f"{self.host}:{self.port}"
        if userinfo and self.userinfo is not None:
            authority = f"{self.userinfo}@{authority}"
        query = "" if self.query is None else f"?{self.query}"
        return f"{self.scheme}://{authority}{self.path}{query}"


_labels = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=10)
hosts = st.one_of(
    st.lists(_labels, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.sampled_from(["[::1]", "[2001:db8::1]", "[fe80::1:2]", "localhost"]),
)
ports = st.one_of(st.none(), st.sampled_from(["80", "443"]), st.integers(1, 65535).map(str))
paths = st.one_of(
    st.just(""), st.text(alphabet=_URL_CHARS, max_size=20).map(lambda path: "/" + path)
)
queries = st.one_of(st.none(), st.text(alphabet=_URL_CHARS + "?", max_size=20))
userinfos = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~!$&'()*+,;=:%@", max_size=12
)


@st.composite
def urls(draw: st.DrawFn, *, with_userinfo: bool = False) -> Url:
    return Url(
        scheme=draw(st.sampled_from(["http", "https"])),
        host=draw(hosts),
        port=draw(ports),
        path=draw(paths),
        query=draw(queries),
        userinfo=draw(userinfos) if with_userinfo else None,
    )


names = st.text(min_size=1, max_size=10)
values = st.text(max_size=10)
form_params = st.dictionaries(names, values, max_size=6)
tokens = st.text(alphabet=_TOKEN_CHARS, min_size=32, max_size=32)
bodies = st.binary(max_size=64)

FAST = settings(max_examples=40, deadline=None)


def _with_body_hash(url: str, digest: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}bodySHA256={digest}"


# --------------------------------------------------------------------------- published vectors

TOKEN = "12345"
DOCS_URL = "https://example.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
PY_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PY_URL_443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
PY_HTTP = "http://mycompany.com/myapp.php?foo=1&bar=2"
PY_HTTP_80 = "http://mycompany.com:80/myapp.php?foo=1&bar=2"
PY_HTTP_1234 = "http://mycompany.com:1234/myapp.php?foo=1&bar=2"
PY_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIG_NO_PORT = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SIG_443 = "kvajT1Ptam85bY51eRf/AJRuM3w="
SIG_HTTP_80 = "0ZXoZLH/DfblKGATFgpif+LLRf4="
SIG_HTTP_1234 = "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
SIG_MULTI = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
JSON_BODY = b'{"property": "value", "boolean": true}'
JSON_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
SIG_JSON = "a9nBmqA0ju/hNViExpshrM61xv4="


def _multi_params() -> MultiDict[str, str]:
    return MultiDict(
        [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]
    )


def test_header_name() -> None:
    assert SIGNATURE_HEADER == "X-Twilio-Signature"


def test_twilio_docs_vector() -> None:
    assert compute_signature(DOCS_URL, DOCS_PARAMS, TOKEN) == "L/OH5YylLD5NRKLltdqwSvS0BnU="
    assert validate_signature(DOCS_URL, DOCS_PARAMS, "L/OH5YylLD5NRKLltdqwSvS0BnU=", TOKEN)


@pytest.mark.parametrize(
    ("signed_url", "signature"),
    [
        (PY_URL, SIG_NO_PORT),
        (PY_URL_443, SIG_443),
        (PY_HTTP_80, SIG_HTTP_80),
        (PY_HTTP_1234, SIG_HTTP_1234),
    ],
)
def test_port_vectors_are_computed_over_the_url_as_spelled(signed_url: str, signature: str) -> None:
    assert compute_signature(signed_url, PY_PARAMS, TOKEN) == signature
    assert validate_signature(signed_url, PY_PARAMS, signature, TOKEN)


@pytest.mark.parametrize("signature", [SIG_NO_PORT, SIG_443])
@pytest.mark.parametrize("received_url", [PY_URL, PY_URL_443])
def test_https_default_port_is_optional_both_ways(received_url: str, signature: str) -> None:
    assert validate_signature(received_url, PY_PARAMS, signature, TOKEN)


@pytest.mark.parametrize("received_url", [PY_HTTP, PY_HTTP_80])
def test_http_default_port_is_optional_both_ways(received_url: str) -> None:
    assert validate_signature(received_url, PY_PARAMS, SIG_HTTP_80, TOKEN)
    without_port = compute_signature(PY_HTTP, PY_PARAMS, TOKEN)
    assert validate_signature(received_url, PY_PARAMS, without_port, TOKEN)


@pytest.mark.parametrize(
    "received_url",
    [PY_HTTP, PY_HTTP_80, "http://mycompany.com:1235/myapp.php?foo=1&bar=2"],
)
def test_non_default_port_signature_does_not_move_to_another_port(received_url: str) -> None:
    assert not validate_signature(received_url, PY_PARAMS, SIG_HTTP_1234, TOKEN)


def test_signature_without_port_does_not_validate_on_non_default_port() -> None:
    assert not validate_signature(
        PY_HTTP_1234, PY_PARAMS, compute_signature(PY_HTTP, PY_PARAMS, TOKEN), TOKEN
    )


@pytest.mark.parametrize(
    ("received_url", "signature"),
    [
        (PY_HTTP, SIG_NO_PORT),
        (PY_HTTP_80, SIG_443),
        (PY_URL, SIG_HTTP_80),
        (PY_URL_443, SIG_HTTP_80),
    ],
)
def test_scheme_is_part_of_the_signature(received_url: str, signature: str) -> None:
    assert not validate_signature(received_url, PY_PARAMS, signature, TOKEN)


def test_duplicate_key_multidict_vector() -> None:
    params = _multi_params()
    assert compute_signature(PY_URL, params, TOKEN) == SIG_MULTI
    assert validate_signature(PY_URL, params, SIG_MULTI, TOKEN)
    as_lists = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]}
    assert compute_signature(PY_URL, as_lists, TOKEN) == SIG_MULTI
    assert validate_signature(PY_URL, as_lists, SIG_MULTI, TOKEN)


def test_multidict_vector_depends_on_every_value() -> None:
    # A plain dict keeps only one value per field: it must not produce the MultiDict signature.
    first_only = {"Sid": "CA123", "SidAccount": "AC123", "Digits": "5678"}
    assert not validate_signature(PY_URL, first_only, SIG_MULTI, TOKEN)


def test_json_body_vector() -> None:
    assert body_sha256(JSON_BODY) == JSON_HASH
    url = _with_body_hash(PY_URL, JSON_HASH)
    assert url == PY_URL + "&bodySHA256=" + JSON_HASH
    assert compute_signature(url, JSON_BODY, TOKEN) == SIG_JSON
    assert validate_signature(url, JSON_BODY, SIG_JSON, TOKEN)
    assert validate_signature(url, bytearray(JSON_BODY), SIG_JSON, TOKEN)
    assert validate_signature(url, memoryview(JSON_BODY), SIG_JSON, TOKEN)


# --------------------------------------------------------------------------- oracle properties


def test_oracle_reproduces_published_vectors() -> None:
    # The oracle is only worth something if it agrees with Twilio's own numbers.
    assert oracle_signature(DOCS_URL, DOCS_PARAMS.items(), TOKEN) == "L/OH5YylLD5NRKLltdqwSvS0BnU="
    assert oracle_signature(PY_URL_443, PY_PARAMS.items(), TOKEN) == SIG_443
    assert oracle_signature(PY_URL, _multi_params().items(multi=True), TOKEN) == SIG_MULTI
    assert oracle_signature(_with_body_hash(PY_URL, JSON_HASH), [], TOKEN) == SIG_JSON


@FAST
@given(url=urls(), params=form_params, token=tokens)
def test_compute_signature_matches_oracle(url: Url, params: dict[str, str], token: str) -> None:
    text = url.render()
    expected = oracle_signature(text, params.items(), token)
    assert compute_signature(text, params, token) == expected
    assert validate_signature(text, params, expected, token)
    assert validate_signature(text, MultiDict(params), expected, token)


@FAST
@given(url=urls(), params=form_params, token=st.text(min_size=1, max_size=80))
def test_any_unicode_token_matches_oracle(url: Url, params: dict[str, str], token: str) -> None:
    text = url.render()
    expected = oracle_signature(text, params.items(), token)
    assert compute_signature(text, params, token) == expected
    assert validate_signature(text, params, expected, token)


@FAST
@given(url=urls(), token=tokens)
def test_no_params_signs_the_url_alone(url: Url, token: str) -> None:
    text = url.render()
    expected = oracle_signature(text, [], token)
    assert compute_signature(text, None, token) == expected
    assert compute_signature(text, {}, token) == expected
    assert validate_signature(text, None, expected, token)


@FAST
@given(url=urls(with_userinfo=True), params=form_params, token=tokens)
def test_userinfo_is_left_out_of_the_signature(
    url: Url, params: dict[str, str], token: str
) -> None:
    expected = oracle_signature(url.render(userinfo=False), params.items(), token)
    assert compute_signature(url.render(), params, token) == expected
    assert validate_signature(url.render(), params, expected, token)


@FAST
@given(url=urls(), params=form_params, token=tokens)
def test_default_port_rules_against_oracle(url: Url, params: dict[str, str], token: str) -> None:
    default = _DEFAULT_PORT[url.scheme]
    with_default = replace(url, port=default).render()
    without_port = replace(url, port=None).render()
    received = url.render()
    if url.port is None or url.port == default:
        for signed in (with_default, without_port):
            sig = oracle_signature(signed, params.items(), token)
            assert validate_signature(received, params, sig, token)
    else:
        for signed in (with_default, without_port):
            sig = oracle_signature(signed, params.items(), token)
            assert not validate_signature(received, params, sig, token)


# --------------------------------------------------------------------------- tampering


@dataclass(frozen=True)
class Signed:
    url: Url
    params: dict[str, str]
    token: str

    @property
    def signature(self) -> str:
        return oracle_signature(self.url.render(), self.params.items(), self.token)

    def accepts(self, url: Url, params: dict[str, str], signature: str | None) -> bool:
        return validate_signature(url.render(), params, signature, self.token)


signed_requests = st.builds(Signed, url=urls(), params=form_params, token=tokens)


@FAST
@given(signed=signed_requests, data=st.data())
def test_changing_one_value_is_refused(signed: Signed, data: st.DataObject) -> None:
    assume(signed.params)
    name = data.draw(st.sampled_from(sorted(signed.params)))
    new_value = data.draw(values.filter(lambda value: value != signed.params[name]))
    tampered = {**signed.params, name: new_value}
    assert not signed.accepts(signed.url, tampered, signed.signature)


@FAST
@given(signed=signed_requests, name=names, value=values)
def test_adding_a_param_is_refused(signed: Signed, name: str, value: str) -> None:
    assume(name not in signed.params)
    tampered = {**signed.params, name: value}
    assert not signed.accepts(signed.url, tampered, signed.signature)


@FAST
@given(signed=signed_requests, data=st.data())
def test_removing_a_param_is_refused(signed: Signed, data: st.DataObject) -> None:
    assume(signed.params)
    name = data.draw(st.sampled_from(sorted(signed.params)))
    tampered = {key: value for key, value in signed.params.items() if key != name}
    assert not signed.accepts(signed.url, tampered, signed.signature)


@FAST
@given(signed=signed_requests, extra=st.text(alphabet=_URL_CHARS, min_size=1, max_size=5))
def test_changing_the_path_is_refused(signed: Signed, extra: str) -> None:
    tampered = replace(signed.url, path=signed.url.path + "/" + extra)
    assert not signed.accepts(tampered, signed.params, signed.signature)


@FAST
@given(signed=signed_requests, extra=st.text(alphabet=_URL_CHARS, min_size=1, max_size=5))
def test_changing_the_query_is_refused(signed: Signed, extra: str) -> None:
    query = extra if signed.url.query is None else signed.url.query + "&" + extra
    tampered = replace(signed.url, query=query)
    assert not signed.accepts(tampered, signed.params, signed.signature)
    if signed.url.query is not None:
        assert not signed.accepts(replace(signed.url, query=None), signed.params, signed.signature)


@FAST
@given(signed=signed_requests, other=hosts)
def test_changing_the_host_is_refused(signed: Signed, other: str) -> None:
    assume(other != signed.url.host)
    tampered = replace(signed.url, host=other)
    assert not signed.accepts(tampered, signed.params, signed.signature)


@FAST
@given(signed=signed_requests)
def test_changing_the_scheme_is_refused(signed: Signed) -> None:
    other = "https" if signed.url.scheme == "http" else "http"
    for port in {signed.url.port, None, _DEFAULT_PORT[other]}:
        tampered = replace(signed.url, scheme=other, port=port)
        assert not signed.accepts(tampered, signed.params, signed.signature)


@FAST
@given(signed=signed_requests, wrong=tokens)
def test_wrong_token_is_refused(signed: Signed, wrong: str) -> None:
    assume(wrong != signed.token)
    text = signed.url.render()
    assert not validate_signature(text, signed.params, signed.signature, wrong)
    assert not validate_signature(text, signed.params, signed.signature, [wrong, wrong.upper()])


@FAST
@given(signed=signed_requests)
def test_missing_or_empty_signature_is_refused(signed: Signed) -> None:
    assert not signed.accepts(signed.url, signed.params, None)
    assert not signed.accepts(signed.url, signed.params, "")


@FAST
@given(signed=signed_requests, data=st.data())
def test_truncated_signature_is_refused(signed: Signed, data: st.DataObject) -> None:
    signature = signed.signature
    cut = data.draw(st.integers(0, len(signature) - 1))
    assert not signed.accepts(signed.url, signed.params, signature[:cut])
    assert not signed.accepts(signed.url, signed.params, signature[cut + 1 :])


@FAST
@given(
    signed=signed_requests,
    data=st.data(),
    junk=st.sampled_from(list("!#$%&*-._~,;:\\\"'`é€\x00")),
)
def test_non_base64_signature_is_refused(signed: Signed, data: st.DataObject, junk: str) -> None:
    signature = signed.signature
    at = data.draw(st.integers(0, len(signature)))
    spoiled = signature[:at] + junk + signature[at:]
    assert not signed.accepts(signed.url, signed.params, spoiled)
    replaced = signature[:at] + junk + signature[at + 1 :]
    assert not signed.accepts(signed.url, signed.params, replaced)


@FAST
@given(signed=signed_requests, index=st.integers(0, 19), mask=st.integers(1, 255))
def test_flipped_signature_bits_are_refused(signed: Signed, index: int, mask: int) -> None:
    raw = bytearray(base64.b64decode(signed.signature))
    raw[index] ^= mask
    flipped = base64.b64encode(bytes(raw)).decode("ascii")
    assert not signed.accepts(signed.url, signed.params, flipped)


@pytest.mark.parametrize(
    "signature",
    [
        "L/OH5YylLD5NRKLltdqwSvS0BnU",  # padding dropped
        "L/OH5YylLD5NRKLltdqwSvS0BnU==",  # extra padding
        "L_OH5YylLD5NRKLltdqwSvS0BnU=",  # url-safe alphabet
        "L/OH5YylLD\n5NRKLltdqwSvS0BnU=",  # whitespace inside
        base64.b64encode(b"\x00" * 20).decode(),  # well-formed, wrong digest
        base64.b64encode(b"\x00" * 32).decode(),  # wrong length
        "L/OH5YylLD5NRKLltdqwSvS0BnU=L/OH5YylLD5NRKLltdqwSvS0BnU=",  # twice
    ],
)
def test_malformed_signature_strings_are_refused(signature: str) -> None:
    assert not validate_signature(DOCS_URL, DOCS_PARAMS, signature, TOKEN)


@pytest.mark.parametrize("last", ["V", "W", "X"])
def test_non_canonical_base64_signature_is_refused(last: str) -> None:
    genuine = "L/OH5YylLD5NRKLltdqwSvS0BnU="
    spelled_differently = genuine[:-2] + last + "="
    assert base64.b64decode(spelled_differently) == base64.b64decode(genuine)
    assert not validate_signature(DOCS_URL, DOCS_PARAMS, spelled_differently, TOKEN)


# --------------------------------------------------------------------------- token rotation


@FAST
@given(url=urls(), params=form_params, primary=tokens, secondary=tokens)
def test_rotation_accepts_either_token(
    url: Url, params: dict[str, str], primary: str, secondary: str
) -> None:
    text = url.render()
    for token in (primary, secondary):
        signature = oracle_signature(text, params.items(), token)
        assert validate_signature(text, params, signature, [primary, secondary])
        assert validate_signature(text, params, signature, (secondary, primary))


@FAST
@given(url=urls(), params=form_params, primary=tokens, secondary=tokens, other=tokens)
def test_rotation_refuses_a_third_token(
    url: Url, params: dict[str, str], primary: str, secondary: str, other: str
) -> None:
    assume(other not in (primary, secondary))
    text = url.render()
    signature = oracle_signature(text, params.items(), other)
    assert not validate_signature(text, params, signature, [primary, secondary])


@pytest.mark.parametrize("signature", [SIG_NO_PORT, None, "", "garbage"])
def test_no_token_raises(signature: str | None) -> None:
    with pytest.raises(ValueError):
        validate_signature(PY_URL, PY_PARAMS, signature, [])
    with pytest.raises(ValueError):
        validate_signature(PY_URL, PY_PARAMS, signature, ())


@pytest.mark.parametrize("signature", [SIG_NO_PORT, None, ""])
@pytest.mark.parametrize("token", ["", [""], [TOKEN, ""], ["", TOKEN]])
def test_empty_token_raises(signature: str | None, token: str | list[str]) -> None:
    with pytest.raises(ValueError):
        validate_signature(PY_URL, PY_PARAMS, signature, token)


def test_compute_with_empty_token_raises() -> None:
    with pytest.raises(ValueError):
        compute_signature(PY_URL, PY_PARAMS, "")


# --------------------------------------------------------------------------- JSON bodies


@FAST
@given(url=urls(), body=bodies, token=tokens)
def test_json_body_is_bound_through_body_sha256(url: Url, body: bytes, token: str) -> None:
    base = url.render()
    assume("bodySHA256" not in base)
    assert body_sha256(body) == hashlib.sha256(body).hexdigest()
    signed_url = _with_body_hash(base, body_sha256(body))
    expected = oracle_signature(signed_url, [], token)
    assert compute_signature(signed_url, body, token) == expected
    assert validate_signature(signed_url, body, expected, token)


@FAST
@given(url=urls(), body=bodies, token=tokens)
def test_json_body_without_body_sha256_is_refused(url: Url, body: bytes, token: str) -> None:
    base = url.render()
    assume("bodySHA256" not in base)
    signature = oracle_signature(base, [], token)
    assert compute_signature(base, body, token) == signature
    assert not validate_signature(base, body, signature, token)


@FAST
@given(url=urls(), body=bodies, other=bodies, token=tokens)
def test_changed_json_body_is_refused(url: Url, body: bytes, other: bytes, token: str) -> None:
    assume(other != body)
    base = url.render()
    assume("bodySHA256" not in base)
    signed_url = _with_body_hash(base, body_sha256(body))
    signature = oracle_signature(signed_url, [], token)
    assert not validate_signature(signed_url, other, signature, token)
    # Re-hashing the URL to the new body does not help: the URL is signed.
    forged_url = _with_body_hash(base, body_sha256(other))
    assert not validate_signature(forged_url, other, signature, token)


@FAST
@given(url=urls(), body=bodies, token=tokens)
def test_body_sha256_given_twice_is_refused(url: Url, body: bytes, token: str) -> None:
    base = url.render()
    assume("bodySHA256" not in base)
    digest = body_sha256(body)
    signed_url = _with_body_hash(_with_body_hash(base, digest), digest)
    signature = oracle_signature(signed_url, [], token)
    assert not validate_signature(signed_url, body, signature, token)


def test_body_sha256_must_be_the_whole_name() -> None:
    url = PY_URL + "&xbodySHA256=" + JSON_HASH
    signature = compute_signature(url, JSON_BODY, TOKEN)
    assert not validate_signature(url, JSON_BODY, signature, TOKEN)


# --------------------------------------------------------------------------- URL variants


@pytest.mark.parametrize(
    ("url", "variants"),
    [
        (
            "https://example.com/a?b=1",
            ("https://example.com/a?b=1", "https://example.com:443/a?b=1"),
        ),
        ("http://example.com/a", ("http://example.com/a", "http://example.com:80/a")),
        ("https://example.com:443/a", ("https://example.com:443/a", "https://example.com/a")),
        ("http://example.com:80/a", ("http://example.com:80/a", "http://example.com/a")),
        ("https://example.com", ("https://example.com", "https://example.com:443")),
        ("https://example.com?x=/y", ("https://example.com?x=/y", "https://example.com:443?x=/y")),
        ("https://example.com:8443/a", ("https://example.com:8443/a",)),
        ("https://example.com:80/a", ("https://example.com:80/a",)),
        ("http://example.com:443/a", ("http://example.com:443/a",)),
        ("http://example.com:1234/a", ("http://example.com:1234/a",)),
        ("https://user:pass@example.com/a", ("https://example.com/a", "https://example.com:443/a")),
        (
            "https://u:p@ss@example.com:443/a",
            ("https://example.com:443/a", "https://example.com/a"),
        ),
        ("http://user@example.com:8080/a", ("http://example.com:8080/a",)),
        (
            "https://example.com/a@b:1?c=d@e",
            ("https://example.com/a@b:1?c=d@e", "https://example.com:443/a@b:1?c=d@e"),
        ),
        ("https://[::1]:443/a", ("https://[::1]:443/a", "https://[::1]/a")),
        ("https://[::1]/a", ("https://[::1]/a", "https://[::1]:443/a")),
        ("http://[2001:db8::1]:8080/a", ("http://[2001:db8::1]:8080/a",)),
        ("https://u:p@[::1]:443/a", ("https://[::1]:443/a", "https://[::1]/a")),
    ],
)
def test_signature_url_variants(url: str, variants: tuple[str, ...]) -> None:
    assert signature_url_variants(url) == variants


@FAST
@given(url=urls(with_userinfo=True))
def test_signature_url_variants_property(url: Url) -> None:
    variants = signature_url_variants(url.render())
    bare = url.render(userinfo=False)
    assert variants[0] == bare
    default = _DEFAULT_PORT[url.scheme]
    if url.port is None:
        assert variants == (bare, replace(url, port=default).render(userinfo=False))
    elif url.port == default:
        assert variants == (bare, replace(url, port=None).render(userinfo=False))
    else:
        assert variants == (bare,)


def test_ipv6_default_port_validates_both_ways() -> None:
    with_port = "https://[::1]:443/cb?x=1"
    without_port = "https://[::1]/cb?x=1"
    for signed in (with_port, without_port):
        signature = compute_signature(signed, PY_PARAMS, TOKEN)
        assert validate_signature(with_port, PY_PARAMS, signature, TOKEN)
        assert validate_signature(without_port, PY_PARAMS, signature, TOKEN)


# --------------------------------------------------------------------------- multi-valued params

multi_params = st.dictionaries(names, st.lists(values, min_size=1, max_size=4), max_size=5)


@FAST
@given(url=urls(), params=multi_params, token=tokens, data=st.data())
def test_dict_of_lists_signs_like_multidict(
    url: Url, params: dict[str, list[str]], token: str, data: st.DataObject
) -> None:
    pairs = [(name, value) for name, items in params.items() for value in items]
    shuffled = data.draw(st.permutations(pairs))
    text = url.render()
    expected = oracle_signature(text, pairs, token)
    assert compute_signature(text, params, token) == expected
    assert compute_signature(text, MultiDict(shuffled), token) == expected
    assert validate_signature(text, params, expected, token)
    assert validate_signature(text, MultiDict(shuffled), expected, token)


@FAST
@given(url=urls(), params=form_params, token=tokens)
def test_single_item_lists_sign_like_strings(url: Url, params: dict[str, str], token: str) -> None:
    text = url.render()
    as_lists = {name: [value] for name, value in params.items()}
    as_tuples = {name: (value,) for name, value in params.items()}
    expected = compute_signature(text, params, token)
    assert compute_signature(text, as_lists, token) == expected
    assert compute_signature(text, as_tuples, token) == expected


@FAST
@given(url=urls(), name=names, value=values, token=tokens, repeats=st.integers(2, 4))
def test_repeated_identical_values_count_once(
    url: Url, name: str, value: str, token: str, repeats: int
) -> None:
    text = url.render()
    assert compute_signature(text, {name: [value] * repeats}, token) == compute_signature(
        text, {name: value}, token
    )


def test_values_are_sorted_whatever_the_order_received() -> None:
    forward = MultiDict([("Digits", "1234"), ("Digits", "5678")])
    backward = MultiDict([("Digits", "5678"), ("Digits", "1234")])
    assert compute_signature(PY_URL, forward, TOKEN) == compute_signature(PY_URL, backward, TOKEN)
    assert compute_signature(PY_URL, forward, TOKEN) == oracle_signature(
        PY_URL, [("Digits", "1234"), ("Digits", "5678")], TOKEN
    )


def test_names_sort_case_sensitively_uppercase_first() -> None:
    params = {"b": "1", "B": "2", "a": "3", "A": "4", "_": "5"}
    url = "https://example.com/cb"
    expected = hmac.new(b"tok", b"https://example.com/cbA4B2_5a3b1", hashlib.sha1).digest()
    assert compute_signature(url, params, "tok") == base64.b64encode(expected).decode()


# --------------------------------------------------------------------------- parsed forms

# What schemas.parse_form gives: a dict whose values are strings, or lists for the names
# sent more than once. The usual case, all strings, is joined in one go; a list falls back.
parsed_forms = st.dictionaries(
    names, st.one_of(values, st.lists(values, min_size=1, max_size=3)), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(url=urls(), params=parsed_forms, token=tokens, data=st.data())
def test_a_parsed_form_signs_as_its_fields(
    url: Url, params: dict[str, str | list[str]], token: str, data: st.DataObject
) -> None:
    pairs = [
        (name, value)
        for name, items in params.items()
        for value in ([items] if isinstance(items, str) else items)
    ]
    text = url.render()
    expected = oracle_signature(text, pairs, token)
    assert compute_signature(text, params, token) == expected
    assert validate_signature(text, params, expected, token)
    assert compute_signature(text, MultiDict(data.draw(st.permutations(pairs))), token) == expected


def test_a_parsed_form_with_a_repeated_field_signs_like_a_multidict() -> None:
    params: dict[str, str | list[str]] = {
        "Sid": "CA123",
        "SidAccount": "AC123",
        "Digits": ["5678", "1234", "1234"],
    }
    assert compute_signature(PY_URL, params, TOKEN) == SIG_MULTI
    assert validate_signature(PY_URL, params, SIG_MULTI, TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a@b/cb",
        "https://example.com/cb?email=a@b.example",
        "https://example.com/cb#x@y",
        "https://user@example.com@evil.example/cb",
    ],
)
def test_an_at_sign_outside_the_authority_stays_in_the_signed_url(url: str) -> None:
    authority_end = min(
        (i for i in (url.find(c, len("https://")) for c in "/?#") if i != -1), default=len(url)
    )
    at = url.rfind("@", 0, authority_end)
    signed = url if at == -1 else "https://" + url[at + 1 :]
    expected = oracle_signature(signed, PY_PARAMS.items(), TOKEN)
    assert compute_signature(url, PY_PARAMS, TOKEN) == expected
    assert validate_signature(url, PY_PARAMS, expected, TOKEN)


@pytest.mark.parametrize(("signed", "received"), [(PY_URL_443, PY_URL), (PY_URL, PY_URL_443)])
def test_the_other_spelling_is_tried_when_the_url_as_received_fails(
    signed: str, received: str
) -> None:
    signature = compute_signature(signed, PY_PARAMS, TOKEN)
    assert compute_signature(received, PY_PARAMS, TOKEN) != signature
    assert validate_signature(received, PY_PARAMS, signature, ["wrong", TOKEN])
