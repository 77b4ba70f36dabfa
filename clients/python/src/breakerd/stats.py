"""The client's counters, named like the Swift BreakerClient's ``Statistics`` (in snake_case)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Stats:
    """Counters of one :class:`~breakerd.Client`, read through ``client.stats``.

    Cache hits are not counted (that would cost time on the hot path). Every record the client
    makes ends in exactly one of ``records_acknowledged``, ``records_rejected``,
    ``records_lost`` and ``records_dropped``, or is still counted in ``records_pending``.
    """

    #: Whether the decision connection is up right now.
    is_daemon_available: bool = False
    #: ``should-attempt`` requests sent (cache misses that reached the daemon).
    decision_requests: int = 0
    #: Calls decided by the fallback.
    fallback_decisions: int = 0
    #: Records written for the first time (resends are in ``records_resent``).
    records_sent: int = 0
    #: Outcomes carried by those records: folding makes this larger than ``records_sent``.
    outcomes_sent: int = 0
    #: Records the daemon acknowledged (committed).
    records_acknowledged: int = 0
    #: Records dropped because the queue was full (oldest first).
    records_dropped: int = 0
    #: Records given up after ``record_retry_limit`` with every write's connection failed
    #: before the reply: the daemon counted them once at most (dedupe key), or not at all. Also
    #: success aggregates whose one write's connection failed before the reply (never resent).
    records_lost: int = 0
    #: ``record-batch`` lines written (each carries several records; resends included).
    record_batches_sent: int = 0
    #: Records the daemon answered with an error reply, or an error in their place of a
    #: ``record-batch`` reply (never resent).
    records_rejected: int = 0
    #: Writes of records again, with the same dedupe key, after their connection failed.
    records_resent: int = 0
    #: Records queued or in flight now (open folds not included).
    records_pending: int = 0
    #: Transition events received on the watch connection (of any breaker).
    pushed_transitions: int = 0
    #: ``reset`` events received (a closed breaker reset: its held answer is dropped).
    pushed_resets: int = 0
    #: Heartbeats received on the watch connection (they keep held answers valid).
    heartbeats: int = 0
    #: Connections established (first ones included).
    connects: int = 0
    #: Times cached state was dropped because the decision connection (re)connected.
    resyncs: int = 0
    #: Lines from the daemon that broke the protocol (each closed its connection).
    protocol_violations: int = 0
    #: Half-open permits handed back with ``return-permit`` (cancelled or abandoned trials).
    permits_returned: int = 0
    #: ``not_leader`` answers followed to the leader they named.
    leader_redirects: int = 0
    #: Successes in aggregates (a closed breaker's summed successes, no permit) whose connection
    #: failed before the reply: counted by the daemon or not, never resent (at most once).
    successes_lost: int = 0

    def snapshot(self) -> dict[str, int | bool]:
        """The counters as a plain dict (for health pages and logs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
