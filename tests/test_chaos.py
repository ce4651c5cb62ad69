"""Chaos: a team's workspace with a handful of broken inputs, each broken in its own way.

Two hundred customers of five salespeople are booked into .ics calendars with e-mailed
invitations (a real SMTP server), and contacts are read from a real IMAP server. Into that go:
customer rows that cannot be read (a zone that is a tzdata folder, a customer_since in year 9999,
a busy season that is the whole year), a customer whose seasons together cover the year, one
salesperson's calendar file that is not iCalendar, one salesperson's mailbox that refuses the
login, and one poisoned item in a third salesperson's invitation outbox.

One ``cadence run --once`` (the real command, in its own process) must book every healthy
salesperson's customers exactly as it does in the same workspace without the broken inputs,
report each broken thing once, and exit with the partial-failure status; after the inputs are
fixed, the next run books the rest with no duplicates, and the one after that writes nothing.
"""

from __future__ import annotations

import email as email_parser
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller

from cadence.store.repository import Store
from tests.local_servers import Imap, free_port, imap_server
from tests.workspace_kit import NOW, customer_row, write_customers, write_workspace

PEOPLE = ("ana", "ben", "cara", "dan", "eve")
HEALTHY_OWNERS = ("ana", "ben", "eve")  # cara's calendar and dan's mailbox are broken
REPO = Path(__file__).resolve().parents[1]


def email(name: str) -> str:
    return f"{name}@example.com"


def healthy_rows() -> list[dict[str, str]]:
    rows = []
    for i in range(200):
        last = date(2026, 11, 2) - timedelta(days=(i * 7) % 90)
        rows.append(
            customer_row(
                f"C-{i:03d}",
                owner=email(PEOPLE[i % len(PEOPLE)]),
                segment="steady" if i % 3 else "default",
                industry="retail" if i % 10 == 0 else "",
                last_contact=last.isoformat(),
            )
        )
    return rows


BROKEN_ROWS = {
    "X-ZONE": {"timezone": "America"},
    "X-YEAR": {"customer_since": "9999-12-31", "last_contact": ""},
    "X-SEASON": {"busy_seasons": "Jan 1 - Dec 31"},
    "X-UNION": {"busy_seasons": "Jan 1 - Jun 30; Jul 1 - Dec 31"},  # each fine, together all
}
FIXED_ROWS = {
    "X-ZONE": {"timezone": "Europe/London"},
    "X-YEAR": {"customer_since": "2020-01-01", "last_contact": ""},
    "X-SEASON": {"busy_seasons": "Jul 1 - Jul 31"},
    "X-UNION": {"busy_seasons": "Jan 1 - Jun 30"},
}


def rows_with(extra: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    rows = healthy_rows()
    for n, (cid, columns) in enumerate(extra.items()):
        owner = email(HEALTHY_OWNERS[n % len(HEALTHY_OWNERS)])
        rows.insert(40 * (n + 1), customer_row(cid, owner=owner, **columns))
    return rows


class Outbox:
    """An SMTP server that keeps (recipient, uid, method) of every invitation it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email_parser.message_from_bytes(envelope.content)
        [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        [event] = cal.walk("VEVENT")
        for rcpt in envelope.rcpt_tos:
            self.received.append((rcpt, str(event["UID"]), str(cal["METHOD"])))
        return "250 OK"


@pytest.fixture(scope="module")
def imap() -> Iterator[Imap]:
    with imap_server(user="team@example.com", password="good-secret") as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[tuple[int, Outbox]]:
    outbox = Outbox()
    port = free_port()
    controller = Controller(outbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, outbox
    finally:
        controller.stop()


def site(folder: Path, rows: list[dict[str, str]], smtp_port: int, imap: Imap) -> Path:
    people = [
        {
            "email": email(name),
            "name": name.title(),
            "timezone": "Europe/London",
            "working_hours": "09:00-17:00",
            "working_days": "mon-fri",
            "country": "GB",
        }
        for name in PEOPLE
    ]
    config = write_workspace(folder, rows, backend="ics", salespeople=people, horizon="60 days")
    text = config.read_text(encoding="utf-8").replace("invites = false", "invites = true")
    text += (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsender = "cadence@example.com"\n'
        f'\n[mail.imap]\nhost = "{imap.host}"\nport = {imap.port}\nsecurity = "none"\n'
        f'username = "{imap.user}"\npassword_file = "secrets/{{email}}"\n'
    )
    config.write_text(text, encoding="utf-8")
    secrets = folder / "secrets"
    secrets.mkdir(mode=0o700)
    for name in PEOPLE:
        write_secret(secrets / email(name), imap.password)
    return config


def write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadence.app.cli",
            "run",
            "--once",
            "--config",
            str(config),
            "--now",
            NOW.isoformat(),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    return done


def events(folder: Path, name: str) -> set[tuple[str, str, str, str]]:
    """(uid, start, end, title) of every cadence event in one salesperson's calendar."""
    path = folder / "calendars" / f"{email(name)}.ics"
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {
        (str(ev["UID"]), ev.start.isoformat(), ev.end.isoformat(), str(ev["SUMMARY"]))
        for ev in cal.walk("VEVENT")
    }


def invites(outbox: Outbox, names: tuple[str, ...]) -> set[tuple[str, str, str]]:
    owners = {email(n) for n in names}
    return {item for item in outbox.received if item[0] in owners}


def seed_poisoned_invite(folder: Path) -> None:
    store = Store(f"sqlite:///{folder / 'cadence.db'}")
    try:
        entry = {
            "uid": "cadence-poisoned",
            "method": "REQUEST",
            "sequence": 0,
            "recipients": [email("eve")],
            "ical": "BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n",
        }
        store.state("calendar.ics").set(f"ics.outbox:{email('eve')}", json.dumps([entry]))
    finally:
        store.close()


def lines_naming(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_broken_inputs_cost_only_themselves_and_fixing_them_converges(
    tmp_path: Path, smtp: tuple[int, Outbox], imap: Imap
) -> None:
    smtp_port, outbox = smtp
    clean = site(tmp_path / "clean", healthy_rows(), smtp_port, imap)
    done = run_once(clean)
    assert done.returncode == 0, done.stderr
    clean_invites = invites(outbox, HEALTHY_OWNERS)
    outbox.received.clear()

    chaos_dir = tmp_path / "chaos"
    chaos = site(chaos_dir, rows_with(BROKEN_ROWS), smtp_port, imap)
    garbage = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:not a time\r\n\xff\xfe"
    (chaos_dir / "calendars").mkdir()
    (chaos_dir / "calendars" / f"{email('cara')}.ics").write_bytes(garbage)
    write_secret(chaos_dir / "secrets" / email("dan"), "wrong-secret")
    seed_poisoned_invite(chaos_dir)

    broken = run_once(chaos)

    assert broken.returncode == 3, broken.stderr
    # Every healthy salesperson's calendar holds exactly what it holds without the chaos.
    for name in HEALTHY_OWNERS:
        assert events(chaos_dir, name) == events(tmp_path / "clean", name), name
    assert invites(outbox, HEALTHY_OWNERS) == clean_invites
    # The broken ones are left alone: cara's file untouched, nothing written for dan.
    assert (chaos_dir / "calendars" / f"{email('cara')}.ics").read_bytes() == garbage
    assert not (chaos_dir / "calendars" / f"{email('dan')}.ics").exists()
    assert not [item for item in outbox.received if item[1] == "cadence-poisoned"]
    # Each broken thing is reported once, naming it.
    err = broken.stderr
    for cid in ("X-ZONE", "X-YEAR", "X-SEASON", "X-UNION"):
        assert len(lines_naming(err, cid)) == 1, (cid, err)
    assert len(lines_naming(err, email("cara"))) == 1, err
    assert len(lines_naming(err, email("dan"))) == 1, err
    assert len(lines_naming(err, "cadence-poisoned")) == 1, err
    assert "Traceback" not in err

    # Fix every input; the next run books the rest, the one after writes nothing.
    write_customers_fixed(chaos_dir)
    (chaos_dir / "calendars" / f"{email('cara')}.ics").unlink()
    write_secret(chaos_dir / "secrets" / email("dan"), imap.password)
    outbox.received.clear()

    fixed = run_once(chaos)
    # The poisoned invitation cannot be fixed by fixing an input: it stays set aside (retried
    # with backoff), is listed, and blocks nothing.
    assert fixed.returncode == 3, fixed.stderr
    [held] = fixed.stderr.splitlines()
    assert held.startswith(f"held: invitation REQUEST cadence-poisoned for {email('eve')} held")
    for name in ("cara", "dan"):
        assert events(chaos_dir, name) == events(tmp_path / "clean", name), name
    for cid in FIXED_ROWS:
        assert any(cid in title for name in PEOPLE for *_, title in events(chaos_dir, name))
    uids = [uid for name in PEOPLE for uid, *_ in events(chaos_dir, name)]
    assert len(uids) == len(set(uids))  # no duplicates anywhere

    before = {name: events(chaos_dir, name) for name in PEOPLE}
    outbox.received.clear()
    again = run_once(chaos)
    assert again.returncode == 3 and again.stderr == fixed.stderr
    assert "created 0, moved 0, cancelled 0" in again.stdout
    assert {name: events(chaos_dir, name) for name in PEOPLE} == before
    assert outbox.received == []


def write_customers_fixed(folder: Path) -> None:
    write_customers(folder / "customers.csv", rows_with(FIXED_ROWS))
