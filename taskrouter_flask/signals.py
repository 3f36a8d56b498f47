"""Signals the extension sends, for metrics and tracing without wrapping its views.

Flask's own signals use blinker, which Flask already depends on, so a
receiver is connected the way Flask users connect to ``request_finished``.
"""

from __future__ import annotations

from blinker import Namespace

__all__ = ["callback_handled"]

_signals = Namespace()

#: Sent after each callback to the assignment or events endpoint is answered, with
#: the application as sender and the keyword arguments ``endpoint``
#: (``"assignment"`` or ``"events"``), ``outcome`` (``"dispatched"``, ``"failed"``,
#: ``"duplicate"``, ``"in_progress"``, ``"unavailable"``, ``"refused"`` or
#: ``"error"``), ``status`` (the HTTP status sent) and ``duration`` (seconds spent
#: in the extension, handlers included). A receiver that raises is logged and
#: does not change the answer.
callback_handled = _signals.signal("taskrouter.callback-handled")
