"""One bad record, salesperson or backend answer never stops the cycle for the others
(SPEC 5.12): skipped, reported once, retried, and everyone else booked as usual."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from cadence.app.cli import app
from cadence.values.model import BookingState
from connectors.base import MailSource
from tests import test_cycle
from tests.test_cycle import World, three_customers
from tests.workspace_kit import ANA, BEN, NOW, customer_row, write_customers

worlds = test_cycle.worlds  # the fixture


def test_an_owner_typo_corrected_later_cancels_the_ghost_bookings(worlds: Any) -> None:
    ghost = "ben@exmaple.com"
    rows = [*three_customers(), customer_row("B1", owner=ghost)]
    w: World = worlds(rows, backend="ics")
    first = w.cycle()
    assert first.complete
    typo_events = w.events(ghost)
    assert len(typo_events) == 3  # booked with defaults, in a calendar of its own
    write_customers(w.folder / "customers.csv", [*three_customers(), customer_row("B1", owner=BEN)])

    second = w.cycle(NOW + timedelta(minutes=15))

    assert second.complete, second.attention()
    assert second.cancelled == 3 and second.created == 3
    assert w.events(ghost) == []
    assert len(w.events(BEN)) == 3
    live = [r for r in w.ws.store.bookings() if r.owner == ghost and r.state is BookingState.BOOKED]
    assert live == []
    third = w.cycle(NOW + timedelta(minutes=30))
    assert (third.created, third.moved, third.cancelled) == (0, 0, 0)


def test_an_unexpected_backend_error_skips_that_salesperson_only(worlds: Any, caplog) -> None:
    rows = [*three_customers(), customer_row("B1", owner=BEN)]
    w: World = worlds(rows)
    w.backend.fail_next(BEN, TypeError("'list' object cannot be interpreted as an integer"))
    caplog.set_level(logging.INFO, logger="cadence")

    first = w.cycle()

    assert first.failed_owners == {
        BEN: "unexpected TypeError: 'list' object cannot be interpreted as an integer"
    }
    assert len(w.events(ANA)) == 9
    assert w.events(BEN) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and BEN in errors[0].getMessage()
    assert errors[0].exc_info is None  # one clear line; the traceback only at debug level
    later = w.cycle(NOW + timedelta(hours=2))
    assert later.complete and len(w.events(BEN)) == 3


def test_a_customer_that_cannot_be_planned_is_skipped_reported_once_and_kept(
    worlds: Any, caplog
) -> None:
    # Fine alone, but with its industry's season (retail: Nov 15 - Jan 5) no day is left.
    bad = customer_row("BAD", industry="retail", busy_seasons="Jan 6 - Nov 14")
    rows = [*three_customers(), bad]
    w: World = worlds(rows)
    caplog.set_level(logging.INFO, logger="cadence")

    first = w.cycle()
    second = w.cycle(NOW + timedelta(minutes=15))

    assert list(first.skipped_customers) == ["BAD"] == list(second.skipped_customers)
    cause = first.skipped_customers["BAD"]
    assert cause.endswith(
        "together cover every day of the year: leave at least one day free, "
        "or the customer can never be contacted"
    )
    assert len(w.events(ANA)) == 9  # everyone else as without it
    logged = [r.getMessage() for r in caplog.records if "BAD" in r.getMessage()]
    assert logged == [f"customer Customer BAD (BAD) skipped: {cause}; the others go on"]
    assert w.ws.skipped_customers() == {"BAD": cause}
    assert w.ws.attention() == [f"customer Customer BAD (BAD) skipped: {cause}"]

    runner = CliRunner()
    config = ["--config", str(w.config), "--now", NOW.isoformat()]
    report = runner.invoke(app, ["report", *config])
    assert report.exit_code == 0, report.output
    assert "NEEDS ATTENTION (1: skipped by the last cycle)" in report.output
    assert f"  - customer Customer BAD (BAD) skipped: {cause}" in report.output
    explain = runner.invoke(app, ["explain", "BAD", *config])
    assert explain.exit_code == 0, explain.output
    assert "could not be planned (" in explain.output

    write_customers(w.folder / "customers.csv", [*three_customers(), customer_row("BAD")])
    caplog.clear()
    third = w.cycle(NOW + timedelta(minutes=30))
    assert third.complete
    assert [m for r in caplog.records if (m := r.getMessage()).startswith("customer ")] == [
        "customer BAD is planned again"
    ]
    assert w.ws.attention() == []


def test_a_failing_mailbox_holds_that_salespersons_writes_only(worlds: Any) -> None:
    rows = [*three_customers(), customer_row("B1", owner=BEN)]
    w: World = worlds(rows)

    class Broken(MailSource):
        def messages(self, owner, addresses, domains, since):
            if owner == BEN:
                raise RuntimeError("mailbox answered nonsense")
            return []

    w.ws._mail["broken"] = Broken({}, w.ws._context("mail.broken"))
    first = w.cycle()
    assert first.failed_owners == {
        BEN: "mail.broken: unexpected RuntimeError: mailbox answered nonsense"
    }
    assert len(w.events(ANA)) == 9
    assert w.events(BEN) == []


def test_run_once_exits_3_after_doing_the_rest_and_lists_each_problem_once(tmp_path) -> None:
    rows = [*three_customers(), customer_row("ZONE", timezone="America")]
    w = World(tmp_path, rows, "ics")
    w.ws.close()
    result = CliRunner().invoke(
        app, ["run", "--once", "--config", str(w.config), "--now", NOW.isoformat()]
    )
    assert result.exit_code == 3, result.output
    assert "created 9, moved 0, cancelled 0, unchanged 0; 1 input problem" in result.stdout
    [line] = [x for x in result.stderr.splitlines() if "ZONE" in x]
    assert line.startswith(f"problem: {tmp_path}/customers.csv:5: ZONE: timezone: ")
    assert line.endswith("(row not imported)")


def test_a_row_that_raises_unexpectedly_is_rejected_and_the_file_still_imports(
    tmp_path, monkeypatch
) -> None:
    from cadence.inputs import customer_row as row_module
    from cadence.inputs import customers as reader_module
    from cadence.values.dates import DateReader

    path = write_customers(
        tmp_path / "customers.csv", [customer_row("C1"), customer_row("BOOM"), customer_row("C2")]
    )
    real = row_module.RowReader.read

    def read(self, values, tags):
        if values.get("id") == "BOOM":
            raise RecursionError("a value no check foresaw")
        return real(self, values, tags)

    monkeypatch.setattr(row_module.RowReader, "read", read)
    result = reader_module.read_customers(path, DateReader())
    assert [c.id for c in result.customers] == ["C1", "C2"]
    [rejected] = result.rejected
    assert (rejected.line, rejected.customer_id) == (3, "BOOM")
    assert rejected.reason == "cannot be read: RecursionError: a value no check foresaw"


def test_a_cadence_event_broken_by_hand_is_left_alone_and_counted(worlds: Any) -> None:
    w: World = worlds(three_customers(), backend="ics")
    w.cycle()
    path = w.folder / "calendars" / f"{ANA}.ics"
    original = path.read_bytes().decode("utf-8")
    victim = w.event_of("C2")[0]
    start = original.index(f"UID:{victim.uid}")
    seq = original.index("SEQUENCE:", original.rindex("BEGIN:VEVENT", 0, start))
    line = original[seq : original.index("\r\n", seq) + 2]
    broken = original[:seq] + line + original[seq:]  # SEQUENCE twice: no longer readable
    path.write_bytes(broken.encode("utf-8"))
    before = {r.key: r for r in w.ws.store.bookings()}

    result = w.cycle(NOW + timedelta(minutes=15))

    assert result.unreadable == [f"{ANA}: {victim.uid}"]
    assert not result.complete
    assert (result.created, result.moved, result.cancelled) == (0, 0, 0)
    assert {r.key: r for r in w.ws.store.bookings()} == before  # not taken as deleted
    assert path.read_bytes() == broken.encode("utf-8")  # nothing rewritten
    assert w.ws.attention() == [
        f"event {victim.uid} in {ANA}'s calendar cannot be read; left as it is until fixed"
    ]

    path.write_bytes(original.encode("utf-8"))
    fixed = w.cycle(NOW + timedelta(minutes=30))
    assert fixed.complete
    assert (fixed.created, fixed.moved, fixed.cancelled) == (0, 0, 0)
    assert len(w.events()) == 9


def test_an_unforeseen_error_in_one_salespersons_sync_is_logged_once_and_when_it_clears(
    worlds: Any, caplog, monkeypatch
) -> None:
    from cadence.sync import calendars

    rows = [*three_customers(), customer_row("B1", owner=BEN)]
    w: World = worlds(rows)
    real = calendars.observe
    broken = {"on": True}

    def observe(records, remote, now, backend):
        if broken["on"] and any(r.owner == BEN for r in records):
            raise KeyError("a record the fold did not expect")
        return real(records, remote, now, backend)

    w.cycle()  # BEN's bookings exist from here on
    monkeypatch.setattr(calendars, "observe", observe)
    caplog.set_level(logging.INFO, logger="cadence")
    results = [w.cycle(NOW + timedelta(minutes=15 * k)) for k in (1, 2, 3)]
    broken["on"] = False
    healed = w.cycle(NOW + timedelta(minutes=60))

    why = "KeyError: 'a record the fold did not expect'"
    assert [r.failed_owners for r in results] == [{BEN: why}] * 3
    assert healed.failed_owners == {}
    about_ben = [r.getMessage() for r in caplog.records if r.getMessage().startswith(BEN)]
    assert about_ben == [f"{BEN} skipped this cycle: {why}", f"{BEN} works again"]
    assert len(w.events(ANA)) == 9 and len(w.events(BEN)) == 3


def test_a_booked_customer_that_breaks_keeps_its_bookings_in_the_run_and_the_preview(
    worlds: Any,
) -> None:
    w: World = worlds([*three_customers(), customer_row("BAD")])
    w.cycle()
    booked = sorted((e.uid, e.start) for e in w.event_of("BAD"))
    assert len(booked) == 3
    broken = customer_row("BAD", industry="retail", busy_seasons="Jan 6 - Nov 14")
    write_customers(w.folder / "customers.csv", [*three_customers(), broken])

    config = ["--config", str(w.config), "--now", (NOW + timedelta(minutes=15)).isoformat()]
    w.ws.refresh_customers(NOW)
    preview = CliRunner().invoke(app, ["plan", "--changes", *config])
    result = w.cycle(NOW + timedelta(minutes=15))

    assert list(result.skipped_customers) == ["BAD"]
    assert (result.created, result.moved, result.cancelled) == (0, 0, 0)
    assert sorted((e.uid, e.start) for e in w.event_of("BAD")) == booked  # never cancelled
    assert preview.exit_code == 0, preview.output
    assert "no changes" in preview.output  # the preview leaves them alone like the run
