"""pytest fixtures for the outlook tests: the fake authority and Graph, and backends on them.

Import them with ``from graph_fake.fixtures import *`` in a test module.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import BackendContext, MemoryState
from connectors.outlook import GraphMailSource, OutlookBackend
from tests.graph_fake import (
    CLIENT_ID,
    SECRET,
    SECRET_ENV,
    TENANT,
    FakeAuthority,
    FakeGraph,
    Person,
    outlook_config,
)

OWNER = "ana@contoso.example"
OTHER = "other.ana@contoso.example"
NOW = datetime(2027, 4, 20, 8, 0, tzinfo=UTC)

__all__ = [
    "NOW",
    "OTHER",
    "OWNER",
    "authority",
    "backend",
    "config",
    "context",
    "graph",
    "mail",
    "owner",
    "person",
    "sleeps",
    "state",
]


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    server = FakeAuthority(
        tmp_path_factory.mktemp("authority"), tenant=TENANT, client_id=CLIENT_ID, secret=SECRET
    )
    yield server
    server.close()


@pytest.fixture
def graph(authority):
    server = FakeGraph(authority.issued)
    server.add_mailbox(OWNER)
    server.add_mailbox(OTHER)
    yield server
    server.close()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the connector asked for (it never really sleeps in tests)."""
    return []


@pytest.fixture
def state() -> MemoryState:
    return MemoryState()


@pytest.fixture
def context(tmp_path, sleeps, state) -> BackendContext:
    return BackendContext(
        base_dir=tmp_path,
        state=state,
        env={SECRET_ENV: SECRET},
        sleep=sleeps.append,
        now=lambda: NOW,
    )


@pytest.fixture
def config(authority, graph, tmp_path) -> dict:
    return outlook_config(authority, graph, tmp_path)


@pytest.fixture
def backend(config, context):
    made = OutlookBackend(config, context)
    yield made
    made.close()


@pytest.fixture
def mail(config, context):
    made = GraphMailSource(config, context)
    yield made
    made.close()


@pytest.fixture
def owner() -> str:
    return OWNER


@pytest.fixture
def person(graph) -> Person:
    return Person(graph)
