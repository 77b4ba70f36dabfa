"""Gets outcomes to breakerd without making the caller wait: successes summed per breaker and
sent at the next flush tick, failures and trials at once, many breakers in one
``record-batch`` line, bounded queues, one connection per breaker (in order), resends with the
same ``dedupe`` key, and a closed breaker's summed successes at most once. The rules and why
they hold: clients/python/DESIGN.md."""

from __future__ import annotations

import asyncio
import bisect
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial

from .codec import Message, error_of
from .connection import Connection
from .entry import Entry
from .folds import Folds
from .link import Link
from .record import Record, encode_lines
from .stats import Stats
from .waiters import Waiters

log = logging.getLogger("breakerd")

# Fold windows and resend limits run on this clock (timers are set with call_later).
_monotonic = time.monotonic


class RecordQueue:
    """The record pipeline of one client (see the module docstring)."""

    def __init__(self, links: list[Link], stats: Stats, *, fold_window: float, max_queued: int, max_in_flight: int,
                 timeout: float, retry_limit: float, current_epoch: Callable[[], int],
                 on_reply: Callable[[Entry, str, int, int], None]) -> None:
        self._links = links
        self._stats = stats
        self._loop = asyncio.get_running_loop()
        self._max_queued = max(1, max_queued)
        self._max_in_flight = max(1, max_in_flight)
        self._timeout = timeout
        self._retry_limit = retry_limit
        self._current_epoch = current_epoch
        self._on_reply = on_reply
        self._prefix = secrets.token_hex(8)
        self._queue: list[Record] = []
        self._next_sequence = 0
        self._folds = Folds(fold_window, lambda record: self._append(record, urgent=False), self._schedule)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        self._kick_pending = False
        self._in_flight = [0] * len(links)
        self._written_on: list[Connection | None] = [None] * len(links)
        #: Woken when nothing is queued or in flight any more (``Client.flush`` waits on it).
        self.drained = Waiters()

    # -- producers (never block, never do I/O) ------------------------------------------------

    def success(self, entry: Entry, generation: int, duration_ms: int | None, slow: bool,
                foldable: bool = True) -> None:
        """A success following a closed decision of ``generation``: folded (unless not
        ``foldable``: a duration whose side of the slow-call line is unknown), and sent at the
        next flush tick."""
        now = _monotonic()
        if not foldable:
            self._folds.close(entry)
            self._append(Record(entry, "record-success", 1, generation, None, duration_ms), urgent=False)
            self._folds.tick(now)
            return
        if self._folds.add(entry, generation, duration_ms, slow, now) and self._folds.forced:
            self.kick()

    def report(self, entry: Entry, op: str, generation: int | None = None, permit: str | None = None,
               duration_ms: int | None = None) -> None:
        """A failure, a half-open trial or a returned permit: sent at once, after the breaker's
        folded successes."""
        self._folds.close(entry)
        self._append(Record(entry, op, 1, generation, permit, duration_ms), urgent=True)

    @property
    def pending(self) -> int:
        """Records queued or in flight (open folds not included)."""
        return len(self._queue) + sum(self._in_flight)

    @property
    def is_drained(self) -> bool:
        """Nothing queued, in flight or being folded."""
        return self.pending == 0 and self._folds.open == 0

    def kick(self) -> None:
        """Sends what can be sent, soon."""
        if not self._kick_pending:
            self._kick_pending = True
            self._loop.call_soon(self._flush)

    def force_folds(self, force: bool) -> None:
        """Closes every fold now (for ``Client.flush``), or lets them follow their window again."""
        self._folds.forced = force
        if force:
            self.kick()

    # -- internals ----------------------------------------------------------------------------

    def _append(self, record: Record, urgent: bool) -> None:
        if len(self._queue) >= self._max_queued:
            self._queue.pop(0)
            self._stats.records_dropped += 1
        record.sequence = self._next_sequence
        self._next_sequence += 1
        self._queue.append(record)
        if urgent:
            self.kick()

    def _schedule(self, due: float) -> None:
        if self._timer_due is not None and self._timer_due <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = self._loop.call_later(max(0.0, due - _monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        # Cleared before flushing: a timer may fire a hair before its due time, and a stale
        # due time would keep every later fold from scheduling one.
        self._timer = None
        self._timer_due = None
        self._flush()

    def _flush(self) -> None:
        now = _monotonic()
        self._kick_pending = False
        next_due = self._folds.close_due(now)

        connections = [link.connection for link in self._links]
        ready: list[bool] = []
        for i, c in enumerate(connections):
            ok = c is not None and c.is_active and (self._in_flight[i] == 0 or self._written_on[i] is c)
            if ok:
                self._written_on[i] = c
            ready.append(ok)
        epoch = self._current_epoch()
        batches: list[list[Record]] = [[] for _ in self._links]
        kept: list[Record] = []
        expired = 0
        for record in self._queue:
            if record.first_sent is not None and now - record.first_sent >= self._retry_limit:
                expired += 1
                continue
            i = record.entry.link
            if ready[i] and self._in_flight[i] < self._max_in_flight:
                if record.first_sent is None:
                    record.first_sent, record.epoch = now, epoch
                record.writes += 1
                batches[i].append(record)
                self._in_flight[i] += 1
            else:
                if record.first_sent is not None:
                    due = record.first_sent + self._retry_limit
                    next_due = due if next_due is None else min(next_due, due)
                kept.append(record)
        self._queue = kept
        if expired:
            self._stats.records_lost += expired
        if next_due is not None:
            self._schedule(next_due)
        for i, batch in enumerate(batches):
            connection = connections[i]
            if batch and connection is not None:
                self._send(batch, connection, i)
        self._wake_if_drained()

    def _send(self, batch: list[Record], connection: Connection, link: int) -> None:
        lines, groups = encode_lines(batch, self._prefix, self._stats)
        futures = connection.send_many(lines, self._timeout)
        for group, future in zip(groups, futures, strict=True):
            future.add_done_callback(partial(self._done, group, link, connection))

    def _done(self, group: list[Record], link: int, connection: Connection, future: asyncio.Future[Message]) -> None:
        requeued = False
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or exc is not None:
            for record in group:
                requeued = self._connection_failed(record) or requeued
        else:
            reply = future.result()
            if len(group) == 1:
                requeued = self._settle(group[0], reply, link, connection)
            else:
                error = error_of(reply)
                results = reply.get("results")
                if error is None and (not isinstance(results, list) or len(results) != len(group)
                                      or not all(isinstance(r, dict) for r in results)):
                    # Each entry's fate is unknown: resent with the same keys on a new connection
                    # (success aggregates are not: at most once).
                    self._stats.protocol_violations += 1
                    log.warning("breakerd answered a record-batch of %d without as many results; reconnecting",
                                len(group))
                    connection.close("record-batch reply without a result per entry")
                    for record in group:
                        requeued = self._connection_failed(record) or requeued
                elif error is None:
                    assert isinstance(results, list)
                    for record, result in zip(group, results, strict=True):
                        requeued = self._settle(record, result, link, connection) or requeued
                elif error.code == "not_leader":  # nothing recorded: all go to the leader
                    for record in group:
                        requeued = self._requeue(record) or requeued
                    self._links[link].redirect(error.leader, connection)
                else:  # the whole line was refused: every entry gets its error
                    self._stats.records_rejected += len(group)
                    log.warning("breakerd refused a record-batch of %d records: %s", len(group), error)
        self._in_flight[link] -= len(group)
        if self._queue and (not requeued or self._links[link].connection is not connection):
            self.kick()
        self._wake_if_drained()

    def _wake_if_drained(self) -> None:
        if not self._queue and not any(self._in_flight):
            self.drained.wake_all()

    def _settle(self, record: Record, reply: Message, link: int, connection: Connection) -> bool:
        """Handles one record's reply (or its result in a batch). True if it was queued again."""
        error = error_of(reply)
        if error is None:
            self._stats.records_acknowledged += 1
            if record.op == "return-permit":
                self._stats.permits_returned += 1
            state, generation = reply.get("state"), reply.get("generation")
            if isinstance(state, str) and isinstance(generation, int):
                self._on_reply(record.entry, state, generation, record.epoch)
            return False
        if error.code == "not_leader":
            requeued = self._requeue(record)
            self._links[link].redirect(error.leader, connection)
            return requeued
        self._stats.records_rejected += 1
        log.warning("breakerd refused a record for %r: %s", record.entry.name, error)
        return False

    def _connection_failed(self, record: Record) -> bool:
        """A record whose connection failed before its reply: a success aggregate is lost, never
        resent; anything else queued again (``_requeue``). True if queued again."""
        if not record.is_success_aggregate:
            return self._requeue(record)
        self._stats.records_lost += 1
        self._stats.successes_lost += record.count
        return False

    def _requeue(self, record: Record) -> bool:
        """Puts a record whose connection failed back in its place; lost past the retry limit."""
        now = _monotonic()
        if record.first_sent is None or now - record.first_sent >= self._retry_limit:
            self._stats.records_lost += 1
            return False
        bisect.insort(self._queue, record)
        if len(self._queue) > self._max_queued:
            self._queue.pop(0)
            self._stats.records_dropped += 1
        self._schedule(record.first_sent + self._retry_limit)
        return True

