"""Fixtures shared by the test modules.

``store`` / ``url``: a :class:`cadence.store.repository.Store` on SQLite (a temporary file) and on
PostgreSQL when 127.0.0.1:5432 answers. Each PostgreSQL test gets its own schema in database
``test`` (trust auth, user ``postgres`` or ``root``), dropped afterwards; without a server those
parametrizations are skipped with a loud reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import cache

import psycopg
import pytest
from hypothesis import settings

from cadence.store.repository import Store

# Hypothesis fails an example that takes over 200 ms of wall time by default: on the shared
# two-core machine, a first example that loaded a country's holidays took 0.9 s under load
# and failed a property that held. The properties here are about what is computed; the fuzz
# harness (tests/fuzz) keeps its own generous deadlines for inputs that make a parser crawl.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@cache
def postgres_user() -> str | None:
    """The first of postgres/root that can log into database ``test`` on 127.0.0.1:5432."""
    for user in ("postgres", "root"):
        try:
            with psycopg.connect(
                host="127.0.0.1", port=5432, dbname="test", user=user, connect_timeout=3
            ):
                return user
        except psycopg.Error:
            continue
    return None


@pytest.fixture(autouse=True)
def private_state_directory(tmp_path_factory, monkeypatch) -> None:
    """Token caches kept "in the state directory" land in a folder of the test's own, never in
    the developer's ~/.local/state (nor shared between tests)."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cadence.db'}"


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    user = postgres_user()
    if user is None:
        pytest.skip(
            "POSTGRESQL NOT TESTED: nothing accepts connections on 127.0.0.1:5432 "
            "(database 'test', user postgres or root); only the SQLite store was tested"
        )
    schema = f"cadence_test_{uuid.uuid4().hex[:12]}"
    admin = f"host=127.0.0.1 port=5432 dbname=test user={user}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (f"postgresql+psycopg://{user}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(url) -> Iterator[Store]:
    store = Store(url)
    yield store
    store.close()
