"""One HTTP session to the TaskRouter REST API: auth, timeouts, retries, errors.

Every request of a client goes through :class:`HttpTransport`, so the rules
live in one place: HTTP basic auth (never logged), a timeout on every
request, a keep-alive connection pool, retries through urllib3's ``Retry``,
and one translation of error answers and network failures into the
:mod:`~taskrouter_flask.client.errors` hierarchy.

Retries follow what is safe to repeat: GET and DELETE are retried on 429,
503 and connection failures; a POST only when the service cannot have acted
on it — a 429, or a connection that was never made. Waits grow
exponentially with jitter, honour ``Retry-After`` up to a cap, and the number
of retries is bounded.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from .errors import InvalidResponse, TransportError, error_from_response

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "HttpTransport"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://taskrouter.twilio.com"
#: (connect, read) seconds.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: Never wait longer than this for one ``Retry-After``.
MAX_RETRY_AFTER = 30.0


class _TaskRouterRetry(Retry):
    """urllib3's Retry, plus: a POST is retried on 429 (the service refused it unprocessed)."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code == 429 and bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER)


class HttpTransport:
    """Send requests to one base URL with one set of credentials.

    :param username: account SID, or API key SID.
    :param password: auth token, or API key secret.
    :param base_url: scheme and host of the API (the local sandbox's, in tests).
    :param timeout: seconds, one number or ``(connect, read)``.
    :param max_retries: retries after the first attempt, at most.
    :param backoff_factor: first wait in seconds; doubles each retry (with jitter).
    :param session: a ``requests.Session`` to use; our retry adapter is mounted
        on it for ``base_url`` only.
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_factor: float = 0.5,
        session: requests.Session | None = None,
        user_agent: str | None = None,
    ) -> None:
        if not username or not password:
            raise ValueError("credentials: expected an account SID (or API key SID) and a secret")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url: expected an absolute http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._auth = (username, password)
        self.session = session or requests.Session()
        retry = _TaskRouterRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET", "DELETE", "HEAD"}),
            status_forcelist=frozenset({429, 503}),
            backoff_factor=backoff_factor,
            backoff_max=MAX_RETRY_AFTER,
            backoff_jitter=backoff_factor / 2,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=retry, pool_maxsize=10))
        from .. import __version__

        self.user_agent = user_agent or (
            f"taskrouter-flask/{__version__} python-requests/{requests.__version__}"
            f" Python/{platform.python_version()}"
        )

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def url_for(self, path_or_url: str) -> str:
        """Return an absolute URL on our base URL.

        A URL the API gave us (a ``next_page_url``) is followed as it is on our
        own origin; on any other origin its path and query are re-based on our
        base URL, so credentials never go elsewhere.
        """
        if path_or_url.startswith("/"):
            return self.base_url + path_or_url
        parts = urlsplit(path_or_url)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        return self.base_url + urlunsplit(("", "", parts.path, parts.query, ""))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON body (``None`` for an empty answer).

        :raises ApiError: (a subclass for the status) if the API answered an error.
        :raises TransportError: if no answer came: refused, reset, timed out.
        :raises InvalidResponse: if a success answer is not JSON.
        """
        url = self.url_for(path_or_url)
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                json=json,
                headers=all_headers,
                auth=self._auth,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url}: no answer ({exc})") from exc
        log.debug("%s %s -> %s", method, url, response.status_code)
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            raise error_from_response(response.status_code, body, method=method, url=url)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise InvalidResponse(
                f"{method} {url}: expected JSON, got {response.headers.get('Content-Type')}"
            ) from exc
