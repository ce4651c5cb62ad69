"""Local stand-ins for Microsoft's services: a Graph server and an HTTPS token authority.

:func:`outlook_config` gives the ``[calendar.outlook]`` section pointing at them; :class:`Person`
is the salesperson acting in Outlook (the contract suite's ``person``).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from tests.graph_fake.authority import FakeAuthority, make_certificate
from tests.graph_fake.server import FakeGraph

TENANT = "contoso"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cret-value"
SECRET_ENV = "CADENCE_TEST_GRAPH_SECRET"

__all__ = [
    "CLIENT_ID",
    "SECRET",
    "SECRET_ENV",
    "TENANT",
    "FakeAuthority",
    "FakeGraph",
    "Person",
    "make_certificate",
    "outlook_config",
]


def outlook_config(authority: FakeAuthority, graph: FakeGraph, folder: Path) -> dict[str, Any]:
    """The ``[calendar.outlook]`` section for the local servers (secret in ``SECRET_ENV``)."""
    return {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret_env": SECRET_ENV,
        "authority": authority.authority,
        "graph_endpoint": graph.endpoint,
        "token_cache_file": str(folder / "tokens.json"),
        "ca_bundle": str(authority.ca_file),
        "max_retries": 3,
        "timeout": 10,
    }


class Person:
    """The salesperson, changing their calendar in Outlook (through the server's own state)."""

    def __init__(self, graph: FakeGraph) -> None:
        self.graph = graph

    def move(self, owner: str, uid: str, start: datetime | date, end: datetime | date) -> None:
        self.graph.move(owner, uid, start, end)

    def delete(self, owner: str, uid: str) -> None:
        self.graph.delete(owner, uid)

    def decline(self, owner: str, uid: str) -> None:
        self.graph.decline(owner, uid)

    def add_event(
        self,
        owner: str,
        start: datetime | date,
        end: datetime | date,
        *,
        all_day: bool = False,
        transparent: bool = False,
        attendees: tuple[str, ...] = (),
        title: str = "",
        declined_by: tuple[str, ...] = (),
        cancelled: bool = False,
    ) -> str:
        return self.graph.add_event(
            owner,
            start,
            end,
            all_day=all_day,
            transparent=transparent,
            attendees=attendees,
            title=title,
            declined_by=declined_by,
            cancelled=cancelled,
        )
