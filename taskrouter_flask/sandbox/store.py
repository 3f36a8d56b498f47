"""The engine's records, their indexes, SIDs and counters, with transactions.

Why a part of its own: every other part reads and changes records, and a
command must either happen whole or not at all. The store is where that is
kept: a command runs between :meth:`Store.begin` and :meth:`Store.commit`;
every record's fields are copied before its first change (records report
their own changes, see :class:`~.state.Record`), so :meth:`Store.rollback`
puts back exactly what was there, and :meth:`Store.commit` tells the journal
exactly which records to write.

SIDs come from a counter passed through an odd multiplier (a bijection modulo
2**128, keyed by the seed) rather than from a random generator's state, so
that the only thing to persist about them is one number, no two are ever the
same, and a seed makes them repeat from run to run.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .codec import KINDS, STORED_FIELDS, derive, encode_record, kind_of
from .errors import NotFound
from .state import (
    ActivityRecord,
    Record,
    ReservationRecord,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    WorkerChannelRecord,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
)

__all__ = ["Changes", "Counters", "Store"]

_R = TypeVar("_R", bound=Record)


@dataclass(slots=True)
class Counters:
    """Everything about identity that must survive a restart: three numbers and a key."""

    #: SIDs handed out so far.
    sids: int = 0
    #: The engine's ordering counter (creation order of workers and tasks, timer ties).
    seq: int = 0
    #: Record positions handed out (the order lists and restores follow).
    positions: int = 0
    #: The key SIDs are derived with (hex).
    sid_key: str = ""


@dataclass(slots=True)
class Changes:
    """What one committed command changed: records to write or delete, by kind."""

    written: list[Record] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.written or self.deleted)


#: Per record type: a getter of its stored fields' values, as one tuple.
_PRIMARY = {record: operator.attrgetter(*names) for record, names in STORED_FIELDS.items()}
_MASK = 2**128 - 1


def _sid_mixing(key: str) -> tuple[int, int]:
    """The base and the odd multiplier SIDs are made with, from the hex ``key``."""
    digest = hashlib.blake2b(bytes.fromhex(key), digest_size=32).digest()
    return int.from_bytes(digest[:16], "big"), int.from_bytes(digest[16:], "big") | 1


class Store:
    """Nine tables of records, the indexes routing needs, and the counters.

    :param seed: makes SIDs repeat from run to run; ``None`` picks a random key.
    """

    def __init__(self, seed: int | None = 0) -> None:
        key = (
            hashlib.blake2b(f"taskrouter-sandbox:{seed}".encode(), digest_size=16).hexdigest()
            if seed is not None
            else os.urandom(16).hex()
        )
        self.counters = Counters(sid_key=key)
        self._base, self._multiplier = _sid_mixing(key)
        self.workspaces: dict[str, WorkspaceRecord] = {}
        self.activities: dict[str, ActivityRecord] = {}
        self.workers: dict[str, WorkerRecord] = {}
        self.task_queues: dict[str, TaskQueueRecord] = {}
        self.workflows: dict[str, WorkflowRecord] = {}
        self.task_channels: dict[str, TaskChannelRecord] = {}
        self.worker_channels: dict[str, WorkerChannelRecord] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.reservations: dict[str, ReservationRecord] = {}
        #: Per worker: the reservations still occupying them.
        self.active: dict[str, set[str]] = {}
        #: Per task: its reservations (any status), in creation order.
        self.task_reservations: dict[str, list[str]] = {}
        #: Per worker: their reservations (any status), in creation order.
        self.worker_reservations: dict[str, list[str]] = {}
        #: Workers who could take a task now (available activity, free capacity).
        self.ready: set[str] = set()
        #: Per worker: the tasks routed straight to them (``RoutingTarget``), in no queue.
        self.direct: dict[str, set[str]] = {}
        #: Per task channel, in multitasking workspaces: the workers with room on it now.
        self.ready_on: dict[str, set[str]] = {}
        #: Per queue: how many waiting tasks are on each channel (``None``: tasks that
        #: ignore capacity), so a worker with room only elsewhere passes the queue over.
        self.waiting_channels: dict[str, dict[str | None, int]] = {}
        # The open transaction: records' fields before their first change, additions,
        # removals, and the counters at the start.
        #: Whether a transaction is open (records report their changes only then).
        self.tracking = False
        #: Increased by each transaction; a record seen in this one carries the same number.
        self.epoch = 0
        self._before: list[tuple[Record, tuple[Any, ...]]] = []
        self._added: list[Record] = []
        self._removed: list[Record] = []
        self._counters_before = (0, 0, 0)

    def table(self, kind: str) -> dict[str, Any]:
        """The table of ``kind`` (``"tasks"``, ``"workers"``, ...)."""
        table: dict[str, Any] = getattr(self, kind)
        return table

    # -- identity ---------------------------------------------------------------------------

    def new_sid(self, prefix: str) -> str:
        """A fresh SID: ``prefix`` and 32 hex digits, never handed out before."""
        counters = self.counters
        counters.sids += 1
        # An odd multiplier makes n -> base + n * multiplier a bijection modulo 2**128:
        # distinct counters give distinct SIDs, in an order that looks random.
        return f"{prefix}{(self._base + counters.sids * self._multiplier) & _MASK:032x}"

    def next_seq(self) -> int:
        """The next value of the ordering counter."""
        self.counters.seq += 1
        return self.counters.seq

    # -- records ----------------------------------------------------------------------------

    def add(self, record: _R) -> _R:
        """Put a new record in its table (last in order)."""
        self.counters.positions += 1
        object.__setattr__(record, "position", self.counters.positions)
        object.__setattr__(record, "owner", self)
        self.table(kind_of(record))[getattr(record, "sid")] = record  # noqa: B009
        if self.tracking:
            self._added.append(record)
            # New in this transaction: a rollback removes it, so its changes need no copy.
            object.__setattr__(record, "seen", self.epoch)
        return record

    def remove(self, record: Record) -> None:
        """Take a record out of its table."""
        del self.table(kind_of(record))[getattr(record, "sid")]  # noqa: B009
        if self.tracking:
            self._removed.append(record)
        object.__setattr__(record, "owner", None)

    def get(self, table: Mapping[str, _R], kind: str, workspace_sid: str, sid: str) -> _R:
        """A record of the workspace, or :class:`NotFound` naming it."""
        record = table.get(sid)
        if record is None or getattr(record, "workspace_sid", workspace_sid) != workspace_sid:
            raise NotFound(f"{kind} {sid} was not found in workspace {workspace_sid}")
        return record

    def workspace(self, sid: str) -> WorkspaceRecord:
        record = self.workspaces.get(sid)
        if record is None:
            raise NotFound(f"workspace {sid} was not found")
        return record

    def records(self) -> Iterator[Record]:
        """Every record, table by table, each table in order."""
        for kind in KINDS:
            yield from self.table(kind).values()

    # -- transactions -----------------------------------------------------------------------

    def begin(self) -> None:
        """Start recording changes, so that they can be committed or rolled back."""
        self.tracking = True
        self.epoch += 1
        # Cleared at commit and rollback: empty here, and reused rather than made anew.
        counters = self.counters
        self._counters_before = (counters.sids, counters.seq, counters.positions)

    def observe(self, record: Record) -> None:
        """Copy ``record``'s fields before its first change in the open transaction."""
        object.__setattr__(record, "seen", self.epoch)
        self._before.append((record, _PRIMARY[type(record)](record)))

    def touched(self) -> bool:
        """Whether the open transaction changed any record, table or counter."""
        return bool(self._before or self._added or self._removed) or self.counted()

    def counted(self) -> bool:
        """Whether a counter moved in the open transaction."""
        counters = self.counters
        return (counters.sids, counters.seq, counters.positions) != self._counters_before

    def changes(self) -> Changes:
        """The records to write and to delete for the open transaction so far."""
        changes = Changes()
        seen: set[int] = set()
        for record in [*(r for r, _ in self._before), *self._added]:
            if id(record) in seen:
                continue
            seen.add(id(record))
            if record.owner is self:
                changes.written.append(record)
        for record in self._removed:
            if record.owner is not self:
                changes.deleted.append((kind_of(record), getattr(record, "sid")))  # noqa: B009
        return changes

    def commit(self) -> None:
        """End the transaction, keeping its changes."""
        self.tracking = False
        if self._before:
            self._before.clear()
        if self._added:
            self._added.clear()
        if self._removed:
            self._removed.clear()

    def rollback(self) -> None:
        """Put every record, table and counter back as it was at :meth:`begin`.

        The indexes (``active``, ``task_reservations``, ``worker_reservations``, ``ready``,
        ``direct``, ``ready_on``, ``waiting_channels``,
        and the records'
        derived fields) are not restored here: the engine rebuilds them.
        """
        self.tracking = False
        for record, values in reversed(self._before):
            for name, value in zip(STORED_FIELDS[type(record)], values, strict=True):
                object.__setattr__(record, name, value)
            if isinstance(record, (TaskQueueRecord, WorkflowRecord)):
                derive(record)
        for record in reversed(self._added):
            table = self.table(kind_of(record))
            sid = getattr(record, "sid")  # noqa: B009
            if table.get(sid) is record:
                del table[sid]
            object.__setattr__(record, "owner", None)
        touched = set()
        for record in self._removed:
            if any(record is added for added in self._added):
                continue
            object.__setattr__(record, "owner", self)
            kind = kind_of(record)
            self.table(kind)[getattr(record, "sid")] = record  # noqa: B009
            touched.add(kind)
        for kind in touched:  # back in their places
            table = self.table(kind)
            ordered = sorted(table.values(), key=lambda r: r.position)
            table.clear()
            table.update((getattr(r, "sid"), r) for r in ordered)  # noqa: B009
        counters = self.counters
        counters.sids, counters.seq, counters.positions = self._counters_before
        self._before, self._added, self._removed = [], [], []

    # -- persistence ------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Every record's stored fields and the counters, as JSON values, in order."""
        return {
            "counters": dataclasses.asdict(self.counters),
            **{kind: [encode_record(r) for r in self.table(kind).values()] for kind in KINDS},
        }

    def restore(self, counters: Counters, records: list[tuple[str, int, Record]]) -> None:
        """Replace everything with ``records`` (kind, position, record); indexes are cleared."""
        self.counters = counters
        self._base, self._multiplier = _sid_mixing(counters.sid_key)
        for kind in KINDS:
            self.table(kind).clear()
        for kind, position, record in sorted(records, key=lambda item: item[1]):
            object.__setattr__(record, "position", position)
            object.__setattr__(record, "owner", self)
            self.table(kind)[getattr(record, "sid")] = record  # noqa: B009
        self.active = {}
        self.task_reservations = {}
        self.worker_reservations = {}
        self.ready = set()
        self.direct = {}
        self.ready_on = {}
        self.waiting_channels = {}
