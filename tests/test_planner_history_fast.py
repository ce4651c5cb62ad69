"""The engine's cheaper contact history and booking keys give exactly what the plain way gives.

:func:`cadence.planner.contacts.collapse` sorts by a key made in C and returns a lone contact
without the duplicate bookkeeping; :func:`cadence.planner.existing.base_key` skips the regular
expression for keys without ``.r``. Both are held here, over random inputs, to the plain
computations they replace.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cadence.planner.contacts import SAME_MEETING_WINDOW, collapse
from cadence.planner.existing import base_key
from cadence.values.model import Contact, ContactKind

_SPOKEN = frozenset({ContactKind.MEETING, ContactKind.CALL})
_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _plain_collapse(contacts: list[Contact]) -> list[Contact]:
    """collapse as it was written first: a lambda key and every contact through the loop."""
    kept: list[Contact] = []
    seen_ids: set[tuple[str, str]] = set()
    last_spoken: dict[str, Contact] = {}
    for c in sorted(contacts, key=lambda c: (c.at, c.source, c.source_id)):
        if c.source_id and (c.customer_id, c.source_id) in seen_ids:
            continue
        if c.kind in _SPOKEN:
            prev = last_spoken.get(c.customer_id)
            if prev is not None and c.at - prev.at <= SAME_MEETING_WINDOW:
                if c.source_id:
                    seen_ids.add((c.customer_id, c.source_id))
                continue
            last_spoken[c.customer_id] = c
        if c.source_id:
            seen_ids.add((c.customer_id, c.source_id))
        kept.append(c)
    return kept


# Few customers, sources, ids and minutes, so that duplicates and near meetings are common.
CONTACTS = st.builds(
    Contact,
    customer_id=st.sampled_from(["A", "B"]),
    kind=st.sampled_from(list(ContactKind)),
    at=st.integers(0, 200).map(lambda m: _START + timedelta(minutes=m * 15)),
    source=st.sampled_from(["log", "csv", "booking", "calendar", "mail"]),
    source_id=st.sampled_from(["", "", "x", "y", "z"]),
    note=st.sampled_from(["", "by hand"]),
)


@given(st.lists(CONTACTS, max_size=8))
def test_collapse_is_the_plain_collapse(contacts: list[Contact]) -> None:
    found = collapse(contacts)
    plain = _plain_collapse(contacts)
    assert found == plain
    assert all(a is b for a, b in zip(found, plain, strict=True))  # the same copies kept


_RETRY = re.compile(r"\.r\d+$")
KEY_TEXT = st.text(alphabet=".r0123456789:abc_-", max_size=20)


@given(st.one_of(KEY_TEXT, st.builds(lambda k, n: f"{k}.r{n}", KEY_TEXT, st.integers(0, 99))))
def test_base_key_is_the_regular_expression(key: str) -> None:
    assert base_key(key) == _RETRY.sub("", key)
