"""Per customer (issue 14): their own rhythm from the CSV, a pause (``cadence snooze``), and
nobody silently unbookable (hours that never meet, or not all year), and the demo's day.
"""

from __future__ import annotations

import logging
import math
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from cadence.app.checks import check_all
from cadence.app.cli import app
from cadence.inputs.customers import read_customers
from cadence.planner import PlanInput, plan
from cadence.planner.overlap import unbookable
from cadence.report.figures import build_report
from cadence.report.html import render_html
from cadence.report.text import render_text
from cadence.store.repository import Store
from cadence.sync.workspace import Workspace
from cadence.values.dates import DateReader
from cadence.values.durations import Duration
from cadence.values.model import Booking, Customer, Salesperson, Snooze
from cadence.values.workweek import WorkingHours
from tests.planning import ANA, customer, d, of, policies, run, segment
from tests.workspace_kit import (
    NOW,
    POLICIES,
    SALESPEOPLE,
    customer_row,
    write_customers,
    write_workspace,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_load import demo_input, working_days  # noqa: E402

READER = DateReader(("en",), "DMY")


def cli(config: Path, *args: str, now: datetime = NOW) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config), "--now", now.isoformat()])


# ---- the customer's own rhythm ------------------------------------------------------------------


def _csv(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    return write_customers(tmp_path / "customers.csv", rows)


def test_every_min_gap_and_max_gap_columns_are_the_customers_own_rhythm_not_tags(tmp_path):
    path = _csv(
        tmp_path,
        [
            customer_row("A", every="2 weeks", min_gap="1 week", max_gap="3 weeks"),
            customer_row("B", every="P3W"),
            customer_row("C"),
        ],
    )
    got = {c.id: c for c in read_customers(path, READER).customers}
    assert (got["A"].every, got["A"].min_gap, got["A"].max_gap) == (
        Duration.parse("2 weeks"),
        Duration.parse("1 week"),
        Duration.parse("3 weeks"),
    )
    assert got["B"].every == Duration.parse("P3W") and got["B"].min_gap is None
    assert got["C"].every is None
    assert not any(k in c.tags for c in got.values() for k in ("every", "min_gap", "max_gap"))


def test_an_unreadable_or_disordered_own_rhythm_rejects_the_row(tmp_path):
    path = _csv(
        tmp_path,
        [
            customer_row("A", every="fortnightly-ish"),
            customer_row("B", min_gap="6 weeks", max_gap="2 weeks"),
            customer_row("C"),
        ],
    )
    result = read_customers(path, READER)
    assert [c.id for c in result.customers] == ["C"]
    reasons = {r.line: r.reason for r in result.rejected}
    assert reasons[2].startswith("every: cannot read duration")
    assert reasons[3] == (
        "min_gap: 6 weeks is longer than max_gap 2 weeks; need min_gap <= every <= max_gap"
    )


def test_the_own_rhythm_overrides_the_segment_in_the_plan():
    own = customer(last_contact=d("2026-11-02"), every=Duration.parse("2 weeks"))
    c, *_ = of(run([own], horizon_days=20))
    assert c.ideal == d("2026-11-16") or c.ideal == d("2026-11-24")  # 2 weeks on, from tomorrow
    assert "every 2 weeks" in c.reasons[0]


def test_an_own_rhythm_that_breaks_the_segments_order_skips_that_customer_only():
    broken = customer("bad", last_contact=d("2026-11-02"), min_gap=Duration.parse("8 weeks"))
    fine = customer("ok", last_contact=d("2026-11-02"))
    result = run([broken, fine])
    assert (
        "bad" in result.skipped and "min_gap 8 weeks is longer than every" in result.skipped["bad"]
    )
    assert of(result, "ok")


def test_the_own_rhythm_survives_the_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    own = customer(
        "A",
        every=Duration.parse("3 weeks"),
        max_gap=Duration.parse("P5W"),
        tags={"tier": "gold"},
    )
    assert store.upsert_customers([own, customer("B")]).new == 2
    back = {c.id: c for c in store.customers()}
    assert back["A"] == own and back["A"].tags == {"tier": "gold"}
    assert back["B"].every is None
    assert store.upsert_customers([own, customer("B")]).unchanged == 2
    store.close()


# ---- snooze -----------------------------------------------------------------------------------


def test_a_snoozed_customer_is_booked_from_the_day_the_pause_ends():
    c = customer(last_contact=d("2026-11-02"))  # ideal Monday 30 November
    pause = {c.id: Snooze(c.id, d("2026-12-14"), "office move")}
    result = plan(
        PlanInput(
            policies=policies(),
            customers=[c],
            salespeople={ANA.email: ANA},
            now=NOW,
            snoozes=pause,
        )
    )
    first = min(p.day for p in result.contacts)
    assert first >= d("2026-12-14")
    assert result.notes[c.id].snoozed_until == d("2026-12-14")
    assert any("snoozed until 2026-12-14 (office move)" in m for m in result.notes[c.id].messages)


def test_bookings_inside_a_pause_are_not_kept_and_the_rhythm_resumes_after_it():
    c = customer(last_contact=d("2026-11-02"))
    before = run([c])
    booked = [
        Booking(p.key, p.customer_id, p.owner, p.kind, p.start, p.end, p.all_day)
        for p in before.contacts
    ]
    assert booked[0].start < datetime(2026, 12, 14, tzinfo=UTC)
    inp = PlanInput(
        policies=policies(),
        customers=[c],
        salespeople={ANA.email: ANA},
        now=NOW,
        bookings=booked,
        snoozes={c.id: Snooze(c.id, d("2026-12-14"))},
    )
    after = plan(inp)
    assert all(p.day >= d("2026-12-14") for p in after.contacts)
    assert (booked[0].key, booked[0].start) not in {(p.key, p.start) for p in after.contacts}


def test_snooze_explain_run_and_report_through_the_command_line(tmp_path):
    rows = [customer_row("C1", last_contact="2026-11-02"), customer_row("C2")]
    # .ics files: the calendar outlives each `run --once` (an in-memory one starts empty in
    # every process, which a cycle rightly refuses to take for the salesperson deleting all).
    config = write_workspace(tmp_path, rows, backend="ics")
    assert cli(config, "run", "--once").exit_code == 0
    ws = Workspace.open(config)
    assert {b.state.value for b in ws.store.bookings(customer_id="C1")} == {"booked"}
    ws.close()
    said = cli(config, "snooze", "C1", "--until", "2027-01-11", "--note", "office move")
    assert said.exit_code == 0, said.output
    assert "snoozed until 2027-01-11" in said.stdout
    assert cli(config, "run", "--once").exit_code == 0
    ws = Workspace.open(config)
    pause_ends = datetime(2027, 1, 11, tzinfo=UTC)
    for b in ws.store.bookings(customer_id="C1"):
        if b.start < pause_ends:  # the pause's bookings are gone
            assert b.state.value not in ("booked", "moved_by_owner", "pending"), b
    assert any(b.state.value == "booked" for b in ws.store.bookings(customer_id="C1"))
    ws.close()
    explained = cli(config, "explain", "C1")
    assert "note: snoozed until 2027-01-11 (office move)" in explained.stdout
    reported = cli(config, "report")
    assert "SNOOZED (1: nothing booked until the date)" in reported.stdout
    assert "Customer C1 (C1), owner ana@example.com: until 2027-01-11 (office move)" in (
        reported.stdout
    )
    assert cli(config, "snooze", "C1", "--clear").exit_code == 0
    assert "snoozed" not in cli(config, "explain", "C1").stdout
    assert cli(config, "snooze", "NOPE", "--until", "2027-01-11").exit_code == 1


# ---- nobody silently unbookable ---------------------------------------------------------------

TOKYO_LA = Salesperson(
    email="emily@example.com",
    timezone="America/Los_Angeles",
    working_hours=WorkingHours.parse("08:00-16:00"),
    country="US",
)


def _far(id: str, zone: str, country: str) -> Customer:
    return customer(id, owner=TOKYO_LA.email, timezone=zone, country=country)


def test_hours_that_never_meet_and_hours_that_meet_only_part_of_the_year_are_named():
    pol = policies(segment(customer_hours="09:00-17:00"))
    found = unbookable(
        [
            _far("T", "Asia/Tokyo", "JP"),
            _far("S", "Australia/Sydney", "AU"),
            _far("L", "America/Denver", "US"),
        ],
        pol,
        {TOKYO_LA.email: TOKYO_LA},
        d("2026-11-23"),
    )
    by_id = {r.customer_id: r for r in found}
    assert sorted(by_id) == ["S", "T"]
    assert by_id["T"].never and by_id["T"].gaps == ()
    # Sydney's summer time ends on 4 April and starts on 3 October 2027; Los Angeles keeps its
    # own from 14 March to 7 November: 08:00-16:00 there is 01:00-09:00 in Sydney then.
    assert not by_id["S"].never
    assert by_id["S"].gaps == ((d("2027-04-03"), d("2027-10-01")),)
    assert (
        by_id["S"]
        .describe()
        .startswith(
            "cannot be booked from 2027-04-03 to 2027-10-01: emily@example.com's working hours "
            "(08:00-16:00 America/Los_Angeles) and the customer's hours (09:00-17:00 "
            "Australia/Sydney) for a 30-minute meeting do not meet then (daylight saving time "
            "moves them apart); fix: widen emily@example.com's working_hours in cadence.toml"
        )
    )


def test_a_break_that_cuts_the_overlap_too_short_makes_it_unbookable():
    pol = policies(segment(customer_hours="09:00-17:00"))
    person = Salesperson(
        email="ana@example.com",
        timezone="Europe/London",
        working_hours=WorkingHours.parse("16:00-18:00"),
        breaks=(WorkingHours.parse("16:15-17:00"),),  # leaves 16:00-16:15 of the overlap
    )
    london = customer("L")
    assert [r.customer_id for r in unbookable([london], pol, {ANA.email: person}, NOW.date())] == [
        "L"
    ]


def test_check_warns_for_each_unbookable_customer_naming_the_fix(tmp_path):
    emily = {
        **SALESPEOPLE[0],
        "email": "emily@example.com",
        "timezone": "America/Los_Angeles",
        "working_hours": "08:00-16:00",
    }
    rows = [
        customer_row("T1", owner="emily@example.com", timezone="Asia/Tokyo", country="JP"),
        customer_row("L1", owner="emily@example.com", timezone="America/Denver", country="US"),
    ]
    policies_ = {**POLICIES, "hours.toml": ""}
    config = write_workspace(tmp_path, rows, salespeople=[emily], policies=policies_)
    defaults = (tmp_path / "policies" / "defaults.toml").read_text()
    if "customer_hours" not in defaults:
        (tmp_path / "policies" / "defaults.toml").write_text(
            defaults.replace("[defaults]", '[defaults]\ncustomer_hours = "09:00-17:00"')
        )
    warnings = [p for p in check_all(config, NOW) if p.severity == "warning" and p.key == "T1"]
    assert len(warnings) == 1
    assert warnings[0].message.startswith(
        "customer 'Customer T1' can never be booked: emily@example.com's working hours "
        "(08:00-16:00 America/Los_Angeles) and the customer's hours (09:00-17:00 Asia/Tokyo)"
    )
    assert "fix: widen emily@example.com's working_hours in cadence.toml" in warnings[0].message


def test_run_logs_how_many_customers_can_never_be_booked_and_the_report_lists_them(
    tmp_path, caplog
):
    emily = {
        **SALESPEOPLE[0],
        "email": "emily@example.com",
        "timezone": "America/Los_Angeles",
        "working_hours": "08:00-16:00",
    }
    rows = [
        customer_row("T1", owner="emily@example.com", timezone="Asia/Tokyo", country="JP"),
        customer_row("T2", owner="emily@example.com", timezone="Asia/Seoul", country="KR"),
        customer_row("L1", owner="emily@example.com", timezone="America/Denver", country="US"),
    ]
    config = write_workspace(tmp_path, rows, salespeople=[emily])
    defaults = tmp_path / "policies" / "defaults.toml"
    if "customer_hours" not in defaults.read_text():
        defaults.write_text(
            defaults.read_text().replace("[defaults]", '[defaults]\ncustomer_hours = "09:00-17:00"')
        )
    ws = Workspace.open(config)
    with caplog.at_level(logging.WARNING, logger="cadence"):
        ws.run_cycle(NOW)
        ws.run_cycle(NOW + timedelta(minutes=15))
    said = [r.getMessage() for r in caplog.records if "can never be booked" in r.getMessage()]
    assert said == [
        "2 customers can never be booked: their hours never meet their owner's working hours "
        "(`cadence check` names them and the fix)"
    ]  # once, not every cycle
    customers = ws.store.customers()
    report = build_report(
        customers,
        ws.store.contacts_by_customer(),
        [],
        ws.policies,
        ws.salespeople(customers),
        NOW,
        season_parser=ws.season,
    )
    ws.close()
    assert [cid for cid, *_ in report.cannot_book] == ["T1", "T2"]
    assert report.overall.at_risk == 2 + report.overall.overdue - sum(
        1 for h in report.customers if h.customer_id in {"T1", "T2"} and h.rhythm.value == "overdue"
    )
    text = render_text(report)
    assert "CANNOT BE BOOKED (2: hours never meet the owner's)" in text
    assert "  - Customer T1 (T1), owner emily@example.com: can never be booked:" in text
    assert "Cannot be booked (2)" in render_html(report)


# ---- the demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> tuple[PlanInput, object]:
    inp = demo_input()
    return inp, plan(inp)


def test_every_demo_customer_can_be_booked_all_year(demo):
    inp, _ = demo
    assert unbookable(inp.customers, inp.policies, inp.salespeople, inp.now.date()) == []
    assert [p for p in check_all(ROOT / "cadence.toml", inp.now) if "booked" in p.message] == []


def test_the_demos_first_four_weeks_keep_every_day_near_the_mean(demo):
    inp, result = demo
    first = inp.now.date() + timedelta(days=1)
    per_day = Counter(
        (c.owner, c.day)
        for c in result.contacts
        if not c.all_day and first <= c.day < first + timedelta(days=28)
    )
    for owner in inp.salespeople:
        loads = [n for (o, _), n in per_day.items() if o == owner]
        mean = sum(loads) / working_days(inp, owner, first, 28)
        assert max(loads) <= math.ceil(1.3 * mean), (owner, max(loads), mean)


def test_no_overdue_demo_customer_waits_longer_than_catch_up(demo):
    inp, result = demo
    first_day = inp.now.date() + timedelta(days=1)
    catch_up = inp.policies.capacity.catch_up
    by_id = {c.id: c for c in inp.customers}
    firsts: dict[str, object] = {}
    for c in sorted((c for c in result.contacts if not c.all_day), key=lambda c: c.start):
        firsts.setdefault(c.customer_id, c)
    overdue = [c for c in firsts.values() if any(r.startswith("catch-up") for r in c.reasons)]
    assert len(overdue) >= 30
    late = []
    for c in overdue:
        if c.day < catch_up.add_to(first_day):
            continue
        # Only a busy season that covers the whole catch-up period keeps one out of it; then it
        # is spread over the catch-up period after the season.
        customer_ = by_id[c.customer_id]
        seasons = inp.policies.industry_seasons(customer_.industry)
        season = next((s for s in seasons if s.contains(first_day)), None)
        assert season is not None, c
        assert any("busy season" in r for r in c.reasons), c
        late.append(c)
    assert len(late) <= 5
    assert all(c.day <= date(2027, 1, 5) + timedelta(days=21) for c in late)


def test_the_demo_keeps_buffers_and_breaks(demo):
    inp, result = demo
    by_owner: dict[str, list] = {}
    for c in result.contacts:
        if not c.all_day:
            by_owner.setdefault(c.owner, []).append(c)
    buffer = inp.policies.capacity.buffer
    for owner, items in by_owner.items():
        items.sort(key=lambda c: c.start)
        for a, b in pairwise(items):
            if a.day == b.day:
                assert b.start - a.end >= buffer, (a, b)
        person = inp.salespeople[owner]
        for c in items:
            local = c.start.astimezone(ZoneInfo(person.timezone))
            start = local.hour * 60 + local.minute
            end = start + int((c.end - c.start).total_seconds() // 60)
            for br in person.breaks:
                assert end <= br.start_minute or start >= br.end_minute, c
