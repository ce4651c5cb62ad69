"""All-day bookings are judged by their owner's local date, on every calendar backend.

A Tokyo salesperson (UTC+9) and a Los Angeles one (UTC-8) each have a customer whose 11th
anniversary is Tuesday 24 November 2026: cadence books an all-day reminder on that date (and no
anniversary check-in: the last contact, 20 November, is too recent for one). The daemon then
runs around UTC midnight:

* 2026-11-24 15:30 UTC is already 25 November 00:30 in Tokyo: the reminder's day is over there,
  and it is left where it is (not deleted as "no longer planned");
* 2026-11-25 02:00 UTC is still 24 November 18:00 in Los Angeles: the reminder is today's, and
  it is kept (not created again because the UTC date moved on);
* 2026-11-25 09:00 UTC: the day is over on both sides.

Every one of those cycles decides nothing but "keep" and writes nothing: each calendar holds
exactly the events of the first cycle, with the same versions (etags).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import caldav
import pytest
import requests

from cadence.inputs.customers import read_customers
from cadence.sync.reconcile import ActionKind, uid_for
from cadence.sync.workspace import Workspace
from cadence.values.dates import DateReader
from cadence.values.model import BookingKind
from tests.google_fake import FakeGoogle
from tests.google_fake.keys import write_service_account_key
from tests.graph_fake import CLIENT_ID, SECRET, SECRET_ENV, TENANT, FakeAuthority, FakeGraph
from tests.local_servers import radicale_server
from tests.workspace_kit import POLICIES, customer_row, write_workspace

TOKYO = "tokyo@example.com"
LOS_ANGELES = "la@example.com"
SALESPEOPLE = (
    {"email": TOKYO, "timezone": "Asia/Tokyo", "country": "JP", "working_days": "mon-fri"},
    {
        "email": LOS_ANGELES,
        "timezone": "America/Los_Angeles",
        "country": "US-CA",
        "working_days": "Mon to Fri",
    },
)
ROWS = (
    customer_row(
        "T-1",
        owner=TOKYO,
        country="JP",
        timezone="Asia/Tokyo",
        customer_since="2015-11-24",
        last_contact="2026-11-20",
    ),
    customer_row(
        "L-1",
        owner=LOS_ANGELES,
        country="US-CA",
        timezone="America/Los_Angeles",
        customer_since="2015-11-24",
        last_contact="2026-11-20",
    ),
)
POLICY_FILES = {
    **POLICIES,
    "defaults.toml": POLICIES["defaults.toml"].replace(
        "anniversary = false", 'anniversary = "yearly"\nanniversary_lead = "1 week"'
    ),
    "segments.toml": """
[segment.steady]
every = "8 weeks"
min_gap = "6 weeks"
max_gap = "10 weeks"
""",
}
FIRST = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Tokyo 17:00 on the 23rd, LA midnight
LATER = (
    datetime(2026, 11, 24, 15, 30, tzinfo=UTC),  # Tokyo 00:30 on the 25th; LA 07:30 on the 24th
    datetime(2026, 11, 25, 2, 0, tzinfo=UTC),  # LA 18:00 on the 24th; Tokyo 11:00 on the 25th
    datetime(2026, 11, 25, 9, 0, tzinfo=UTC),  # LA 01:00 on the 25th: over everywhere
)
BACKENDS = ("memory", "ics", "caldav", "google", "outlook")
CALDAV_USER, CALDAV_PASSWORD, CALDAV_ENV = "cadence", "service-secret", "CADENCE_TEST_CALDAV"


def _caldav(stack: ExitStack, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    server = stack.enter_context(radicale_server(folder, {CALDAV_USER: CALDAV_PASSWORD}))
    client = caldav.DAVClient(
        server.url, auth=requests.auth.HTTPBasicAuth(CALDAV_USER, CALDAV_PASSWORD)
    )
    stack.callback(client.close)
    principal = client.principal()
    for person in SALESPEOPLE:
        owner = str(person["email"])
        principal.make_calendar(name=owner, cal_id=owner.partition("@")[0])
    section = {
        "url": f"{server.url}{CALDAV_USER}/{{user}}/",
        "username": CALDAV_USER,
        "password_env": CALDAV_ENV,
    }
    return section, {CALDAV_ENV: CALDAV_PASSWORD}


def _google(stack: ExitStack, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    fake = FakeGoogle().start()
    stack.callback(fake.stop)
    for person in SALESPEOPLE:
        fake.add_user(str(person["email"]), str(person["timezone"]))
    key = write_service_account_key(fake, folder / "service-account.json")
    section = {
        "service_account_file": str(key),
        "api_endpoint": fake.url,
        "token_uri": fake.token_uri,
    }
    return section, {}


def _outlook(stack: ExitStack, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    authority = FakeAuthority(folder, tenant=TENANT, client_id=CLIENT_ID, secret=SECRET)
    stack.callback(authority.close)
    graph = FakeGraph(authority.issued)
    stack.callback(graph.close)
    for person in SALESPEOPLE:
        graph.add_mailbox(str(person["email"]))
    section = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret_env": SECRET_ENV,
        "authority": authority.authority,
        "graph_endpoint": graph.endpoint,
        "token_cache_file": "outlook-tokens.json",
        "ca_bundle": str(authority.ca_file),
    }
    return section, {SECRET_ENV: SECRET}


SERVERS = {"caldav": _caldav, "google": _google, "outlook": _outlook}


@pytest.fixture(params=BACKENDS)
def workspace(request, tmp_path: Path) -> Iterator[tuple[str, Workspace]]:
    backend = request.param
    with ExitStack() as stack:
        section: dict[str, Any] = {}
        env: dict[str, str] = {}
        if backend in SERVERS:
            folder = tmp_path / "server"
            folder.mkdir()
            section, env = SERVERS[backend](stack, folder)
        config = write_workspace(
            tmp_path / "ws", ROWS, backend=backend, salespeople=SALESPEOPLE, policies=POLICY_FILES
        )
        if section:
            lines = [f"\n[calendar.{backend}]"]
            lines += [f'{key} = "{value}"' for key, value in section.items()]
            config.write_text(config.read_text() + "\n".join(lines) + "\n", encoding="utf-8")
        ws = Workspace.open(config)
        stack.callback(ws.close)
        ws.env = {**ws.env, **env}
        yield backend, ws


def _calendars(ws: Workspace, backend: str) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Every cadence event in each salesperson's calendar: uid -> (start, end, etag, status)."""
    calendar = ws.backend(backend)
    return {
        owner: {e.uid: (e.start, e.end, e.etag, e.status) for e in calendar.list_owned(owner)}
        for owner in (TOKYO, LOS_ANGELES)
    }


def test_all_day_reminders_follow_the_owners_date_around_utc_midnight(workspace):
    backend, ws = workspace
    first = ws.run_cycle(FIRST)
    assert not first.failed_owners and not first.problems, first.attention()
    reminders = {
        a.planned.owner: a.planned
        for a in first.actions
        if a.planned is not None and a.planned.kind is BookingKind.ANNIVERSARY_REMINDER
    }
    assert {o: (p.start, p.end) for o, p in reminders.items()} == {
        TOKYO: (date(2026, 11, 24), date(2026, 11, 25)),
        LOS_ANGELES: (date(2026, 11, 24), date(2026, 11, 25)),
    }
    assert all(a.kind is ActionKind.CREATE for a in first.actions)
    booked = _calendars(ws, backend)
    for owner, reminder in reminders.items():
        assert uid_for(reminder.key) in booked[owner]
    for now in LATER:
        result = ws.run_cycle(now)
        assert not result.failed_owners and not result.problems, (now, result.attention())
        decided = [(a.kind, a.customer_id, a.reason) for a in result.actions]
        assert [d for d in decided if d[0] is not ActionKind.KEEP] == [], now
        # Nothing written, nothing deleted: the same events, at the same versions.
        assert _calendars(ws, backend) == booked, now


def test_a_last_contact_today_east_of_utc_is_not_in_the_future(tmp_path):
    # 08:00 on 24 November in Tokyo is 23:00 on the 23rd in UTC: the Tokyo team's contact of
    # this morning is accepted; one dated two days ahead is not.
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,name,owner,last_contact\n"
        "C1,One,tokyo@example.com,2026-11-24\n"
        "C2,Two,tokyo@example.com,2026-11-25\n"
    )
    result = read_customers(path, DateReader(), today=date(2026, 11, 23))
    assert [c.id for c in result.customers] == ["C1"]
    assert [r.reason for r in result.rejected] == ["last_contact: 2026-11-25 is in the future"]
