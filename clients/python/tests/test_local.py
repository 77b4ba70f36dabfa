"""The local fallback's state machine on its own (no daemon, manual time)."""

from __future__ import annotations

from breakerd import BreakerConfig
from breakerd.local import LocalBreaker


def test_consecutive_failures_timeout_trials_and_success_threshold() -> None:
    b = LocalBreaker(BreakerConfig(failure_threshold=3, success_threshold=2, timeout_ms=1000,
                                   half_open_max_calls=2, half_open_permit_timeout_ms=500), now=0.0)
    for _ in range(2):
        b.record(False, 0.0)
    b.record(True, 0.0)  # a success resets the run
    for _ in range(2):
        b.record(False, 0.0)
    assert b.state == "closed"
    b.record(False, 0.1)
    assert b.state == "open"
    v = b.should_attempt(0.5)
    assert not v.allow and v.retry_after is not None and abs(v.retry_after - 0.6) < 1e-9
    t1, t2, t3 = b.should_attempt(1.1), b.should_attempt(1.1), b.should_attempt(1.1)
    assert t1.allow and t2.allow and not t3.allow and t3.state == "half_open"
    assert not b.record(False, 1.2, ("generation", 1))  # stale: an old generation
    b.record(True, 1.2, t1.token)
    b.record(True, 1.2, t2.token)
    assert b.state == "closed"


def test_an_expired_permit_counts_as_a_failed_trial_and_returned_permits_free_the_slot() -> None:
    b = LocalBreaker(BreakerConfig(failure_threshold=1, timeout_ms=100, half_open_permit_timeout_ms=50), now=0.0)
    b.record(False, 0.0)
    trial = b.should_attempt(0.2)
    assert trial.allow and trial.token is not None
    b.return_permit(trial.token[1])
    again = b.should_attempt(0.2)
    assert again.allow  # the slot was free at once
    b.advance(0.3)  # not reported within 50 ms
    assert b.state == "open"


def test_rate_policy_over_a_count_window() -> None:
    b = LocalBreaker(BreakerConfig(policy="rate", window=("count", 10), minimum_calls=10, failure_rate_threshold=50),
                     now=0.0)
    for i in range(9):
        b.record(i % 2 == 0, 0.0)  # 4 failures of 9: too few calls
    assert b.state == "closed"
    b.record(False, 0.0)  # 5 of 10 = 50 %: exactly at the threshold trips
    assert b.state == "open"


def test_rate_policy_over_a_time_window_forgets_old_seconds() -> None:
    b = LocalBreaker(BreakerConfig(policy="rate", window=("time", 2), minimum_calls=4, failure_rate_threshold=75),
                     now=0.0)
    for _ in range(3):
        b.record(False, 0.0)
    for _ in range(3):
        b.record(True, 5.0)  # the failures left the window
    b.record(False, 5.0)
    assert b.state == "closed" and b.window is not None and b.window.calls == 4


def test_slow_calls_and_backoff() -> None:
    b = LocalBreaker(BreakerConfig(failure_threshold=1, slow_call_duration_ms=100, slow_call_rate_threshold=50,
                                   minimum_calls=2, window=("count", 4), timeout_ms=1000,
                                   timeout_backoff=(2.0, 3000)), now=0.0)
    b.record(True, 0.0, duration_ms=10)
    b.record(True, 0.0, duration_ms=150)  # 1 slow of 2 = 50 %
    assert b.state == "open" and b.open_until == 1.0
    trial = b.should_attempt(1.0)
    b.record(False, 1.0, trial.token)  # a failed trial reopens, twice as long
    assert b.state == "open" and b.open_until == 3.0
    trial = b.should_attempt(3.0)
    b.record(False, 3.0, trial.token)
    assert b.open_until == 6.0  # capped at max_ms


def test_modes() -> None:
    m = LocalBreaker(BreakerConfig(failure_threshold=1, mode="metrics_only"), now=0.0)
    m.record(False, 0.0)
    assert m.state == "open" and m.should_attempt(0.0).allow
    d = LocalBreaker(BreakerConfig(failure_threshold=1, mode="disabled"), now=0.0)
    d.record(False, 0.0)
    assert d.state == "closed" and d.should_attempt(0.0).allow


def test_seeded_from_the_last_state_seen() -> None:
    b = LocalBreaker(BreakerConfig(), now=10.0, state="open", open_until=12.0)
    assert not b.should_attempt(11.0).allow
    assert b.should_attempt(12.0).allow
    forced = LocalBreaker(BreakerConfig(), now=0.0, state="forced_open")
    assert not forced.should_attempt(1e9).allow


def test_config_from_the_wire() -> None:
    c = BreakerConfig.from_wire({"failure_threshold": 3, "policy": "rate", "window": {"kind": "time", "seconds": 30},
                                 "timeout_backoff": {"multiplier": 1.5, "max_ms": 90000}, "mode": "metrics_only",
                                 "slow_call_duration_ms": None, "future_field": 1})
    assert (c.failure_threshold, c.policy, c.window, c.timeout_backoff, c.mode) == (
        3, "rate", ("time", 30), (1.5, 90000), "metrics_only")
    assert BreakerConfig.from_wire(c.to_wire()) == c
