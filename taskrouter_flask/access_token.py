"""Twilio access tokens for the TaskRouter worker SDK: minted by the app, checked by the sandbox.

An agent's browser runs Twilio's ``twilio-taskrouter`` SDK with a token that the
application's backend mints: an HS256 JWT signed with an API key's secret, with the
header ``cty: twilio-fpa;v=1``, the API key SID as ``iss``, the account SID as ``sub``,
and a ``task_router`` grant naming the workspace, the worker and a role. The SDK never
looks inside the token; whoever serves it must. Both halves live here so that what
:meth:`TaskRouter.worker_token <taskrouter_flask.TaskRouter.worker_token>` mints and what
the sandbox accepts cannot drift apart. The JWT itself is PyJWT's work (the ``agents``
extra), imported only when a token is made or read.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from .errors import TaskRouterError
from .wire import is_sid

__all__ = [
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
#: The longest time to live Twilio allows an access token (24 hours).
MAX_TTL = 24 * 3600
_ALGORITHM = "HS256"
#: ``warnings.catch_warnings`` changes process-wide filters: one reader at a time.
_QUIET = threading.Lock()


class AccessTokenError(TaskRouterError, ValueError):
    """A token could not be made, or was refused: what was wrong, in words.

    :param message: what was wrong and what was expected.
    :param status: the HTTP status a server answers with (401 for a bad or expired token,
        403 for a good token used outside its grant).
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
    #: Seconds since the epoch after which the token is refused.
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


def _require_sid(name: str, value: str, prefix: str) -> None:
    if not isinstance(value, str) or not is_sid(value, prefix):
        raise AccessTokenError(
            f"{name}: expected {prefix!r} and 32 hex digits, got {value!r}", status=400
        )


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

    The claims are those of ``twilio.jwt.access_token.AccessToken`` with a
    ``TaskRouterGrant``: ``jti`` (``<key SID>-<issued at>``), ``iss``, ``sub``, ``nbf``,
    ``exp`` and ``grants`` (``task_router``, and ``identity`` when given).

    :param ttl: seconds the token is valid, from 1 to 86,400 (Twilio's limit).
    :param now: the issue time in seconds since the epoch; the wall clock by default.
    :raises AccessTokenError: naming the argument that is not what Twilio accepts.
    """
    _require_sid("account_sid", account_sid, "AC")
    _require_sid("api_key_sid", api_key_sid, "SK")
    _require_sid("workspace_sid", workspace_sid, "WS")
    _require_sid("worker_sid", worker_sid, "WK")
    if not isinstance(api_key_secret, str) or not api_key_secret.strip():
        raise AccessTokenError("api_key_secret: expected the API key's secret", status=400)
    if role not in ROLES:
        raise AccessTokenError(
            f"role: expected one of {', '.join(ROLES)}, got {role!r}", status=400
        )
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL:
        raise AccessTokenError(
            f"ttl: expected whole seconds from 1 to {MAX_TTL}, got {ttl!r}", status=400
        )
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


def read_worker_token(
    token: str, *, api_keys: Mapping[str, str], account_sid: str, now: float
) -> WorkerGrant:
    """Check a worker token as Twilio's servers would, and say what it grants.

    :param api_keys: the API key SIDs this server knows, with their secrets.
    :param now: the server's time in seconds since the epoch (the sandbox's clock).
    :raises AccessTokenError: (401) for a token that is malformed, signed with another
        secret, expired, not yet valid, for another account, or without a TaskRouter grant.
    """
    jwt = _jwt()
    if not isinstance(token, str) or not token:
        raise AccessTokenError("token: missing; expected a Twilio access token")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AccessTokenError(f"token: not a JSON Web Token ({exc})") from None
    if header.get("alg") != _ALGORITHM:
        raise AccessTokenError(f"token: expected alg {_ALGORITHM}, got {header.get('alg')!r}")
    if header.get("cty") != TOKEN_CONTENT_TYPE:
        raise AccessTokenError(
            f"token: expected cty {TOKEN_CONTENT_TYPE!r} (a Twilio access token),"
            f" got {header.get('cty')!r}"
        )
    issuer = unverified.get("iss")
    secret = api_keys.get(issuer) if isinstance(issuer, str) else None
    if secret is None:
        raise AccessTokenError(f"token: signed by {issuer!r}, which is not an API key here")
    try:
        # The secret is whatever the server was given; PyJWT's advice on its length is for
        # whoever chose it (minting warns), not a reason to refuse or to warn per request.
        with _QUIET, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            claims = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "sub"]},
            )
    except jwt.InvalidSignatureError:
        raise AccessTokenError(f"token: the signature does not match API key {issuer}") from None
    except jwt.PyJWTError as exc:
        raise AccessTokenError(f"token: {exc}") from None
    expires = claims["exp"]
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise AccessTokenError(f"token: exp must be seconds since the epoch, got {expires!r}")
    if expires <= now:
        raise AccessTokenError("token: expired; mint a new one")
    not_before = claims.get("nbf")
    if (
        isinstance(not_before, int | float)
        and not isinstance(not_before, bool)
        and not_before > now
    ):
        raise AccessTokenError("token: not valid yet (nbf is in the future)")
    if claims["sub"] != account_sid:
        raise AccessTokenError(f"token: for account {claims['sub']!r}, not {account_sid}")
    grants = claims.get("grants")
    grant = grants.get("task_router") if isinstance(grants, dict) else None
    if not isinstance(grant, dict):
        raise AccessTokenError("token: has no task_router grant")
    workspace_sid = grant.get("workspace_sid")
    worker_sid = grant.get("worker_sid")
    if not (isinstance(workspace_sid, str) and is_sid(workspace_sid, "WS")):
        raise AccessTokenError(f"token: task_router.workspace_sid is {workspace_sid!r}")
    if not (isinstance(worker_sid, str) and is_sid(worker_sid, "WK")):
        raise AccessTokenError(f"token: task_router.worker_sid is {worker_sid!r}")
    role = grant.get("role") or "worker"
    if role not in ROLES:
        raise AccessTokenError(f"token: task_router.role is {role!r}; expected {', '.join(ROLES)}")
    identity = grants.get("identity") if isinstance(grants, dict) else None
    return WorkerGrant(
        account_sid=account_sid,
        api_key_sid=issuer,
        workspace_sid=workspace_sid,
        worker_sid=worker_sid,
        role=cast(Role, role),
        expires_at=int(expires),
        identity=identity if isinstance(identity, str) else None,
    )
