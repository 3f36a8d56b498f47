"""The URL Twilio signed, rebuilt from a WSGI environ.

Twilio signs the URL it requested. Behind proxies, tunnels and sub-path
mounts that is not the URL the application sees, so it is rebuilt from the
pieces that survive: ``TASKROUTER_PUBLIC_BASE_URL`` when set (it pins the
scheme, host and mount path, and nothing in the request can change them);
otherwise the ``Host`` header, or the ``X-Forwarded-*`` headers of as many
proxies as ``TASKROUTER_PROXY_FIX`` trusts. A host taken from a header is
checked to be a host[:port] first: a header is attacker input, and
``h/x?y=`` must not become part of the string an HMAC is computed over.

Pure functions of the environ and the settings: no Flask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from .settings import TaskRouterSettings

__all__ = ["bad_host", "forwarded_host", "signed_url", "url_alternatives"]

_PATH_SAFE = "/:@!$&'()*+,;=-._~"
#: A registered name or IPv4 address, or a bracketed IPv6 address; an optional port.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}"
    r"[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?\])(?::[0-9]{1,5})?"
)


def forwarded_host(environ: Mapping[str, Any], settings: TaskRouterSettings) -> str | None:
    """The ``X-Forwarded-Host`` the signed URL takes its host from: the value set by the
    outermost of the ``TASKROUTER_PROXY_FIX`` trusted proxies, or None."""
    hops = settings.trusted_proxies
    return _forwarded(environ, "HTTP_X_FORWARDED_HOST", hops) if hops else None


def bad_host(environ: Mapping[str, Any], settings: TaskRouterSettings) -> str | None:
    """Say what is wrong with a host the signed URL would be built from, or None.

    Checks ``Host`` and, with trusted proxies, the ``X-Forwarded-Host`` and
    ``X-Forwarded-Port`` values that would be used.
    """
    host = environ.get("HTTP_HOST")
    if host is not None and not _HOST.fullmatch(host):
        return f"the Host header is not a host[:port]: {host[:100]!r}"
    forwarded = forwarded_host(environ, settings)
    if forwarded is not None and not _HOST.fullmatch(forwarded):
        return f"X-Forwarded-Host is not a host[:port]: {forwarded[:100]!r}"
    hops = settings.trusted_proxies
    if hops:
        port = _forwarded(environ, "HTTP_X_FORWARDED_PORT", hops)
        if port is not None and not (port.isdigit() and len(port) <= 5):
            return f"X-Forwarded-Port is not a port number: {port[:100]!r}"
    return None


def signed_url(
    environ: Mapping[str, Any], settings: TaskRouterSettings, *, trust: bool = True
) -> str:
    """Rebuild the URL Twilio requested: scheme, host, raw path and raw query string.

    :param trust: use ``TASKROUTER_PUBLIC_BASE_URL`` and the trusted proxies'
        headers; without it, the URL as the application itself saw it.
    """
    script = environ.get("SCRIPT_NAME", "")
    path = _path_as_sent(script + environ.get("PATH_INFO", ""), environ)
    query = environ.get("QUERY_STRING", "")
    suffix = "?" + query if query else ""
    if trust and settings.public_base_url:
        quoted_script = quote(script.encode("latin-1"), safe=_PATH_SAFE)
        if quoted_script and path.startswith(quoted_script):
            path = path[len(quoted_script) :]
        return settings.public_base_url + path + suffix
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or _server_host(environ, scheme)
    hops = settings.trusted_proxies if trust else 0
    if hops:
        scheme = _forwarded(environ, "HTTP_X_FORWARDED_PROTO", hops) or scheme
        host = forwarded_host(environ, settings) or host
        port = _forwarded(environ, "HTTP_X_FORWARDED_PORT", hops)
        if port:
            host = _replace_port(host, port)
        prefix = _forwarded(environ, "HTTP_X_FORWARDED_PREFIX", hops)
        if prefix:
            path = "/" + prefix.strip("/") + path
    return f"{scheme}://{host}{path}{suffix}"


def url_alternatives(
    url: str, environ: Mapping[str, Any], settings: TaskRouterSettings
) -> Iterable[tuple[str, str]]:
    """Other URLs a sender may have signed, each with what differs: to explain a failure."""
    scheme, _, rest = url.partition("://")
    other = "http" if scheme == "https" else "https"
    yield f"the scheme {other}", f"{other}://{rest}"
    path, question, query = url.partition("?")
    toggled = path[:-1] if path.endswith("/") else path + "/"
    yield "a different trailing slash", toggled + question + query
    for header in ("HTTP_X_FORWARDED_HOST", "HTTP_HOST"):
        host = environ.get(header, "").split(",")[-1].strip()
        if host:
            authority_end = rest.find("/")
            yield (
                f"the host from {header[5:].replace('_', '-').title()}",
                (f"{scheme}://{host}{rest[authority_end:] if authority_end != -1 else ''}"),
            )
    if settings.public_base_url or settings.trusted_proxies:
        yield "the URL the application itself saw", signed_url(environ, settings, trust=False)


def _path_as_sent(decoded: str, environ: Mapping[str, Any]) -> str:
    """Prefer the raw request path (percent-encoding as Twilio sent it) when the server kept it."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        raw_path = raw.partition("?")[0]
        if "://" in raw_path:  # absolute-form request target
            raw_path = "/" + raw_path.partition("://")[2].partition("/")[2]
        if unquote_to_bytes(raw_path) == decoded.encode("latin-1"):
            return str(raw_path)
    return quote(decoded.encode("latin-1"), safe=_PATH_SAFE)


def _forwarded(environ: Mapping[str, Any], header: str, hops: int) -> str | None:
    values = [v.strip() for v in environ.get(header, "").split(",") if v.strip()]
    return values[-hops] if len(values) >= hops else None


def _server_host(environ: Mapping[str, Any], scheme: str) -> str:
    name = environ.get("SERVER_NAME", "localhost")
    port = environ.get("SERVER_PORT", "")
    default = "443" if scheme == "https" else "80"
    return name if not port or port == default else f"{name}:{port}"


def _replace_port(host: str, port: str) -> str:
    bracket = host.rfind("]")
    colon = host.rfind(":")
    if colon > bracket:
        host = host[:colon]
    return f"{host}:{port}"
