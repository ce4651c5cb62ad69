"""A write whose answer is lost on the wire is never taken for the salesperson's change (issue 11).

Google (the wire-format fake, the real google-api-python-client) and CalDAV (Radicale behind a
proxy that forwards a request, lets the server apply it, then closes the connection without
answering) lose the answers to creates, updates and deletes once and twice. Whatever the
client does next (httplib2 sends a batch again by itself; Google answers 409 to the second
create, 412 to the second update whose If-Match etag went stale, 404 to the second delete;
CalDAV's call fails and the next cycle reads back), the outcome must be exact: every intended
change is in the calendar once, the store records it as cadence's own (booked or cancelled,
never ``moved_by_owner`` or ``deleted``), and the cycle after writes nothing. On Google a 5xx
answered after the call was applied is settled the same way.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import caldav
import pytest
import requests

from cadence.sync.reconcile import ActionKind
from cadence.sync.result import CycleResult
from cadence.sync.workspace import Workspace
from cadence.values.model import BookingState
from tests.google_fake import FakeGoogle
from tests.google_fake.keys import write_service_account_key
from tests.local_servers import radicale_server
from tests.workspace_kit import ANA, BEN, NOW, customer_row, write_customers, write_workspace

CUSTOMERS = [customer_row(f"C{i}", owner=ANA if i % 2 else BEN) for i in range(6)]
LATER = NOW + timedelta(hours=1)
USER, PASSWORD, ENV = "cadence", "service-secret", "CADENCE_TEST_CALDAV"


def writes(result: CycleResult) -> int:
    return result.created + result.moved + result.cancelled


@dataclass
class DroppingProxy:
    """An HTTP proxy to ``upstream`` that, for the next ``armed[method]`` requests of a method,
    forwards the request (the server applies it) and closes the connection unanswered."""

    upstream: str  # host:port
    armed: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                with proxy.lock:
                    drop = proxy.armed.get(self.command, 0) > 0
                    if drop:
                        proxy.armed[self.command] -= 1
                        proxy.dropped += 1
                if drop:  # applied by the server; the client never hears of it
                    self.close_connection = True
                    return
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_PUT = do_DELETE = do_POST = do_PROPFIND = do_REPORT = _serve
            do_MKCALENDAR = do_OPTIONS = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class GoogleSide:
    """The Google fake; drops are whole batch requests (writes travel in batches)."""

    name = "google"

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        self.fake = FakeGoogle().start()
        stack.callback(self.fake.stop)
        for owner in (ANA, BEN):
            self.fake.add_user(owner, "Europe/London")
        key = write_service_account_key(self.fake, folder / "service-account.json")
        self.section = {
            "service_account_file": str(key),
            "api_endpoint": self.fake.url,
            "token_uri": self.fake.token_uri,
        }
        self.env: dict[str, str] = {}

    def drop(self, kind: str, times: int) -> None:
        # Every write travels in a batch: the batch is run, then its connection is closed.
        self.fake.drop("batch", times=times)

    def dropped_all(self) -> bool:
        return all(f.times == 0 for f in self.fake.faults)


class CalDavSide:
    """Radicale behind the dropping proxy; creates and updates are PUTs, cancels DELETEs."""

    name = "caldav"

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        server = stack.enter_context(radicale_server(folder, {USER: PASSWORD}))
        client = caldav.DAVClient(server.url, auth=requests.auth.HTTPBasicAuth(USER, PASSWORD))
        stack.callback(client.close)
        principal = client.principal()
        for owner in (ANA, BEN):
            principal.make_calendar(name=owner, cal_id=owner.partition("@")[0])
        self.proxy = DroppingProxy(f"127.0.0.1:{server.port}")
        stack.callback(self.proxy.close)
        self.section = {
            "url": f"{self.proxy.url}{USER}/{{user}}/",
            "username": USER,
            "password_env": ENV,
        }
        self.env = {ENV: PASSWORD}

    def drop(self, kind: str, times: int) -> None:
        self.proxy.armed["DELETE" if kind == "delete" else "PUT"] = times

    def dropped_all(self) -> bool:
        return not any(self.proxy.armed.values())


SIDES = {"google": GoogleSide, "caldav": CalDavSide}


@pytest.fixture(params=sorted(SIDES))
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Workspace]]:
    with ExitStack() as stack:
        folder = tmp_path / "server"
        folder.mkdir()
        made = SIDES[request.param](stack, folder)
        config = write_workspace(tmp_path / "ws", CUSTOMERS, backend=made.name)
        lines = [f"\n[calendar.{made.name}]"]
        lines += [f'{key} = "{value}"' for key, value in made.section.items()]
        config.write_text(config.read_text() + "\n".join(lines) + "\n", encoding="utf-8")
        ws = Workspace.open(config)
        stack.callback(ws.close)
        ws.env = {**ws.env, **made.env}
        yield made, ws


def calendar_events(ws: Workspace, backend: str) -> dict[str, tuple[str, Any, Any]]:
    """uid -> (title, start, end) of every live cadence event in both calendars."""
    calendar = ws.backend(backend)
    found: dict[str, tuple[str, Any, Any]] = {}
    for owner in (ANA, BEN):
        for event in calendar.list_owned(owner):
            if event.status not in ("cancelled", "declined"):
                assert event.uid not in found, f"{event.uid} twice"
                found[event.uid] = (event.title, event.start, event.end)
    return found


def settle(ws: Workspace, first: CycleResult) -> int:
    """Cycles after ``first`` until one writes nothing (at most three); the writes they made."""
    total, now = 0, LATER + timedelta(hours=2)  # past any backoff the lost answer asked for
    for _ in range(3):
        result = ws.run_cycle(now)
        assert result.complete, result.attention()
        if writes(result) == 0:
            return total
        total += writes(result)
        now += timedelta(hours=2)
    raise AssertionError("the cycles after the lost answers never stopped writing")


@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.parametrize("kind", ["create", "update", "delete"])
def test_a_lost_answer_is_settled_by_reading_back_never_taken_for_the_persons_change(
    side: tuple[Any, Workspace], kind: str, times: int
) -> None:
    made, ws = side
    folder = ws.config.base_dir
    if kind == "create":
        made.drop(kind, times)
        first = ws.run_cycle(NOW)
    else:
        assert ws.run_cycle(NOW).complete
        if kind == "update":  # every booking's title changes: an update each
            write_customers(
                folder / "customers.csv", [{**r, "name": r["name"] + " Group"} for r in CUSTOMERS]
            )
        else:  # two customers must not be contacted any more: their bookings are cancelled
            rows = [
                {**r, "status": "do_not_contact"} if r["id"] in ("C0", "C1") else r
                for r in CUSTOMERS
            ]
            write_customers(folder / "customers.csv", rows)
        made.drop(kind, times)
        first = ws.run_cycle(LATER)
    assert made.dropped_all()  # the answers really were lost

    if made.name == "google":
        # Sent again (by httplib2, then by the retrier) and settled by reading back, at once:
        # every write the cycle asked for is confirmed in that cycle.
        assert first.complete, first.attention()
        asked = [a for a in first.actions if a.kind is not ActionKind.KEEP]
        assert asked and writes(first) == len(asked)
    rewritten = settle(ws, first)

    records = ws.store.bookings()
    live = {r.uid: r for r in records if r.state is not BookingState.CANCELLED}
    assert {r.state for r in live.values()} == {BookingState.BOOKED}  # none the person's
    assert all(r.confirmed is None for r in records)
    shown = calendar_events(ws, made.name)
    assert set(shown) == set(live)
    for uid, (title, start, end) in shown.items():
        assert (start, end) == (live[uid].start, live[uid].end)
        assert title.endswith("Group") == (kind == "update"), title
    cancelled = {r.customer_id for r in records if r.state is BookingState.CANCELLED}
    assert cancelled == ({"C0", "C1"} if kind == "delete" else set())
    if made.name == "google":
        assert rewritten == 0  # nothing was left for a later cycle


@pytest.mark.parametrize("kind", ["create", "update", "delete"])
def test_google_5xx_after_applying_is_settled_by_reading_back(tmp_path: Path, kind: str) -> None:
    """Google applies the call and answers 503: the retrier sends it again and meets 409 (create),
    412 (update: its etag went stale) or 404 (delete), each settled as cadence's own write in
    the same cycle."""
    with ExitStack() as stack:
        folder = tmp_path / "server"
        folder.mkdir()
        made = GoogleSide(stack, folder)
        config = write_workspace(tmp_path / "ws", CUSTOMERS, backend="google")
        lines = ["\n[calendar.google]"] + [f'{k} = "{v}"' for k, v in made.section.items()]
        config.write_text(config.read_text() + "\n".join(lines) + "\n", encoding="utf-8")
        ws = Workspace.open(config)
        stack.callback(ws.close)
        method = {"create": "insert", "update": "update", "delete": "delete"}[kind]
        if kind == "create":
            made.fake.fail_after_applying(f"calendar.events.{method}", times=2)
            first = ws.run_cycle(NOW)
        else:
            assert ws.run_cycle(NOW).complete
            if kind == "update":
                rows = [{**r, "name": r["name"] + " Group"} for r in CUSTOMERS]
            else:
                rows = [
                    {**r, "status": "do_not_contact"} if r["id"] in ("C0", "C1") else r
                    for r in CUSTOMERS
                ]
            write_customers(ws.config.base_dir / "customers.csv", rows)
            made.fake.fail_after_applying(f"calendar.events.{method}", times=2)
            first = ws.run_cycle(LATER)
        assert made.dropped_all()  # both answers were errors after applying
        assert first.complete, first.attention()
        asked = [a for a in first.actions if a.kind is not ActionKind.KEEP]
        assert asked and writes(first) == len(asked)
        assert settle(ws, first) == 0
        records = ws.store.bookings()
        live = {r.uid: r for r in records if r.state is not BookingState.CANCELLED}
        assert {r.state for r in live.values()} == {BookingState.BOOKED}
        assert all(r.confirmed is None for r in records)
        assert set(calendar_events(ws, "google")) == set(live)
