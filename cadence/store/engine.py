"""The database under the store: the engine, its transactions, and the schema's migration.

On SQLite the database runs in WAL mode (readers never block the writer) and every writing
transaction starts with ``BEGIN IMMEDIATE``, so writers queue instead of failing; on
PostgreSQL an advisory lock keeps two daemons starting at once from migrating together, and
:meth:`Database._take_turns` serialises the read-then-write transactions between processes.

Durability on SQLite: ``synchronous = NORMAL`` under WAL, so a commit is not flushed to the
disk (a process that dies loses nothing committed; a power cut may lose the last commits, never
the database, and never a later commit without an earlier one). A transaction recorded before
an effect outside the database (a write's intent, before the calendar is written) is made
``durable``: it is flushed, with everything before it, before its ``with`` block ends.

Several writes of one phase can share a transaction (:meth:`Database.batch`): a commit costs
more than the statements of a small write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from cadence.store.tables import LATEST_VERSION, SCHEMA_VERSION
from cadence.values.errors import UserError

# How long a writer waits for SQLite's lock before giving up (another process is writing).
SQLITE_BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key serialising migrations between processes ("cadence" in ASCII).
_MIGRATION_LOCK = 0x63616465
# pg_advisory_xact_lock keys for the read-then-write transactions that several daemons (or a
# daemon and `cadence import`) may run at once: they take turns instead of colliding.
PLAN_LOCK = 0x706C616E  # "plan"
CUSTOMERS_LOCK = 0x63757374  # "cust"
SALESPEOPLE_LOCK = 0x73616C65  # "sale"


class Database:
    """One database URL (``sqlite:///cadence.db``, ``postgresql+psycopg://user@host/db``),
    its schema created or migrated on construction.

    Raises :class:`UserError` when the database cannot be opened or is newer than this cadence.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._batch = threading.local()  # the calling thread's open batch (a Connection)
        self.engine = self._engine_for(url)
        self._dialect = self.engine.dialect.name
        try:
            self._migrate()
        except DBAPIError as exc:  # unreachable server, unknown database, no permission
            shown = self.engine.url.render_as_string(hide_password=True)
            self.engine.dispose()
            raise UserError(f"cannot open database {shown}: {exc.orig}") from None

    @staticmethod
    def _engine_for(url: str) -> Engine:
        try:
            parsed = sa.make_url(url)
        except ArgumentError:
            raise UserError(
                f"database {url!r} is not a database URL (e.g. sqlite:///cadence.db)"
            ) from None
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver we ship; SQLAlchemy's default would be psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise UserError(
                f"database {parsed.render_as_string(hide_password=True)!r}: "
                "only sqlite:/// and postgresql+psycopg:// URLs are supported"
            )
        if parsed.get_backend_name() == "postgresql":
            return sa.create_engine(parsed, pool_pre_ping=True)
        in_memory = parsed.database in (None, "", ":memory:")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            # One shared connection, or every connection would see its own empty database.
            options["poolclass"] = StaticPool
        engine = sa.create_engine(parsed, **options)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN itself (the sqlite3 module's own
            # implicit transactions start too late and never for DDL).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                # WAL: readers (cadence plan) never block the daemon's writes and vice versa.
                cursor.execute("PRAGMA journal_mode = WAL")
                # Under WAL, NORMAL never corrupts the database; see the module's text.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            if options.get("cadence_single"):
                return  # one statement: SQLite's own statement transaction is the snapshot
            if not in_memory:
                _synchronous(conn, "FULL" if options.get("cadence_durable") else "NORMAL")
            # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
            # when another process wrote in between (the busy timeout does not apply); taking
            # the write lock up front makes writers queue instead.
            if options.get("cadence_read_only"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make the calling thread's store writes (and reads) until the block ends one
        transaction: committed when the block ends, rolled back when it raises. Nothing
        outside the database may happen inside (no backend call: the transaction holds
        SQLite's write lock). A batch inside a batch joins it."""
        if self._open_batch() is not None:
            yield
            return
        with self.engine.begin() as conn:
            self._batch.conn = conn
            try:
                yield
            finally:
                self._batch.conn = None

    def _open_batch(self) -> Connection | None:
        conn: Connection | None = getattr(self._batch, "conn", None)
        return conn

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Connection]:
        """A writing transaction (or the open batch's); ``durable``: on the disk when the
        block ends, with every commit before it (see the module's text)."""
        batch = self._open_batch()
        if batch is not None:
            if durable:
                raise RuntimeError("a durable write cannot join a batch: it commits first")
            yield batch
            return
        if durable and self._dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.execution_options(cadence_durable=True)
                with conn.begin():
                    yield conn
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self, *, single: bool = False) -> Iterator[Connection]:
        """A reading transaction (or the open batch's); ``single``: for one statement, which
        is consistent by itself (no BEGIN and COMMIT around it on SQLite)."""
        batch = self._open_batch()
        if batch is not None:
            yield batch
            return
        with self.engine.connect() as conn:
            conn.execution_options(**{"cadence_single" if single else "cadence_read_only": True})
            with conn.begin():
                yield conn

    def _sqlite_value(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The first column of the first row of one SELECT on SQLite (None without a row), on
        the pool's own sqlite3 connection: what ``_read(single=True)`` does (one statement,
        consistent by itself, no BEGIN), without SQLAlchemy's Connection around it (its events,
        options and reset cost 110 us a read, SQLite's own work 6 us). Only outside a batch,
        whose connection must see the batch's writes; errors are wrapped as SQLAlchemy's."""
        error = self.engine.dialect.loaded_dbapi.Error
        raw = self.engine.raw_connection()
        try:
            row = raw.cursor().execute(sql, params).fetchone()
        except error as exc:
            raise DBAPIError.instance(sql, params, exc, error) from exc
        finally:
            raw.close()
        return None if row is None else row[0]

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_nothing``/``_do_update``."""
        if self._dialect == "postgresql":
            from sqlalchemy.dialects import postgresql  # loaded only for PostgreSQL

            return postgresql.insert(table)
        return sqlite.insert(table)

    def _take_turns(self, conn: Connection, key: int) -> None:
        """Make this transaction wait for any other holding ``key`` (PostgreSQL; on SQLite
        BEGIN IMMEDIATE already serialises writers): a read-then-write run by two processes
        at once would otherwise insert the same rows twice."""
        if self._dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    def close(self) -> None:
        """Release every connection. The store must not be used afterwards."""
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The version the database's schema is at."""
        t = SCHEMA_VERSION
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.max(t.c.version))).scalar() or 0

    def _migrate(self) -> None:
        """Bring the schema to :data:`LATEST_VERSION`, one migration per transaction. A
        database already there (every command's start) costs one read: the migrations, and
        the sqlmodel declarations they create, are imported only when one has to run."""
        if self._schema_version_read() == LATEST_VERSION:
            return
        from cadence.store.migrations import MIGRATIONS

        t = SCHEMA_VERSION
        for target in range(1, len(MIGRATIONS) + 1):
            with self._write() as conn:
                if self._dialect == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                t.create(conn, checkfirst=True)
                current = conn.execute(sa.select(sa.func.max(t.c.version))).scalar() or 0
                _refuse_newer(current)
                if current >= target:
                    continue
                MIGRATIONS[target - 1](conn)
                # The database's clock: the store never reads the system clock itself.
                conn.execute(
                    t.insert().values(version=target, applied_at=sa.func.current_timestamp())
                )

    def _schema_version_read(self) -> int:
        """The schema's version (0: no ``schema_version`` table yet), refusing a newer one."""
        t = SCHEMA_VERSION
        with self._read() as conn:
            if not sa.inspect(conn).has_table(t.name):
                return 0
            current: int = conn.execute(sa.select(sa.func.max(t.c.version))).scalar() or 0
        _refuse_newer(current)
        return current


def _refuse_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise UserError(
            f"the database schema is at version {version}, newer than this cadence "
            f"knows ({LATEST_VERSION}); upgrade cadence"
        )


def _synchronous(conn: Connection, level: str) -> None:
    """Set SQLite's ``synchronous`` on ``conn`` when it is not at ``level`` already (it stays
    with the connection, which the pool hands out again)."""
    info = conn.connection.info
    if info.get("cadence_synchronous", "NORMAL") != level:
        conn.exec_driver_sql(f"PRAGMA synchronous = {level}")
        info["cadence_synchronous"] = level
