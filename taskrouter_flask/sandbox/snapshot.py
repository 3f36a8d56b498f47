"""Save a whole engine to a file and load it back: a copy of a journal at one moment.

Why: tests, fixtures and bug reports want "this engine, as it is now" in one
file that another process can pick up and carry on from exactly: the same
records, events, timers and counters, so the next SID handed out and the next
event emitted are the ones the old engine would have produced. A snapshot is
a :class:`~.journal.Journal` file written in one go, so the sandbox can also
be started on it with ``--data``.

The file is written atomically: under a temporary name in the same
directory, synced, then moved over ``path``. A crash mid-write leaves the
previous file (or nothing) in place, and the temporary file is removed when
the save fails.

Not kept: listeners and committers (whoever uses the loaded engine registers
them again) and the clock itself (:func:`load` takes one; by default a
:class:`ManualClock` at the saved time).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from .clock import Clock
from .engine import Engine
from .journal import FORMAT_NAME, FORMAT_VERSION, Journal

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

logger = logging.getLogger(__name__)


def save(engine: Engine, path: str | os.PathLike[str]) -> None:
    """Write the engine's whole committed state to ``path``, atomically.

    :param engine: the engine to save; it is not changed.
    :param path: the file; its directory must exist.
    :raises ValueError: if a value cannot be stored (an attribute that is not JSON).
    :raises OSError: if the file cannot be written.
    """
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    os.close(descriptor)
    os.unlink(temporary)  # SQLite makes the file itself
    try:
        journal = Journal(temporary)
        try:
            journal.initialize(engine)
        finally:
            journal.close()
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        for leftover in (temporary, temporary + "-wal", temporary + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    if os.name == "posix":
        _fsync(str(target.parent))
    logger.debug("saved the sandbox engine to %s", target)


def load(path: str | os.PathLike[str], *, clock: Clock | None = None) -> Engine:
    """Rebuild the engine saved at ``path``; it has no listeners.

    :raises FileNotFoundError: if there is no file at ``path`` (none is created).
    :raises ValueError: if the file is not a snapshot, or one of another format version.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no snapshot at {source}")
    journal = Journal(source)
    try:
        return journal.load(clock=clock)
    finally:
        journal.close()


def _fsync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
