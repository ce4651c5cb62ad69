"""The one Retry-After parser and capped backoff every connector uses (connectors.common.http)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest

from connectors.base import TransientError
from connectors.common.http import MAX_WAIT, AnswersAhead, Backoff, parse_retry_after, side_by_side

NOW = datetime(2026, 10, 21, 7, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),  # never a negative wait
        ("Wed, 21 Oct 2026 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2026 07:26:00 GMT", 0.0),  # a date already past: at once
        ("Wed, 21 Oct 2026 07:28:00 -0000", 60.0),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_retry_after_is_delta_seconds_or_an_http_date(value: str | None, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_backoff_doubles_up_to_its_cap_and_the_server_wins() -> None:
    backoff = Backoff(base=1.0, cap=30.0)
    assert [backoff.delay(n, None) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(3, 7.0) == 7.0


def test_jittered_backoff_waits_between_half_and_all_of_the_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=64.0, jitter=True)
    rng = random.Random(3)
    for attempt in range(9):
        ceiling = min(64.0, 2.0**attempt)
        assert ceiling / 2 <= backoff.delay(attempt, None, rng) <= ceiling


def test_a_long_wait_is_handed_back_never_slept() -> None:
    slept: list[float] = []
    backoff = Backoff()
    backoff.pause(slept.append, MAX_WAIT, "throttled")
    assert slept == [MAX_WAIT]
    with pytest.raises(TransientError) as handed:
        backoff.pause(slept.append, 3600.0, "throttled")
    assert handed.value.retry_after == 3600.0
    assert "throttled" in str(handed.value)
    assert slept == [MAX_WAIT]


def test_an_answer_read_ahead_is_used_once_and_only_while_fresh() -> None:
    now = [0.0]
    ahead: AnswersAhead[str, str] = AnswersAhead(ahead_for=120.0, clock=lambda: now[0])
    ahead.keep("ana", "her calendar")
    ahead.keep("ben", "his calendar")
    assert ahead.take("ana") == "her calendar"
    assert ahead.take("ana") is None  # used once
    now[0] = 121.0
    assert ahead.take("ben") is None  # too old: the read asks again
    assert len(ahead) == 0


def test_answers_read_ahead_can_be_forgotten_by_key() -> None:
    ahead: AnswersAhead[tuple[str, str], int] = AnswersAhead()
    for key in (("ana", "events"), ("ana", "meetings"), ("ben", "events")):
        ahead.keep(key, 1)
    ahead.forget(lambda key: key[0] == "ana")
    assert len(ahead) == 1 and ahead.take(("ben", "events")) == 1


def test_side_by_side_runs_items_at_once_and_keeps_their_order() -> None:
    both = threading.Barrier(2, timeout=60)  # passes only when two items run at the same time

    def work(n: int) -> int:
        if n < 2:
            both.wait()
        return n * 10

    assert side_by_side(work, [0, 1, 2, 3], workers=2) == [0, 10, 20, 30]
    assert side_by_side(work, [], workers=2) == []
