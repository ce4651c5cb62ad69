"""The store's small keyed tables: backends' persistent state, leases, and each salesperson's
revision (bumped in the transaction that changes their inputs; the incremental cycle's clue).

:class:`StoreState` is a backend's key/value state (``connectors.base.StateStore``); a lease
names who serves a share of the salespeople until when (:mod:`cadence.store.leases`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cadence.store import rows as convert
from cadence.store.engine import Database
from cadence.store.tables import CUSTOMERS, LEASES, REVISIONS, STATE
from cadence.values.model import require_aware


class StoreState:
    """A backend's persistent key/value state (implements ``connectors.base.StateStore``)."""

    def __init__(self, store: KeyedTables, namespace: str) -> None:
        self._store = store
        self.namespace = namespace

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        store = self._store
        if store._dialect == "sqlite" and store._open_batch() is None:
            # A cycle asks a few of these per salesperson: SQLite's own cursor (see
            # Database._sqlite_value) rather than a Connection's 130 us of events and pooling.
            value: str | None = store._sqlite_value(store._state_get_sql, (self.namespace, key))
            return value
        with store._read(single=True) as conn:
            return conn.execute(
                self._store._state_get, {"namespace": self.namespace, "key": key}
            ).scalar_one_or_none()

    def set(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key``; None removes the key."""
        where = {"namespace": self.namespace, "key": key}
        with self._store._write() as conn:
            if value is None:
                conn.execute(self._store._state_delete, where)
            else:
                conn.execute(self._store._state_set, {**where, "value": value})


class KeyedTables(Database):
    """Backends' state, leases and salespeople's revisions over one database (the base of
    :class:`cadence.store.repository.Store`)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        # Built once: a statement built per call costs more than running it.
        t = STATE
        ns, key = sa.bindparam("namespace", type_=sa.String), sa.bindparam("key", type_=sa.String)
        self._state_get = sa.select(t.c.value).where(t.c.namespace == ns, t.c.key == key)
        self._state_delete = t.delete().where(t.c.namespace == ns, t.c.key == key)
        upsert = self._insert(t)
        self._state_set = upsert.on_conflict_do_update(
            index_elements=["namespace", "key"], set_={"value": upsert.excluded.value}
        )
        c, r = CUSTOMERS, REVISIONS
        self._owners_of = (
            sa.select(c.c.owner).distinct().where(c.c.id.in_(sa.bindparam("ids", expanding=True)))
        )
        bump = self._insert(r)
        self._bump = bump.on_conflict_do_update(
            index_elements=["owner"], set_={"revision": r.c.revision + 1}
        )

    @functools.cached_property
    def _state_get_sql(self) -> str:
        """``_state_get`` as SQLite runs it, its parameters in order (namespace, key)."""
        compiled = self._state_get.compile(dialect=self.engine.dialect)
        if list(compiled.positiontup or ()) != ["namespace", "key"]:
            raise TypeError(f"unexpected parameters of {compiled}")
        return str(compiled)

    # -- revisions -------------------------------------------------------------------------------

    def _touch(
        self, conn: Connection, owners: Iterable[str] = (), customer_ids: Iterable[str] = ()
    ) -> None:
        """Bump the revision of ``owners`` and of the owners of ``customer_ids`` (inside the
        transaction that changed their inputs)."""
        touched = set(owners)
        for chunk in convert.chunks(sorted(set(customer_ids))):
            touched.update(conn.execute(self._owners_of, {"ids": chunk}).scalars())
        if touched:
            conn.execute(self._bump, [{"owner": o, "revision": 1} for o in sorted(touched)])

    def owner_revisions(self) -> dict[str, int]:
        """Each salesperson's revision (see :class:`~cadence.store.tables.OwnerRevisionRow`); 0
        when never touched."""
        t = REVISIONS
        with self._read(single=True) as conn:
            return {owner: rev for owner, rev in conn.execute(sa.select(t.c.owner, t.c.revision))}

    # -- backend state ---------------------------------------------------------------------------

    def state(self, namespace: str) -> StoreState:
        """Persistent key/value state for one backend (``connectors.base.StateStore``)."""
        return StoreState(self, namespace)

    # -- leases ----------------------------------------------------------------------------------

    def try_lease(self, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl_seconds``.

        Succeeds when the lease is free, expired (``expires_at <= now``) or already ``holder``'s.
        One conditional upsert decides, so two daemons racing for a lease cannot both win.
        """
        require_aware(now, "try_lease now")
        t = LEASES
        expires = now + timedelta(seconds=ttl_seconds)
        stmt = self._insert(t).values(name=name, holder=holder, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=sa.or_(t.c.holder == stmt.excluded.holder, t.c.expires_at <= now),
        ).returning(t.c.holder)
        with self._write() as conn:
            return conn.execute(stmt).first() is not None

    def release_lease(self, name: str, holder: str) -> bool:
        """Give up ``holder``'s lease ``name`` (on shutdown); False when it was not theirs."""
        t = LEASES
        with self._write() as conn:
            result = conn.execute(t.delete().where(t.c.name == name, t.c.holder == holder))
            return result.rowcount > 0

    def live_leases(self, prefix: str, now: datetime) -> dict[str, str]:
        """{name: holder} of the leases named ``prefix...`` that have not expired at ``now``."""
        t = LEASES
        with self._read(single=True) as conn:
            rows = conn.execute(
                sa.select(t.c.name, t.c.holder).where(
                    t.c.name.startswith(prefix, autoescape=True), t.c.expires_at > now
                )
            ).all()
        return {name: holder for name, holder in rows}

    def release_holder(self, holder: str) -> int:
        """Give up every lease ``holder`` has (a daemon shutting down); how many there were."""
        t = LEASES
        with self._write() as conn:
            return conn.execute(t.delete().where(t.c.holder == holder)).rowcount

    def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds ``name`` at ``now``, or None when it is free or expired."""
        t = LEASES
        with self._read(single=True) as conn:
            return conn.execute(
                sa.select(t.c.holder).where(t.c.name == name, t.c.expires_at > now)
            ).scalar_one_or_none()
