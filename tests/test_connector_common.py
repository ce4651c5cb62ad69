"""connectors/common: the one copy of what every connector shares."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.base import BackendError, Cancel, InvalidValue, RemoteEvent
from connectors.common.codec import event_from_json, event_to_json
from connectors.common.days import day_bounds, local_midnight, whole_local_days
from connectors.common.validation import require_owner, require_window, validate_spec
from tests.contract.suite import spec_for

OWNER = "ana@example.com"
SANTIAGO = ZoneInfo("America/Santiago")


def test_a_midnight_skipped_by_dst_moves_forward_to_the_end_of_the_gap():
    # Chile springs forward at midnight: 6 Sep 2026 starts at 01:00 -03, that is 04:00 UTC.
    assert local_midnight(date(2026, 9, 6), SANTIAGO) == datetime(2026, 9, 6, 4, tzinfo=UTC)
    start, end = day_bounds(date(2026, 9, 6), date(2026, 9, 7), SANTIAGO)
    assert end - start == timedelta(hours=23)


def test_an_ordinary_local_midnight_is_its_utc_instant():
    assert local_midnight(date(2026, 9, 7), SANTIAGO) == datetime(2026, 9, 7, 3, tzinfo=UTC)


def test_a_span_between_local_midnights_of_different_dates_is_whole_days():
    havana = ZoneInfo("America/Havana")
    start = local_midnight(date(2026, 11, 1), havana)
    assert whole_local_days(start, local_midnight(date(2026, 11, 2), havana), havana)
    assert not whole_local_days(start, start + timedelta(hours=23), havana)
    # Havana falls back at 01:00 to 00:00 on 1 Nov 2026: midnight comes twice, an hour apart.
    again = datetime(2026, 11, 1, 0, 0, fold=1, tzinfo=havana)
    assert not whole_local_days(start, again.astimezone(UTC), havana)


def test_a_refused_value_is_a_backend_error_and_a_value_error():
    naive = spec_for(OWNER, start=datetime(2027, 5, 4, 10))
    with pytest.raises(InvalidValue, match="must be timezone-aware, got naive") as caught:
        validate_spec(naive, OWNER)
    assert isinstance(caught.value, BackendError) and isinstance(caught.value, ValueError)
    with pytest.raises(InvalidValue, match="window end must be timezone-aware"):
        require_window(datetime(2027, 5, 4, tzinfo=UTC), datetime(2027, 5, 5))


def test_all_day_bounds_must_be_dates_and_end_after_start():
    empty = spec_for(OWNER, start=date(2027, 5, 4), end=date(2027, 5, 4))
    with pytest.raises(InvalidValue, match="is not after start"):
        validate_spec(replace(empty, all_day=True), OWNER)
    with pytest.raises(InvalidValue, match="of an all-day event must be a date"):
        validate_spec(replace(spec_for(OWNER), all_day=True), OWNER)


def test_an_operation_for_another_owner_is_refused():
    with pytest.raises(InvalidValue, match=r"belongs to bo@example\.com, not to ana@example\.com"):
        require_owner(Cancel("bo@example.com", "cadence-x"), OWNER)


@pytest.mark.parametrize("id_key", ["remote_id", "id"])
def test_kept_events_read_back_as_they_were(id_key):
    timed = RemoteEvent(
        uid="cadence-1",
        owner=OWNER,
        start=datetime(2027, 5, 4, 9, tzinfo=UTC),
        end=datetime(2027, 5, 4, 10, tzinfo=UTC),
        title="Check-in",
        etag='"7"',
        remote_id="/cal/1.ics",
        sequence=2,
        tags={"customer_id": "c1"},
    )
    all_day = RemoteEvent(
        "cadence-2", OWNER, date(2027, 5, 4), date(2027, 5, 5), all_day=True, status="declined"
    )
    for event in (timed, all_day):
        data = event_to_json(event, id_key=id_key)
        assert data[id_key] == event.remote_id
        assert event_from_json(OWNER, data, id_key=id_key) == event
