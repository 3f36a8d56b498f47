"""Worker SDK access tokens: made as Twilio's helper library makes them, read as Twilio reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import TaskRouterGrant

from taskrouter_flask.access_token import (
    MAX_TTL,
    ROLES,
    AccessTokenError,
    WorkerGrant,
    mint_worker_token,
    read_worker_token,
)

ACCOUNT = "AC" + "0a" * 16
KEY = "SK" + "1b" * 16
OTHER_KEY = "SK" + "2c" * 16
WORKSPACE = "WS" + "3d" * 16
WORKER = "WK" + "4e" * 16
# 32 characters or more: PyJWT warns about shorter HMAC keys, and warnings are errors here.
SECRET = "worker-token-test-secret-0123456789abcdef"
OTHER_SECRET = "another-api-key-secret-fedcba9876543210"
NOW = 1_700_000_000
TWILIO_HEADER = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}


def ours(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "account_sid": ACCOUNT,
        "api_key_sid": KEY,
        "api_key_secret": SECRET,
        "workspace_sid": WORKSPACE,
        "worker_sid": WORKER,
        "now": NOW,
    }
    return mint_worker_token(**{**arguments, **changes})


def twilios(
    monkeypatch: pytest.MonkeyPatch,
    *,
    role: str | None = "worker",
    identity: str | None = None,
    ttl: int = 3600,
    secret: str = SECRET,
) -> str:
    """A token from Twilio's helper library, issued at NOW (it reads time.time())."""
    token = AccessToken(ACCOUNT, KEY, secret, identity=identity, ttl=ttl)
    token.add_grant(TaskRouterGrant(workspace_sid=WORKSPACE, worker_sid=WORKER, role=role))
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: float(NOW))
        text = token.to_jwt()
    assert isinstance(text, str)
    return text


def read(
    token: str, *, now: float = NOW + 1, api_keys: dict[str, str] | None = None
) -> WorkerGrant:
    return read_worker_token(
        token,
        api_keys={KEY: SECRET} if api_keys is None else api_keys,
        account_sid=ACCOUNT,
        now=now,
    )


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def signed(claims: Any, *, header: Any = None, secret: str = SECRET, raw: bool = False) -> str:
    """A compact JWT made by hand (any header and claims, even ones PyJWT would not write)."""
    head = json.dumps(TWILIO_HEADER if header is None else header)
    body = claims if raw else json.dumps(claims)
    signing_input = f"{b64(head.encode())}.{b64(body.encode())}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


def claims(**changes: Any) -> dict[str, Any]:
    """The claims of ``ours()``, with some changed (``None`` removes one)."""
    base = unverified(ours())[1]
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def grant(**changes: Any) -> dict[str, Any]:
    task_router = {"workspace_sid": WORKSPACE, "worker_sid": WORKER, "role": "worker"}
    task_router.update(changes)
    return {"task_router": task_router}


# -- the same token as Twilio's helper library ------------------------------------------------


@pytest.mark.parametrize("identity", [None, "alice@example.com"])
@pytest.mark.parametrize("role", ROLES)
def test_header_and_claims_are_twilios(
    monkeypatch: pytest.MonkeyPatch, role: str, identity: str | None
) -> None:
    mine = ours(role=role, identity=identity)
    theirs = twilios(monkeypatch, role=role, identity=identity)
    assert unverified(mine) == unverified(theirs)
    # And the same signature input, up to the order of the claims: both verify with the key.
    assert jwt.decode(mine, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert jwt.decode(theirs, SECRET, algorithms=["HS256"], options={"verify_exp": False})


def test_the_claims_spelled_out() -> None:
    header, body = unverified(ours(role="supervisor", ttl=600, identity="alice"))
    assert header == TWILIO_HEADER
    assert body == {
        "jti": f"{KEY}-{NOW}",
        "grants": {
            "task_router": {"workspace_sid": WORKSPACE, "worker_sid": WORKER, "role": "supervisor"},
            "identity": "alice",
        },
        "iss": KEY,
        "sub": ACCOUNT,
        "nbf": NOW,
        "exp": NOW + 600,
    }


def test_the_issue_time_is_the_clock_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW + 0.75)
    assert unverified(ours(now=None))[1]["nbf"] == NOW


@pytest.mark.parametrize("identity", [None, "alice"])
@pytest.mark.parametrize("role", ROLES)
def test_both_tokens_are_read(
    monkeypatch: pytest.MonkeyPatch, role: str, identity: str | None
) -> None:
    expected = WorkerGrant(
        account_sid=ACCOUNT,
        api_key_sid=KEY,
        workspace_sid=WORKSPACE,
        worker_sid=WORKER,
        role=role,  # type: ignore[arg-type]
        expires_at=NOW + 3600,
        identity=identity,
    )
    assert read(ours(role=role, identity=identity)) == expected
    assert read(twilios(monkeypatch, role=role, identity=identity)) == expected


def test_a_grant_without_a_role_is_a_worker_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    # Twilio's TaskRouterGrant leaves the role out when none is given.
    token = twilios(monkeypatch, role=None)
    assert "role" not in unverified(token)[1]["grants"]["task_router"]
    assert read(token).role == "worker"


def test_the_grant_says_what_it_reaches() -> None:
    worker = read(ours(ttl=60))
    assert worker.reaches_worker(WORKER) and not worker.reaches_worker("WK" + "5f" * 16)
    supervisor = read(ours(role="supervisor"))
    assert supervisor.reaches_worker("WK" + "5f" * 16)
    assert worker.lifetime_ms(NOW + 1) == 59_000
    assert worker.lifetime_ms(NOW + 59.5) == 500
    assert worker.lifetime_ms(NOW + 3600) == 0


# -- refusals ----------------------------------------------------------------------------------


def _none_algorithm() -> str:
    return jwt.encode(claims(), None, algorithm="none", headers={"cty": "twilio-fpa;v=1"})


REFUSALS: list[tuple[str, Callable[[], str], dict[str, Any], str]] = [
    ("wrong secret", lambda: ours(api_key_secret=OTHER_SECRET), {}, "signature does not match"),
    (
        "tampered claims",
        lambda: ".".join(
            (
                ours().split(".")[0],
                b64(json.dumps(claims(grants=grant(role="admin"))).encode()),
                ours().split(".")[2],
            )
        ),
        {},
        "signature does not match",
    ),
    (
        "unknown key",
        lambda: ours(api_key_sid=OTHER_KEY),
        {},
        f"signed by '{OTHER_KEY}', which is not",
    ),
    ("no issuer", lambda: signed(claims(iss=None)), {}, "iss .* is None"),
    ("expired", lambda: ours(ttl=60), {"now": NOW + 60}, "expired"),
    ("long expired", lambda: ours(ttl=60), {"now": NOW + 10**6}, "expired"),
    ("not yet valid", lambda: ours(), {"now": NOW - 1}, r"not valid yet \(nbf"),
    ("other account", lambda: ours(account_sid="AC" + "9" * 32), {}, "for account 'AC9+', not"),
    ("no account", lambda: signed(claims(sub=None)), {}, "for account None"),
    ("no grants", lambda: signed(claims(grants=None)), {}, "no task_router grant"),
    ("other grant", lambda: signed(claims(grants={"chat": {}})), {}, "no task_router grant"),
    (
        "grant not an object",
        lambda: signed(claims(grants={"task_router": []})),
        {},
        "no task_router",
    ),
    (
        "bad workspace",
        lambda: signed(claims(grants=grant(workspace_sid="WS123"))),
        {},
        "task_router.workspace_sid is 'WS123'",
    ),
    (
        "no workspace",
        lambda: signed(claims(grants=grant(workspace_sid=None))),
        {},
        "task_router.workspace_sid is None",
    ),
    (
        "bad worker",
        lambda: signed(claims(grants=grant(worker_sid="WA" + "4e" * 16))),
        {},
        "task_router.worker_sid is 'WA4e",
    ),
    (
        "bad role",
        lambda: signed(claims(grants=grant(role="owner"))),
        {},
        "task_router.role is 'owner'",
    ),
    ("empty role", lambda: signed(claims(grants=grant(role=""))), {}, "task_router.role is ''"),
    ("alg none", _none_algorithm, {}, "expected alg HS256, got 'none'"),
    (
        "another algorithm",
        lambda: signed(claims(), header={**TWILIO_HEADER, "alg": "HS512"}),
        {},
        "expected alg HS256, got 'HS512'",
    ),
    ("not a JWT", lambda: "not a token", {}, "not a JSON Web Token"),
    ("empty", lambda: "", {}, "token: missing"),
    ("two parts", lambda: ".".join(ours().split(".")[:2]), {}, "not a JSON Web Token"),
    ("four parts", lambda: ours() + ".e30", {}, "not a JSON Web Token"),
    ("padded base64", lambda: ours().replace(".", "=.", 1), {}, "header is not base64url"),
    ("header not JSON", lambda: b64(b"{nope") + ".e30.e30", {}, "header is not a JSON object"),
    ("header a list", lambda: b64(b"[]") + ".e30.e30", {}, "header is not a JSON object"),
    ("header not UTF-8", lambda: b64(b'{"a":"\xff"}') + ".e30.e30", {}, "header is not a JSON"),
    (
        "deeply nested header",
        lambda: b64(b"[" * 10_000) + ".e30.e30",
        {},
        "header is not a JSON object .*nested too deeply",
    ),
    (
        "no content type",
        lambda: jwt.encode(claims(), SECRET, algorithm="HS256"),
        {},
        "expected cty",
    ),
    (
        "another content type",
        lambda: signed(claims(), header={**TWILIO_HEADER, "cty": "JWT"}),
        {},
        r"expected cty 'twilio-fpa;v=1' \(a Twilio access token\), got 'JWT'",
    ),
    ("payload not JSON", lambda: signed("{", raw=True), {}, "payload is not a JSON object"),
    ("payload a string", lambda: signed("token"), {}, "payload is not a JSON object"),
    ("NaN expiry", lambda: signed(claims(exp=float("nan"))), {}, "payload is not a JSON object"),
    ("infinite expiry", lambda: signed(claims(exp=float("inf"))), {}, "payload is not a JSON"),
    ("no expiry", lambda: signed(claims(exp=None)), {}, "exp must be seconds since the epoch"),
    ("text expiry", lambda: signed(claims(exp=str(NOW + 60))), {}, "exp must be seconds"),
    ("boolean expiry", lambda: signed(claims(exp=True)), {}, "exp must be seconds"),
    ("text nbf", lambda: signed(claims(nbf="now")), {}, "nbf must be seconds"),
    (
        "longer than a day",
        lambda: signed(claims(exp=NOW + MAX_TTL + 1)),
        {},
        "valid for more than 86400 seconds",
    ),
    (
        "longer than a day, without nbf",
        lambda: signed(claims(nbf=None, exp=NOW + 1 + MAX_TTL + 1)),
        {},
        "valid for more than 86400 seconds",
    ),
    ("too long", lambda: "a" * 20_000, {}, "longer than a worker token can be"),
    ("not ASCII", lambda: ours().replace("e", "é", 1), {}, "not base64url"),
]


@pytest.mark.parametrize(
    ("make", "options", "message"),
    [refusal[1:] for refusal in REFUSALS],
    ids=[refusal[0] for refusal in REFUSALS],
)
def test_a_bad_token_is_refused_saying_why(
    make: Callable[[], str], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(AccessTokenError, match=message) as caught:
        read(make(), **options)
    assert caught.value.status == 401
    assert caught.value.message.startswith("token: ")


def test_a_token_is_valid_until_the_second_before_exp() -> None:
    assert read(ours(ttl=60), now=NOW + 59.999).expires_at == NOW + 60
    assert read(ours(ttl=60), now=NOW).worker_sid == WORKER  # from nbf on


def test_a_full_day_is_allowed() -> None:
    assert read(ours(ttl=MAX_TTL)).expires_at == NOW + MAX_TTL
    assert read(signed(claims(nbf=None, exp=NOW + 1 + MAX_TTL))).expires_at == NOW + 1 + MAX_TTL


def test_the_key_that_signed_is_found_among_several() -> None:
    keys = {OTHER_KEY: OTHER_SECRET, KEY: SECRET}
    assert read(ours(), api_keys=keys).api_key_sid == KEY
    assert read(ours(api_key_sid=OTHER_KEY, api_key_secret=OTHER_SECRET), api_keys=keys).api_key_sid


def test_a_short_secret_on_the_server_is_read_without_a_warning() -> None:
    # PyJWT warns when it signs with a short key (an error in this test run); reading the
    # token with the same key is the server's business, and must not warn per request.
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        token = ours(api_key_secret="short")
    assert read(token, api_keys={KEY: "short"}).worker_sid == WORKER


def test_an_identity_that_is_not_text_is_left_out() -> None:
    token = signed(claims(grants={**grant(), "identity": 42}))
    assert read(token).identity is None


@given(st.text(max_size=300))
def test_any_text_is_an_access_token_error(text: str) -> None:
    with pytest.raises(AccessTokenError):
        read(text)


@given(
    st.lists(
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.",
            max_size=40,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_dotted_base64_is_an_access_token_error(parts: list[str]) -> None:
    with pytest.raises(AccessTokenError):
        read(".".join(parts))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "iss": st.sampled_from([KEY, OTHER_KEY]) | JSON,
            "sub": st.sampled_from([ACCOUNT]) | JSON,
            "exp": st.integers(NOW - 10, NOW + 2 * MAX_TTL) | JSON,
            "nbf": st.integers(NOW - 10, NOW + 10) | JSON,
            "grants": st.fixed_dictionaries(
                {},
                optional={
                    "task_router": st.fixed_dictionaries(
                        {},
                        optional={
                            "workspace_sid": st.just(WORKSPACE) | JSON,
                            "worker_sid": st.just(WORKER) | JSON,
                            "role": st.sampled_from(ROLES) | JSON,
                        },
                    )
                    | JSON,
                    "identity": JSON,
                },
            )
            | JSON,
        },
    ),
)
def test_any_signed_claims_are_a_grant_or_an_access_token_error(body: dict[str, Any]) -> None:
    try:
        grant = read(signed(body))
    except AccessTokenError as exc:
        assert exc.message.startswith("token: ") and len(exc.message) < 400
    else:
        assert grant.workspace_sid == WORKSPACE and grant.worker_sid == WORKER
        assert grant.role in ROLES and NOW + 1 < grant.expires_at


# -- minting: each argument checked ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"account_sid": KEY}, "account_sid"),
        ({"api_key_sid": ACCOUNT}, "api_key_sid"),
        ({"api_key_sid": None}, "api_key_sid"),
        ({"workspace_sid": "WS" + "g" * 32}, "workspace_sid"),
        ({"worker_sid": WORKSPACE}, "worker_sid"),
        ({"worker_sid": f" {WORKER}"}, "worker_sid"),
        ({"api_key_secret": ""}, "api_key_secret"),
        ({"api_key_secret": "   "}, "api_key_secret"),
        ({"api_key_secret": None}, "api_key_secret"),
        ({"role": "owner"}, "role"),
        ({"role": "Worker"}, "role"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -1}, "ttl"),
        ({"ttl": MAX_TTL + 1}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"ttl": 60.0}, "ttl"),
        ({"ttl": "60"}, "ttl"),
        ({"identity": 42}, "identity"),
        ({"now": float("nan")}, "now"),
        ({"now": -1}, "now"),
    ],
)
def test_a_bad_argument_is_named(changes: dict[str, Any], argument: str) -> None:
    with pytest.raises(AccessTokenError, match=f"^{argument}: expected") as caught:
        ours(**changes)
    assert caught.value.status == 400


@pytest.mark.parametrize("ttl", [1, 60, MAX_TTL])
def test_the_time_to_live_is_whole_seconds_up_to_a_day(ttl: int) -> None:
    assert unverified(ours(ttl=ttl))[1]["exp"] == NOW + ttl


def test_a_blank_identity_is_left_out_as_twilio_does() -> None:
    assert "identity" not in unverified(ours(identity=""))[1]["grants"]


def test_an_access_token_error_is_a_value_error() -> None:
    error = AccessTokenError("token: expired")
    assert isinstance(error, ValueError) and error.status == 401 and str(error) == "token: expired"
