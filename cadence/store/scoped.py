"""The store's scoped reads: what a command about some salespeople, or a cycle about what
changed, reads instead of every row (a base of :class:`cadence.store.repository.Store`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from cadence.store import rows as convert
from cadence.store.engine import Database
from cadence.store.tables import BOOKINGS, CONTACTS, CUSTOMERS
from cadence.values.bookings import BookingRecord
from cadence.values.model import BookingState


class ScopedReads(Database):
    """Reads of a part: one salesperson's customers, one source's contacts, bookings ahead."""

    def has_customers(self, owner: str | None = None) -> bool:
        """Is any customer stored (owned by ``owner`` when given)? One indexed lookup."""
        t = CUSTOMERS
        query = sa.select(t.c.id).limit(1)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def contact_times(
        self, source: str, customer_ids: Iterable[str]
    ) -> dict[tuple[str, str], datetime]:
        """(customer id, source id) -> time of the contacts from ``source`` that ``customer_ids``
        have: which of a source's contacts are stored as they are (the indexed customer id)."""
        t = CONTACTS
        found: dict[tuple[str, str], datetime] = {}
        with self._read() as conn:
            for chunk in convert.chunks(sorted(set(customer_ids))):
                query = sa.select(t.c.customer_id, t.c.source_id, t.c.at).where(
                    t.c.customer_id.in_(chunk), t.c.source == source, t.c.source_id != ""
                )
                for customer_id, source_id, at in conn.execute(query):
                    found[(customer_id, source_id)] = at
        return found

    def bookings_ending_after(
        self, at: datetime, states: Iterable[BookingState] | None = None
    ) -> list[BookingRecord]:
        """Stored bookings (in ``states`` when given) that may not be over at ``at``, by key:
        timed ones ending after it, all-day ones ending after the UTC day before it (an all-day
        booking is over by its owner's date, which the caller judges). Not the years before."""
        t = BOOKINGS
        ahead = sa.or_(
            sa.and_(t.c.all_day.is_(False), t.c.end_at > at),
            sa.and_(t.c.all_day.is_(True), t.c.end_day > at.date() - timedelta(days=1)),
        )
        query = sa.select(t).where(ahead).order_by(t.c.key)
        if states is not None:
            query = query.where(t.c.state.in_([BookingState(s).value for s in states]))
        with self._read() as conn:
            return [convert.booking_of(row) for row in conn.execute(query)]
