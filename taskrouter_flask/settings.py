"""The extension's configuration, read and checked once, with no Flask in sight.

Settings arrive as strings as often as as Python values: ``app.config.from_prefixed_env()``
turns ``FLASK_TASKROUTER_DEDUP_FAIL_OPEN=False`` into the *string* ``"False"``
(only JSON literals are converted), and a plain ``bool("False")`` is true. So
every flag here is read strictly, every token must have content, and any value
that cannot be used fails at ``init_app`` naming its key — never later, on the
first callback, as a silent change of behaviour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .client.http import DEFAULT_BASE_URL
from .dedup import DEFAULT_LEASE, DEFAULT_TTL
from .dispatch import SLOW_HANDLER_SECONDS, UNMATCHED_POLICIES, UnmatchedPolicy
from .wire import is_sid

__all__ = ["DEFAULT_CONFIG", "TaskRouterSettings", "read_flag"]

#: Every configuration key the extension reads, with its default.
DEFAULT_CONFIG: Mapping[str, Any] = {
    "TASKROUTER_ACCOUNT_SID": None,
    "TASKROUTER_AUTH_TOKEN": None,
    "TASKROUTER_SECONDARY_AUTH_TOKEN": None,
    "TASKROUTER_WORKSPACE_SID": None,
    "TASKROUTER_API_KEY_SID": None,
    "TASKROUTER_API_KEY_SECRET": None,
    "TASKROUTER_URL_PREFIX": "/taskrouter",
    "TASKROUTER_VALIDATE_SIGNATURES": True,
    "TASKROUTER_PROXY_FIX": 0,
    "TASKROUTER_PUBLIC_BASE_URL": None,
    "TASKROUTER_MAX_BODY": 64 * 1024,
    "TASKROUTER_BASE_URL": DEFAULT_BASE_URL,
    "TASKROUTER_UNMATCHED_ASSIGNMENT": "pending",
    "TASKROUTER_DEDUP": "memory",
    "TASKROUTER_DEDUP_TTL": DEFAULT_TTL,
    "TASKROUTER_DEDUP_LEASE": DEFAULT_LEASE,
    "TASKROUTER_DEDUP_PREFIX": "taskrouter:",
    "TASKROUTER_DEDUP_FAIL_OPEN": True,
    "TASKROUTER_SLOW_HANDLER": SLOW_HANDLER_SECONDS,
}

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def read_flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean setting: ``True``/``False``, ``1``/``0``, or their usual spellings.

    Strings ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` are
    read in any case, with surrounding spaces ignored.

    :raises ValueError: naming ``key`` for anything else (``"Flase"``, ``2``, ``""``).
    """
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        spelled = value.strip().lower()
        if spelled in _TRUE:
            return True
        if spelled in _FALSE:
            return False
    raise ValueError(
        f"{key}: expected true or false (or 1/0, yes/no, on/off, in any case), got {value!r}"
    )


def _token(config: Mapping[str, Any], key: str, what: str = "token") -> str | None:
    """A secret setting (an auth token, an API key's secret); unset when ``None`` or empty."""
    value = config.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected the {what} as a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{key}: the {what} is blank (only whitespace); set the real {what}")
    if value != value.strip():
        raise ValueError(
            f"{key}: the {what} has spaces or a newline around it (a copy-paste slip?);"
            " set it without them"
        )
    return value


#: The SID settings, with the kind of SID each holds; checked at ``init_app`` when set.
_SID_KEYS = {
    "TASKROUTER_ACCOUNT_SID": ("AC", "the account SID"),
    "TASKROUTER_WORKSPACE_SID": ("WS", "a workspace SID"),
    "TASKROUTER_API_KEY_SID": ("SK", "an API key SID"),
}


def _sid(config: Mapping[str, Any], key: str) -> str | None:
    """A SID setting: unset when ``None`` or empty, else a SID of the key's kind."""
    value = config.get(key)
    if value is None or value == "":
        return None
    prefix, kind = _SID_KEYS[key]
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected {kind} as a string, got {type(value).__name__}")
    if is_sid(value, prefix):
        return value
    hint = ""
    if is_sid(value.strip(), prefix):
        hint = " (spaces or a newline around it: a copy-paste slip?)"
    elif key == "TASKROUTER_ACCOUNT_SID" and is_sid(value, "SK"):
        hint = "; an API key SID goes in TASKROUTER_API_KEY_SID"
    shown = value if len(value) <= 60 else value[:57] + "..."
    raise ValueError(f"{key}: expected {kind} ({prefix!r} and 32 hex digits), got {shown!r}{hint}")


def _number(
    config: Mapping[str, Any], key: str, *, integer: bool = False, minimum: float = 0.0
) -> Any:
    """A positive number setting, accepting the digit strings an environment gives."""
    value = config.get(key)
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            pass
    valid = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > minimum
        and (not integer or isinstance(value, int))
    )
    if not valid:
        kind = "a whole number of seconds" if integer else "a number of seconds"
        raise ValueError(f"{key}: expected {kind} greater than {minimum:g}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class TaskRouterSettings:
    """One application's configuration, read and checked once by ``init_app``.

    Changing ``app.config`` afterwards changes nothing: set every ``TASKROUTER_*``
    key before ``TaskRouter(app)`` / ``init_app(app)``. The REST client's
    credentials, workspace and base URL are read here too.
    """

    auth_tokens: tuple[str, ...] = field(repr=False)
    url_prefix: str
    validate_signatures: bool
    trusted_proxies: int
    public_base_url: str | None
    max_body: int
    unmatched: UnmatchedPolicy
    dedup_fail_open: bool = True
    dedup_ttl: int = DEFAULT_TTL
    dedup_lease: float = DEFAULT_LEASE
    #: Seconds after which a handler's run is logged at WARNING.
    slow_handler: float = SLOW_HANDLER_SECONDS
    #: ``(username, secret)`` for ``tr.client``: the API key when one is
    #: set, else the account SID and auth token; ``None`` without credentials.
    client_credentials: tuple[str, str] | None = field(default=None, repr=False)
    workspace_sid: str | None = None
    base_url: str = DEFAULT_BASE_URL
    #: ``TASKROUTER_ACCOUNT_SID``: the ``sub`` of the worker tokens ``tr.worker_token`` mints.
    account_sid: str | None = None
    #: ``TASKROUTER_API_KEY_SID``: the key that signs worker tokens (and, when its
    #: secret is set too, ``tr.client``'s username).
    api_key_sid: str | None = None
    #: ``TASKROUTER_API_KEY_SECRET``: that key's secret.
    api_key_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, url_prefix: str | None = None
    ) -> TaskRouterSettings:
        """Read and check the ``TASKROUTER_*`` keys (missing keys take their defaults).

        :raises ValueError: naming the key whose value is unusable.
        """
        config = {**DEFAULT_CONFIG, **config}
        primary = _token(config, "TASKROUTER_AUTH_TOKEN")
        secondary = _token(config, "TASKROUTER_SECONDARY_AUTH_TOKEN")
        tokens = tuple(token for token in (primary, secondary) if token)
        validate = read_flag(config, "TASKROUTER_VALIDATE_SIGNATURES", True)
        if validate and primary is None:
            raise ValueError(
                "TASKROUTER_AUTH_TOKEN: required to check callback signatures; set it (or,"
                " for local experiments only, set TASKROUTER_VALIDATE_SIGNATURES = False)"
            )
        return cls(
            auth_tokens=tokens,
            url_prefix=_url_prefix(config, url_prefix),
            validate_signatures=validate,
            trusted_proxies=_trusted_proxies(config),
            public_base_url=_public_base_url(config),
            max_body=_max_body(config),
            unmatched=_unmatched(config),
            dedup_fail_open=read_flag(config, "TASKROUTER_DEDUP_FAIL_OPEN", True),
            dedup_ttl=_number(config, "TASKROUTER_DEDUP_TTL", integer=True),
            dedup_lease=_number(config, "TASKROUTER_DEDUP_LEASE"),
            slow_handler=_number(config, "TASKROUTER_SLOW_HANDLER"),
            client_credentials=_client_credentials(config),
            workspace_sid=_sid(config, "TASKROUTER_WORKSPACE_SID"),
            base_url=_base_url(config),
            account_sid=_sid(config, "TASKROUTER_ACCOUNT_SID"),
            api_key_sid=_sid(config, "TASKROUTER_API_KEY_SID"),
            api_key_secret=_token(config, "TASKROUTER_API_KEY_SECRET", "API key secret"),
        )


def _url_prefix(config: Mapping[str, Any], override: str | None) -> str:
    prefix = override if override is not None else config["TASKROUTER_URL_PREFIX"]
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise ValueError(
            f"TASKROUTER_URL_PREFIX: expected a path starting with '/', got {prefix!r}"
        )
    return prefix.rstrip("/")


def _trusted_proxies(config: Mapping[str, Any]) -> int:
    proxies = config["TASKROUTER_PROXY_FIX"]
    if isinstance(proxies, str) and proxies.strip().isdigit():
        proxies = int(proxies)
    proxies = int(proxies) if isinstance(proxies, bool) else proxies
    if not isinstance(proxies, int) or proxies < 0:
        raise ValueError(
            "TASKROUTER_PROXY_FIX: expected the number of trusted proxies in front of"
            f" the application (0 for none), got {proxies!r}"
        )
    return proxies


def _public_base_url(config: Mapping[str, Any]) -> str | None:
    public = config["TASKROUTER_PUBLIC_BASE_URL"]
    if public is None:
        return None
    if not isinstance(public, str) or not public.startswith(("http://", "https://")):
        raise ValueError(
            "TASKROUTER_PUBLIC_BASE_URL: expected an absolute http(s) URL such as"
            f" 'https://example.com', got {public!r}"
        )
    return public.rstrip("/") or None


def _max_body(config: Mapping[str, Any]) -> int:
    max_body = config["TASKROUTER_MAX_BODY"]
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        raise ValueError(
            f"TASKROUTER_MAX_BODY: expected a positive number of bytes, got {max_body!r}"
        )
    return max_body


def _unmatched(config: Mapping[str, Any]) -> UnmatchedPolicy:
    unmatched = config["TASKROUTER_UNMATCHED_ASSIGNMENT"]
    if unmatched not in UNMATCHED_POLICIES:
        raise ValueError(
            f"TASKROUTER_UNMATCHED_ASSIGNMENT: expected one of {UNMATCHED_POLICIES},"
            f" got {unmatched!r}"
        )
    result: UnmatchedPolicy = unmatched
    return result


def _client_credentials(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """The REST client's username and secret; an API key is preferred to the account's token."""
    account = _sid(config, "TASKROUTER_ACCOUNT_SID")
    token = _token(config, "TASKROUTER_AUTH_TOKEN")
    key_sid = _sid(config, "TASKROUTER_API_KEY_SID")
    key_secret = _token(config, "TASKROUTER_API_KEY_SECRET", "API key secret")
    username = key_sid or account
    secret = key_secret or token
    return (username, secret) if username and secret else None


def _base_url(config: Mapping[str, Any]) -> str:
    base = config.get("TASKROUTER_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise ValueError(
            "TASKROUTER_BASE_URL: expected an absolute http(s) URL such as"
            f" 'https://taskrouter.twilio.com', got {base!r}"
        )
    return base
