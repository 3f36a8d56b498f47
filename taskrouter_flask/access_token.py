"""Twilio access tokens for the TaskRouter worker SDK: minted by the app, checked by the sandbox.

An agent's browser runs Twilio's ``twilio-taskrouter`` SDK with a token that the
application's backend mints: an HS256 JWT signed with an API key's secret, with the
header ``cty: twilio-fpa;v=1``, the API key SID as ``iss``, the account SID as ``sub``,
and a ``task_router`` grant naming the workspace, the worker and a role. The SDK never
looks inside the token; whoever serves it must. Both halves live here so that what
:meth:`TaskRouter.worker_token <taskrouter_flask.TaskRouter.worker_token>` mints and what
the sandbox accepts cannot drift apart.

Minting is PyJWT's work (the ``agents`` extra), imported only when a token is made.
Reading needs only the standard library: the one algorithm is fixed, so checking a
token is an HMAC comparison, and reading it ourselves means its JSON follows the
package's rules (:func:`taskrouter_flask.wire.loads`: no ``NaN``, no ``Infinity``), any
malformed text ends as an :class:`AccessTokenError`, and a short secret given to a
server is not a warning on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from .errors import TaskRouterError
from .wire import decode_json_object, is_sid

__all__ = [
    "MAX_TTL",
    "ROLES",
    "AccessTokenError",
    "Role",
    "WorkerGrant",
    "mint_worker_token",
    "read_worker_token",
]

Role = Literal["worker", "supervisor", "admin"]
#: What a token's ``role`` may be. ``worker`` reaches its own worker and its reservations;
#: ``supervisor`` and ``admin`` reach every worker and task of the workspace.
ROLES: tuple[Role, ...] = ("worker", "supervisor", "admin")
#: The content type Twilio's access tokens carry in their header.
TOKEN_CONTENT_TYPE = "twilio-fpa;v=1"
#: The longest time to live Twilio allows an access token (24 hours; a longer one is
#: Twilio's error 20157, "Expiration Time Exceeds Maximum Time Allowed").
MAX_TTL = 24 * 3600
#: The longest token read (our own bound: a worker token is about 500 characters).
MAX_TOKEN_LENGTH = 16 * 1024
_ALGORITHM = "HS256"
#: One part of a compact JWT: base64url without padding.
_PART = re.compile(r"[A-Za-z0-9_-]+")


class AccessTokenError(TaskRouterError, ValueError):
    """A token could not be made, or was refused: what was wrong, in words.

    :param message: what was wrong and what was expected.
    :param status: the HTTP status a server answers with (401 for a bad or expired token,
        403 for a good token used outside its grant; 400 for a bad argument to
        :func:`mint_worker_token`).
    """

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class WorkerGrant:
    """What a valid worker token allows: who signed it, for which worker, until when."""

    account_sid: str
    api_key_sid: str
    workspace_sid: str
    worker_sid: str
    role: Role
    #: Seconds since the epoch from which the token is refused (``exp``, rounded down).
    expires_at: int
    identity: str | None = None

    def lifetime_ms(self, now: float) -> int:
        """Milliseconds the token has left at ``now`` (what the SDK's ``init`` expects)."""
        return max(0, int((self.expires_at - now) * 1000))

    def reaches_worker(self, worker_sid: str) -> bool:
        """Whether the token may act on ``worker_sid``: its own, or any for a supervisor."""
        return self.role != "worker" or worker_sid == self.worker_sid


def _jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "worker tokens need PyJWT: pip install 'taskrouter-flask[agents]'"
        ) from None
    return jwt


def _require_sid(name: str, value: object, prefix: str) -> None:
    if not is_sid(value, prefix):
        raise AccessTokenError(
            f"{name}: expected {prefix!r} and 32 hex digits, got {value!r}", status=400
        )


def _is_number(value: object) -> bool:
    """A finite JSON number (``True`` is not a number here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def mint_worker_token(
    *,
    account_sid: str,
    api_key_sid: str,
    api_key_secret: str,
    workspace_sid: str,
    worker_sid: str,
    role: Role = "worker",
    ttl: int = 3600,
    identity: str | None = None,
    now: float | None = None,
) -> str:
    """A signed access token for one worker, as Twilio's helper library makes it.

    The header and claims are those of ``twilio.jwt.access_token.AccessToken`` with a
    ``TaskRouterGrant``: header ``typ``, ``alg`` (HS256) and ``cty``; claims ``jti``
    (``<key SID>-<issued at>``), ``iss`` (the API key SID), ``sub`` (the account SID),
    ``nbf`` (issued at), ``exp`` and ``grants`` (``task_router``, and ``identity`` when
    given).

    :param role: ``worker`` (its own worker only), ``supervisor`` or ``admin``.
    :param ttl: seconds the token is valid, from 1 to 86,400 (Twilio's limit).
    :param identity: an optional name for the agent, kept in the grants.
    :param now: the issue time in seconds since the epoch; the wall clock by default.
    :raises AccessTokenError: (status 400) naming the argument that is not what
        Twilio accepts.
    """
    _require_sid("account_sid", account_sid, "AC")
    _require_sid("api_key_sid", api_key_sid, "SK")
    _require_sid("workspace_sid", workspace_sid, "WS")
    _require_sid("worker_sid", worker_sid, "WK")
    if not isinstance(api_key_secret, str) or not api_key_secret.strip():
        raise AccessTokenError(
            "api_key_secret: expected the API key's secret, got a blank or missing one",
            status=400,
        )
    if role not in ROLES:
        raise AccessTokenError(
            f"role: expected one of {', '.join(ROLES)}, got {role!r}", status=400
        )
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL:
        raise AccessTokenError(
            f"ttl: expected whole seconds from 1 to {MAX_TTL} (Twilio's limit), got {ttl!r}",
            status=400,
        )
    if identity is not None and not isinstance(identity, str):
        raise AccessTokenError(
            f"identity: expected a string or None, got {type(identity).__name__}", status=400
        )
    if now is not None and not (_is_number(now) and now >= 0):
        raise AccessTokenError(f"now: expected seconds since the epoch, got {now!r}", status=400)
    issued = int(time.time() if now is None else now)
    grants: dict[str, Any] = {
        "task_router": {"workspace_sid": workspace_sid, "worker_sid": worker_sid, "role": role}
    }
    if identity:
        grants["identity"] = identity
    claims = {
        "jti": f"{api_key_sid}-{issued}",
        "grants": grants,
        "iss": api_key_sid,
        "sub": account_sid,
        "nbf": issued,
        "exp": issued + ttl,
    }
    headers = {"typ": "JWT", "alg": _ALGORITHM, "cty": TOKEN_CONTENT_TYPE}
    return cast(str, _jwt().encode(claims, api_key_secret, algorithm=_ALGORITHM, headers=headers))


def _decode_part(part: str, what: str) -> bytes:
    if not _PART.fullmatch(part) or len(part) % 4 == 1:
        raise AccessTokenError(f"token: the {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits only valid text
        raise AccessTokenError(f"token: the {what} is not base64url text") from None


def _json_part(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return decode_json_object(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError included
        raise AccessTokenError(f"token: the {what} is not a JSON object ({exc})") from None


def _shown(value: object) -> str:
    """``repr(value)``, cut short: what a refusal quotes of a token may be anyone's text."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_worker_token(
    token: str, *, api_keys: Mapping[str, str], account_sid: str, now: float
) -> WorkerGrant:
    """Check a worker token as Twilio's servers would, and say what it grants.

    Checked in this order: the token's form (three base64url parts, JSON objects), the
    header (``alg`` HS256 and ``cty`` ``twilio-fpa;v=1``), the signing key (``iss`` must
    be one of ``api_keys``), the signature, ``exp`` (refused from that second on, and when
    more than 24 hours after ``nbf``), ``nbf``, the account (``sub``), then the
    ``task_router`` grant (workspace SID, worker SID, role; a grant without a role is a
    ``worker`` one, the least it can be).

    :param api_keys: the API key SIDs this server knows, with their secrets.
    :param account_sid: the account this server is; a token for another is refused.
    :param now: the server's time in seconds since the epoch (the sandbox's clock).
    :raises AccessTokenError: (401) saying what was wrong, for any text that is not a
        valid token; never another exception.
    """
    if not isinstance(token, str) or not token:
        raise AccessTokenError("token: missing; expected a Twilio access token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AccessTokenError(
            f"token: {len(token)} characters, longer than a worker token can be"
            f" ({MAX_TOKEN_LENGTH})"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise AccessTokenError(
            "token: not a JSON Web Token (expected three base64url parts separated by dots)"
        )
    header = _json_part(_decode_part(parts[0], "header"), "header")
    if header.get("alg") != _ALGORITHM:
        raise AccessTokenError(f"token: expected alg {_ALGORITHM}, got {_shown(header.get('alg'))}")
    if header.get("cty") != TOKEN_CONTENT_TYPE:
        raise AccessTokenError(
            f"token: expected cty {TOKEN_CONTENT_TYPE!r} (a Twilio access token),"
            f" got {_shown(header.get('cty'))}"
        )
    payload = _json_part(_decode_part(parts[1], "payload"), "payload")
    signature = _decode_part(parts[2], "signature")
    issuer = payload.get("iss")
    if not isinstance(issuer, str):
        raise AccessTokenError(f"token: iss (the API key SID that signed it) is {_shown(issuer)}")
    secret = api_keys.get(issuer)
    if secret is None:
        raise AccessTokenError(f"token: signed by {_shown(issuer)}, which is not an API key here")
    signed = f"{parts[0]}.{parts[1]}".encode("ascii")
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise AccessTokenError(f"token: the signature does not match API key {issuer}")
    expires: Any = payload.get("exp")
    if not _is_number(expires):
        raise AccessTokenError(f"token: exp must be seconds since the epoch, got {_shown(expires)}")
    not_before: Any = payload.get("nbf")
    if not_before is not None and not _is_number(not_before):
        raise AccessTokenError(
            f"token: nbf must be seconds since the epoch, got {_shown(not_before)}"
        )
    if expires <= now:
        raise AccessTokenError("token: expired (exp has passed); mint a new one")
    if expires - (now if not_before is None else not_before) > MAX_TTL:
        raise AccessTokenError(
            f"token: valid for more than {MAX_TTL} seconds (Twilio's limit is 24 hours)"
        )
    if not_before is not None and not_before > now:
        raise AccessTokenError("token: not valid yet (nbf is in the future)")
    subject = payload.get("sub")
    if subject != account_sid:
        raise AccessTokenError(
            f"token: for account {_shown(subject)}, not this one ({account_sid})"
        )
    grants = payload.get("grants")
    grant = grants.get("task_router") if isinstance(grants, dict) else None
    if not isinstance(grant, dict):
        raise AccessTokenError("token: has no task_router grant (not a TaskRouter token)")
    workspace_sid = grant.get("workspace_sid")
    worker_sid = grant.get("worker_sid")
    if not is_sid(workspace_sid, "WS"):
        raise AccessTokenError(
            f"token: task_router.workspace_sid is {_shown(workspace_sid)}; expected 'WS' and"
            " 32 hex digits"
        )
    if not is_sid(worker_sid, "WK"):
        raise AccessTokenError(
            f"token: task_router.worker_sid is {_shown(worker_sid)}; expected 'WK' and"
            " 32 hex digits"
        )
    role = grant.get("role")
    if role is None:  # Twilio's helper leaves the role out when none is given
        role = "worker"
    if not isinstance(role, str) or role not in ROLES:
        raise AccessTokenError(
            f"token: task_router.role is {_shown(role)}; expected one of {', '.join(ROLES)}"
        )
    identity = cast(dict[str, Any], grants).get("identity")
    return WorkerGrant(
        account_sid=account_sid,
        api_key_sid=issuer,
        workspace_sid=cast(str, workspace_sid),
        worker_sid=cast(str, worker_sid),
        role=role,
        expires_at=int(expires),
        identity=identity if isinstance(identity, str) else None,
    )
