"""The in-memory backend: the contract suite, and the fault-injection hooks the reconciler uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadence.values.model import BusyInterval
from connectors import load_backend
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    Cancel,
    Create,
    TransientError,
    Update,
)
from connectors.memory import MemoryBackend, MemoryPerson
from tests.contract.past_meetings import PastMeetingsContract
from tests.contract.suite import BackendContract, at, only, spec_for

OWNER = "ana@example.com"


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend({}, BackendContext(base_dir=Path(".")))


@pytest.fixture
def owner() -> str:
    return OWNER


@pytest.fixture
def person(backend: MemoryBackend) -> MemoryPerson:
    return MemoryPerson(backend)


class TestMemoryContract(BackendContract, PastMeetingsContract):
    pass


def test_memory_backend_is_registered_by_name():
    assert load_backend("memory") is MemoryBackend


def test_fail_next_raises_once_for_that_owner_only(backend):
    backend.fail_next(OWNER, AuthError("token revoked"))
    with pytest.raises(AuthError, match="token revoked"):
        backend.list_owned(OWNER)
    assert backend.list_owned("bo@example.com") == []
    assert backend.list_owned(OWNER) == []


def test_fail_next_can_target_one_method(backend):
    backend.fail_next(OWNER, TransientError("throttled", retry_after=30), method="write")
    assert backend.list_owned(OWNER) == []
    with pytest.raises(TransientError) as caught:
        backend.write(OWNER, [Create(spec_for(OWNER))])
    assert caught.value.retry_after == 30
    assert backend.list_owned(OWNER) == []


def test_failures_for_any_owner_hit_the_next_call(backend):
    backend.fail_next(None, TransientError("down"))
    with pytest.raises(TransientError):
        backend.busy("bo@example.com", at(4, 0), at(5, 0))
    assert backend.busy("bo@example.com", at(4, 0), at(5, 0)) == []


def test_dropped_response_applies_the_write_then_raises(backend):
    backend.drop_response_after_write()
    spec = spec_for(OWNER)
    with pytest.raises(TransientError):
        backend.write(OWNER, [Create(spec)])
    assert [e.uid for e in backend.list_owned(OWNER)] == [spec.uid]
    # The retry of the same create finds the event and makes no second one.
    retried = only(backend.write(OWNER, [Create(spec)]))
    assert [e.uid for e in backend.list_owned(OWNER)] == [retried.uid]
    assert backend.ops == {"create": 1}


def test_dropped_response_in_mid_batch_applies_only_the_first_ops(backend):
    backend.drop_response_after_write(after_ops=2)
    specs = [
        spec_for(OWNER, uid=f"cadence-{i}", start=at(4, 9 + i), end=at(4, 10 + i)) for i in range(4)
    ]
    with pytest.raises(TransientError):
        backend.write(OWNER, [Create(s) for s in specs])
    assert sorted(e.uid for e in backend.list_owned(OWNER)) == ["cadence-0", "cadence-1"]
    assert len(backend.write(OWNER, [Create(s) for s in specs])) == 4
    assert backend.ops == {"create": 4}


def test_calls_and_ops_count_what_happened(backend):
    spec = spec_for(OWNER)
    created = only(backend.write(OWNER, [Create(spec)]))
    backend.write(OWNER, [Update(spec, etag=created.etag)])  # unchanged: no write happens
    backend.list_owned(OWNER)
    backend.write(OWNER, [Cancel(OWNER, spec.uid), Cancel(OWNER, spec.uid)])
    assert backend.calls == {"write": 3, "list_owned": 1}
    assert backend.ops == {"create": 1, "cancel": 1}


def test_an_unchanged_create_keeps_etag_and_sequence(backend):
    first = only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    again = only(backend.write(OWNER, [Create(spec_for(OWNER))]))
    assert (again.etag, again.sequence) == (first.etag, first.sequence)


def test_all_day_busy_uses_the_salespersons_zone():
    from datetime import UTC, date, datetime

    from cadence.values.model import Salesperson

    context = BackendContext(
        base_dir=Path("."), salespeople=[Salesperson(OWNER, timezone="Asia/Tokyo")]
    )
    backend = MemoryBackend({}, context)
    MemoryPerson(backend).add_event(OWNER, date(2027, 5, 10), date(2027, 5, 11), all_day=True)
    [ooo] = backend.busy(OWNER, at(9, 0), at(12, 0))
    assert (ooo.start, ooo.end) == (
        datetime(2027, 5, 9, 15, tzinfo=UTC),
        datetime(2027, 5, 10, 15, tzinfo=UTC),
    )


def test_busy_many_without_a_batch_asks_each_owner_and_keeps_each_ones_error(backend, person):
    # The base class's busy_many: what busy gives per owner, an owner's failure as its answer.
    other = "bo@example.com"
    person.add_event(OWNER, at(4, 9), at(4, 10))
    backend.fail_next(other, BackendError("calendar gone"), method="busy")
    found = backend.busy_many([OWNER, other], at(4, 0), at(5, 0))
    assert found[OWNER] == [BusyInterval(at(4, 9), at(4, 10))]
    assert isinstance(found[other], BackendError) and str(found[other]) == "calendar gone"
    assert backend.calls["busy"] == 2
    assert MemoryBackend.batched_busy is False


def test_busy_many_without_a_batch_raises_what_fails_the_whole_call(backend):
    backend.fail_next("bo@example.com", AuthError("token revoked"), method="busy")
    with pytest.raises(AuthError, match="token revoked"):
        backend.busy_many([OWNER, "bo@example.com"], at(4, 0), at(5, 0))


def test_a_backend_without_versions_or_an_outbox_says_so(backend):
    assert backend.version(OWNER) is None
    assert backend.pending_invites(OWNER) == 0
    assert backend.set_aside(OWNER) == []
