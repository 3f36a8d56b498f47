"""From one incoming callback to its answer, with no web framework in the way.

Everything the extension promises about a callback — the checks in their
order (method, content type, size, signature header, parsing, signature,
payload), the once-only rule and the dispatch — is decided here, by a pure
function of a plain :class:`Callback` value, the settings, the handler
registry and the once-only store. The Flask adapter only reads the request
into a :class:`Callback` and writes the :class:`Handled` reply back, so these
rules are tested with plain calls, and any other framework could reuse them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .dedup import DedupStore, Outcome, Progress, run_once
from .dispatch import Dispatcher, Endpoint, NameResolver, Reply, error_body
from .errors import PayloadError
from .schemas import FormFields, load_assignment, load_event, parse_form, parse_json_body
from .settings import TaskRouterSettings
from .signature import SIGNATURE_HEADER, validate_signature

__all__ = ["FORM", "JSON", "Callback", "Handled", "handle", "media_type", "refusal"]

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Callback:
    """One callback as it arrived: what the checks and the handlers need, nothing else.

    :param endpoint: ``"assignment"`` or ``"events"``.
    :param content_type: the ``Content-Type`` header, parameters included.
    :param body: the raw body (the adapter reads at most ``max_body + 1`` bytes).
    :param url: the URL Twilio signed, as rebuilt from the request.
    :param signature: the ``X-Twilio-Signature`` header, or None.
    :param alternatives: other URLs to try, only to explain a failed signature.
    """

    endpoint: Endpoint
    method: str
    content_type: str
    body: bytes
    url: str
    signature: str | None = None
    alternatives: Callable[[], Iterable[tuple[str, str]]] | None = field(
        default=None, compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class Handled:
    """The answer to a callback and what became of it (for logs, signals and metrics)."""

    reply: Reply
    outcome: Outcome


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, without parameters, in lower case."""
    return content_type.partition(";")[0].strip().lower()


def refusal(status: int, code: str, message: str, field: str | None = None) -> Handled:
    """A 4xx (or 5xx) answer that dispatched nothing."""
    return Handled(Reply(status, error_body(code, message, field)), "refused")


def handle(
    callback: Callback,
    *,
    settings: TaskRouterSettings,
    dispatcher: Dispatcher,
    store: DedupStore | None,
    names: NameResolver | None = None,
) -> Handled:
    """Check, parse and dispatch one callback (once only); return the answer to send."""
    if callback.method != "POST":
        return refusal(405, "method_not_allowed", "use POST")
    mimetype = media_type(callback.content_type)
    if mimetype != FORM and mimetype != JSON:
        return refusal(
            415,
            "unsupported_media_type",
            f"expected {FORM} or {JSON}, got {mimetype[:100] or 'none'}",
        )
    if len(callback.body) > settings.max_body:
        return too_large(settings.max_body)
    validate = settings.validate_signatures
    if validate and callback.signature is None:
        log.warning(
            "refused a TaskRouter callback to %s: no %s header", callback.url, SIGNATURE_HEADER
        )
        return _forbidden()
    try:
        fields = parse_form(callback.body) if mimetype == FORM else parse_json_body(callback.body)
    except PayloadError as exc:
        return refusal(400, "invalid_payload", exc.message, exc.field)
    if validate and not _signature_ok(callback, fields, mimetype == FORM, settings):
        return _forbidden()
    try:
        if callback.endpoint == "assignment":
            assignment = load_assignment(fields)

            def answer_assignment(progress: Progress) -> Reply:
                return dispatcher.dispatch_assignment(
                    assignment,
                    unmatched=settings.unmatched,
                    names=names,
                    slow=settings.slow_handler,
                )

            key = "assignment:" + assignment.reservation_sid
            return _once(store, key, answer_assignment, settings, replay=True)
        event = load_event(fields)
    except PayloadError as exc:
        return refusal(400, "invalid_payload", exc.message, exc.field)
    if event.sid is None:
        return refusal(
            400,
            "invalid_payload",
            "Sid: expected the event's SID ('EV' followed by 32 hex digits), which TaskRouter"
            " sends with every event and by which a redelivery is recognised; got none",
            "Sid",
        )

    def answer_event(progress: Progress) -> Reply:
        return dispatcher.dispatch_event(
            event, done=progress.done, record=progress.record, slow=settings.slow_handler
        )

    return _once(store, "event:" + event.sid, answer_event, settings, replay=False)


def _once(
    store: DedupStore | None,
    key: str,
    dispatch: Callable[[Progress], Reply],
    settings: TaskRouterSettings,
    *,
    replay: bool,
) -> Handled:
    reply, outcome = run_once(
        store, key, dispatch, replay=replay, fail_open=settings.dedup_fail_open
    )
    return Handled(reply, outcome)


def too_large(limit: int) -> Handled:
    """The answer to a body over ``TASKROUTER_MAX_BODY``."""
    return refusal(413, "payload_too_large", f"expected a body of at most {limit} bytes")


def _forbidden() -> Handled:
    return refusal(403, "invalid_signature", "the X-Twilio-Signature header is missing or wrong")


def _signature_ok(
    callback: Callback,
    fields: FormFields | dict[str, object],
    is_form: bool,
    settings: TaskRouterSettings,
) -> bool:
    assert callback.signature is not None
    content: FormFields | bytes = fields if is_form else callback.body  # type: ignore[assignment]
    if validate_signature(callback.url, content, callback.signature, settings.auth_tokens):
        return True
    _explain_failure(callback, content, settings)
    return False


def _explain_failure(
    callback: Callback, content: FormFields | bytes, settings: TaskRouterSettings
) -> None:
    """Log why a signature failed, without the token: the most common support question."""
    assert callback.signature is not None
    url = callback.url
    tried = [url]
    hint = "the auth token may differ from the one Twilio signs with, or the request was altered"
    for label, candidate in callback.alternatives() if callback.alternatives else ():
        if candidate in tried:
            continue
        if validate_signature(candidate, content, callback.signature, settings.auth_tokens):
            hint = f"it would have matched {candidate} ({label})"
            break
        tried.append(candidate)
    if isinstance(content, bytes) and "bodySHA256=" not in url:
        hint = "a JSON callback must carry bodySHA256 in its URL"
    log.warning(
        "refused a TaskRouter callback: bad %s for %s; %s. Tried %s (each with and without the"
        " default port). Behind a proxy or tunnel, set TASKROUTER_PUBLIC_BASE_URL or"
        " TASKROUTER_PROXY_FIX.",
        SIGNATURE_HEADER,
        url,
        hint,
        ", ".join(tried),
    )
