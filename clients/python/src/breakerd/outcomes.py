"""Where an attempt's outcome goes: daemon decisions become records (successes folded),
local ones feed the local breaker, an attempt without an outcome hands its trial back.
Functions of the client, like ``control``'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .entry import Entry
from .local import local_token

if TYPE_CHECKING:
    from .breaker import TokenKind
    from .client import Client


def report(client: Client, entry: Entry, success: bool, kind: TokenKind, token: object,
           duration_ms: int | None) -> None:
    """Routes an outcome: daemon decisions become records (successes folded), local ones
    feed the local breaker. While the daemon is away in ``local`` mode, outcomes of
    still-cached daemon decisions feed the local breaker too, so it takes over with this
    replica's recent history."""
    if client._forked:
        client._check_fork()
    if kind == "generation":
        assert isinstance(token, int)
        if success:
            config = entry.config
            slow = (duration_ms is not None and config is not None and config.slow_call_duration_ms is not None
                    and duration_ms >= config.slow_call_duration_ms)
            # A duration is folded only when its side of the slow-call line is known: one
            # duration stands for the whole sum.
            client._records.success(entry, token, duration_ms, slow, duration_ms is None or config is not None)
        else:
            client._records.report(entry, "record-failure", generation=token, duration_ms=duration_ms)
    elif kind == "permit":
        assert isinstance(token, str)
        client._records.report(entry, "record-success" if success else "record-failure", permit=token,
                             duration_ms=duration_ms)
    elif kind == "local":
        entry.feed_local(success, local_token(token), client._clock(), None, duration_ms)
        return
    else:
        return
    if client.fallback == "local" and not client._available:
        entry.feed_local(success, None, client._clock(), client.default_local_config, duration_ms)


def report_success(client: Client, entry: Entry, generation: int) -> None:
    """``report`` for the commonest case: a success after a cached closed decision."""
    if client._forked:
        client._check_fork()
    client._records.success(entry, generation, None, False)
    if not client._available and client.fallback == "local":
        entry.feed_local(True, None, client._clock(), client.default_local_config, None)


def abandon(client: Client, entry: Entry, kind: TokenKind, token: object) -> None:
    """An attempt ended without an outcome: a trial's permit is handed back."""
    if kind == "permit":
        assert isinstance(token, str)
        client._records.report(entry, "return-permit", permit=token)
    elif kind == "local":
        trial = local_token(token)
        if entry.local is not None and trial is not None and trial[0] == "permit":
            entry.local.return_permit(trial[1])


def on_record_reply(client: Client, entry: Entry, state: str, generation: int, epoch: int) -> None:
    entry.observe(state, generation, epoch, client._clock(), client._open_cache, client.default_local_config.timeout_ms)
