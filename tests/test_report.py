"""The rhythm-health report (SPEC 9): exact figures for a small hand-made world.

The world: now is Monday 2026-11-23 08:00 UTC. Segment ``strategic`` runs every 4 weeks (28 days)
with max_gap 6 weeks (42 days); segment ``default`` every quarter with max_gap 4 months. Every
customer lives in London, so customer-local dates are the UTC dates used below. The gap window
is [2025-11-23, 2026-11-23].

strategic, owned by Ana:
  c1  contacts 2025-11-01 (outside the window), 08-31, 09-28 (seen twice), 10-26 (a meeting and
      an e-mail that day), an incoming e-mail 11-20 (does not count), a meeting 11-30 (future).
      Contact days 08-31, 09-28, 10-26 -> gaps 28, 28. Due on 10-26 + 28 d = 11-23 = today:
      in rhythm (the boundary is inclusive).
  c2  CSV last_contact 09-07, meeting 10-12 -> gap 35. Overdue after 10-12 + 42 d = 11-23 =
      today: due soon.
  c3  contacts 07-01, 07-06, 09-01 -> gaps 5, 57 (57 > max_gap: 09-01 is after 07-06 + 42 d).
      Overdue after 10-13: overdue.
  c6  cancelled (contacts 10-01, 10-05 are not rhythm material: the gap 4 is not counted).
strategic, owned by Ben:
  c4  never contacted, customer_since 2026-11-01: due on 11-29, in rhythm.
  c5  never contacted, customer_since 2026-01-01: overdue (past 2026-02-12).
  c7  do not contact.
default (its segment ``nonexistent`` falls back to default), owned by Ben:
  c8  contacts 2026-02-20, 05-20, 08-20 -> gaps 89, 92. Due on 11-20 (past), overdue after
      12-20: due soon.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest

from cadence.inputs.policy import Capacity, PolicySet, SegmentPolicy
from cadence.report.columns import by_risk
from cadence.report.figures import (
    ALL,
    SALESPERSON,
    SEGMENT,
    build_report,
    feast_or_famine,
    load_flags,
    percentile,
)
from cadence.report.health import Rhythm
from cadence.report.html import render_html
from cadence.report.text import render_text
from cadence.values.durations import Duration
from cadence.values.model import (
    BookingKind,
    Contact,
    ContactKind,
    Customer,
    CustomerStatus,
    PlannedContact,
    Salesperson,
)
from cadence.values.seasons import parse_season

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ANA = Salesperson(email="ana@example.com", name="Ana", timezone="Europe/London")
BEN = Salesperson(email="ben@example.com", name="Ben", timezone="Europe/London", per_week=5)
PEOPLE = {ANA.email: ANA, BEN.email: BEN}

STRATEGIC = SegmentPolicy(
    name="strategic",
    every=Duration.parse("4 weeks"),
    min_gap=Duration.parse("2 weeks"),
    max_gap=Duration.parse("6 weeks"),
    timezone="Europe/London",
)
DEFAULT = SegmentPolicy(name="default", timezone="Europe/London")  # quarter / 4 months
POLICIES = PolicySet(
    defaults=DEFAULT,
    segments={"strategic": STRATEGIC, "default": DEFAULT},
    industries={"retail": (parse_season("Nov 15 - Jan 5"),)},
    capacity=Capacity(per_day=6, per_week=20),
)
QUARTER_DAYS = 3 * 30.436875  # Duration.approx_days of "quarter"


def customer(id: str, owner: str = ANA.email, segment: str = "strategic", **kw) -> Customer:
    kw.setdefault("name", f"Customer {id}")
    return Customer(id=id, owner=owner, segment=segment, **kw)


def met(customer_id: str, day: str, kind=ContactKind.MEETING, source="log", hour=10) -> Contact:
    at = datetime.combine(date.fromisoformat(day), time(hour), tzinfo=UTC)
    return Contact(customer_id, kind, at, source, f"{source}:{customer_id}:{day}:{kind}:{hour}")


CUSTOMERS = [
    customer("c1"),
    customer("c2", last_contact=date(2026, 9, 7)),
    customer("c3"),
    customer("c4", owner=BEN.email, customer_since=date(2026, 11, 1)),
    customer("c5", owner=BEN.email, customer_since=date(2026, 1, 1), name="Bad <b>&</b> Co"),
    customer("c6", status=CustomerStatus.CANCELLED, cancelled_on=date(2026, 10, 10)),
    customer("c7", owner=BEN.email, status=CustomerStatus.DO_NOT_CONTACT),
    customer("c8", owner=BEN.email, segment="nonexistent"),
]

CONTACTS = {
    "c1": [
        met("c1", "2025-11-01"),
        met("c1", "2026-08-31"),
        met("c1", "2026-09-28"),
        # the same meeting seen in the calendar half an hour later: one contact
        Contact("c1", ContactKind.MEETING, datetime(2026, 9, 28, 10, 30, tzinfo=UTC), "calendar"),
        met("c1", "2026-10-26"),
        met("c1", "2026-10-26", ContactKind.EMAIL_OUT, hour=15),
        met("c1", "2026-11-20", ContactKind.EMAIL_IN),
        met("c1", "2026-11-30"),
    ],
    "c2": [met("c2", "2026-10-12", ContactKind.CALL)],
    "c3": [met("c3", "2026-07-01"), met("c3", "2026-07-06"), met("c3", "2026-09-01")],
    "c6": [met("c6", "2026-10-01"), met("c6", "2026-10-05")],
    "c8": [met("c8", "2026-02-20"), met("c8", "2026-05-20"), met("c8", "2026-08-20")],
}


def booking(
    customer_id: str, owner: str, day: str, hour: int = 10, *, all_day: bool = False
) -> PlannedContact:
    d = date.fromisoformat(day)
    start = d if all_day else datetime.combine(d, time(hour), tzinfo=UTC)
    end = d + timedelta(days=1) if all_day else start + timedelta(minutes=30)
    kind = BookingKind.ANNIVERSARY_REMINDER if all_day else BookingKind.CHECK_IN
    return PlannedContact(
        key=f"{customer_id}:{kind}:{day}:{hour}",
        customer_id=customer_id,
        customer_name=f"Customer {customer_id}",
        owner=owner,
        kind=kind,
        seq=1,
        title="Check-in",
        start=start,
        end=end,
        all_day=all_day,
        day=d,
        ideal=d,
        window_start=d,
        window_end=d,
    )


# The 8 weeks shown start on Monday 2026-11-23 (W48) and end on Sunday 2027-01-17 (W02).
PLANNED = [
    booking("c1", ANA.email, "2026-11-24", 10),
    booking("c2", ANA.email, "2026-11-24", 14),  # Ana's busiest day: 2 bookings
    booking("c3", ANA.email, "2026-11-26"),
    booking("c1", ANA.email, "2026-12-01"),  # W49
    booking("c1", ANA.email, "2026-12-02", all_day=True),  # a reminder is no load
    booking("c2", ANA.email, "2027-01-17"),  # the last day of the last week shown
    booking("c3", ANA.email, "2027-01-18"),  # the week after: not shown
    booking("c8", BEN.email, "2026-12-07"),  # W50
]


@pytest.fixture(scope="module")
def report():
    return build_report(CUSTOMERS, CONTACTS, PLANNED, POLICIES, PEOPLE, NOW)


# ---- the feast-or-famine score and percentiles ---------------------------------------------


def test_feast_or_famine_of_equal_gaps_is_zero():
    assert feast_or_famine([10, 10, 10]) == 0.0


def test_feast_or_famine_is_population_stdev_over_mean():
    # mean 10, population stdev 5
    assert feast_or_famine([5, 15]) == 0.5


def test_feast_or_famine_needs_two_gaps():
    assert feast_or_famine([7]) is None
    assert feast_or_famine([]) is None


def test_percentile_interpolates_between_ranks():
    # rank (4 - 1) * 0.9 = 2.7 -> 30 + 0.7 * (40 - 30)
    assert percentile([10, 20, 30, 40], 90) == pytest.approx(37.0)
    assert percentile([12], 90) == 12.0
    assert percentile([], 90) is None


# ---- statuses ---------------------------------------------------------------------------------


def test_each_customer_gets_the_status_its_last_contact_gives(report):
    status = {h.customer_id: h.rhythm for h in report.customers}
    assert status == {
        "c1": Rhythm.IN_RHYTHM,
        "c2": Rhythm.DUE_SOON,
        "c3": Rhythm.OVERDUE,
        "c4": Rhythm.IN_RHYTHM,
        "c5": Rhythm.OVERDUE,
        "c6": Rhythm.CANCELLED,
        "c7": Rhythm.DO_NOT_CONTACT,
        "c8": Rhythm.DUE_SOON,
    }


def test_csv_last_contact_and_collapsed_duplicates_shape_the_contact_days(report):
    health = {h.customer_id: h for h in report.customers}
    assert health["c1"].last_contact == date(2026, 10, 26)  # not the future 11-30, not email_in
    assert health["c1"].gaps == (28, 28)  # 2025-11-01 is outside the window; one touch a day
    assert health["c2"].gaps == (35,)  # from the CSV last_contact 09-07 to the call on 10-12
    assert health["c2"].overdue_after == date(2026, 11, 23)
    assert health["c3"].gaps_over_max_gap == 1
    assert health["c5"].never_contacted and health["c5"].overdue_after == date(2026, 2, 12)


def test_segment_counts_in_rhythm_due_overdue_and_never(report):
    g = report.group(SEGMENT, "strategic")
    assert (g.active, g.in_rhythm, g.due_soon, g.overdue) == (5, 2, 1, 2)
    assert (g.never_contacted, g.cancelled, g.do_not_contact) == (2, 1, 1)


def test_unknown_segment_is_reported_under_default(report):
    assert [g.name for g in report.by_kind(SEGMENT)] == ["default", "strategic"]
    g = report.group(SEGMENT, "default")
    assert (g.active, g.in_rhythm, g.due_soon, g.overdue, g.never_contacted) == (1, 0, 1, 0, 0)


def test_salesperson_counts(report):
    ana = report.group(SALESPERSON, ANA.email)
    assert ana.label == "Ana"
    assert (ana.active, ana.in_rhythm, ana.due_soon, ana.overdue, ana.cancelled) == (3, 1, 1, 1, 1)
    ben = report.group(SALESPERSON, BEN.email)
    assert (ben.active, ben.in_rhythm, ben.due_soon, ben.overdue) == (3, 1, 1, 1)
    assert (ben.never_contacted, ben.do_not_contact) == (2, 1)
    everyone = report.overall
    assert (everyone.kind, everyone.active, everyone.in_rhythm) == (ALL, 6, 2)
    assert (everyone.due_soon, everyone.overdue, everyone.never_contacted) == (2, 2, 2)


def test_never_contacted_customer_without_start_date_is_due_soon():
    lone = customer("x", customer_since=None)
    r = build_report([lone], {}, [], POLICIES, PEOPLE, NOW)
    h = r.customers[0]
    assert (h.rhythm, h.never_contacted, h.due_on) == (Rhythm.DUE_SOON, True, None)


# ---- gaps ---------------------------------------------------------------------------------------


def test_segment_gap_statistics(report):
    g = report.group(SEGMENT, "strategic")
    # c1: 28, 28; c2: 35; c3: 5, 57 (c6 is cancelled: its gap 4 is left out)
    assert g.gaps == (5, 28, 28, 35, 57)
    assert g.gap_median == 28
    # rank (5 - 1) * 0.9 = 3.6 -> 35 + 0.6 * (57 - 35) = 48.2
    assert g.gap_p90 == pytest.approx(48.2)
    assert g.gap_max == 57
    assert g.gaps_over_max_gap == 1
    assert g.max_gap_days == 42
    # mean 30.6; squared deviations 655.36 + 6.76 + 6.76 + 19.36 + 696.96 = 1385.2; / 5 = 277.04
    assert g.feast_or_famine == pytest.approx(math.sqrt(277.04) / 30.6)
    assert g.contact_days == 8  # c1: 3, c2: 2, c3: 3


def test_group_without_gaps_has_no_statistics(report):
    ben_strategic_only = build_report(CUSTOMERS[3:5], {}, [], POLICIES, PEOPLE, NOW)
    g = ben_strategic_only.overall
    assert (g.gaps, g.gap_median, g.gap_p90, g.gap_max, g.feast_or_famine) == (
        (),
        None,
        None,
        None,
        None,
    )


def test_feast_or_famine_across_segments_measures_gaps_in_units_of_every(report):
    # Ben's only gaps are c8's 89 and 92 days of a quarterly rhythm.
    ben = report.group(SALESPERSON, BEN.email)
    assert ben.gaps == (89, 92)
    assert ben.feast_or_famine == pytest.approx(1.5 / 90.5)
    everyone = report.overall
    ratios = [5 / 28, 1, 1, 35 / 28, 57 / 28, 89 / QUARTER_DAYS, 92 / QUARTER_DAYS]
    mean = sum(ratios) / len(ratios)
    stdev = math.sqrt(sum((r - mean) ** 2 for r in ratios) / len(ratios))
    assert everyone.feast_or_famine == pytest.approx(stdev / mean)


# ---- busy seasons ---------------------------------------------------------------------------


def test_busy_season_contacts_across_new_year_in_customer_local_dates():
    # Retail's season is Nov 15 - Jan 5; the customer adds Jan 6 - Jan 8 of its own.
    shop = Customer(
        id="s1",
        name="Shop",
        owner=ANA.email,
        segment="strategic",
        industry="Retail",
        timezone="Asia/Tokyo",
        busy_seasons=("Jan 6 - Jan 8",),
    )
    contacts = {
        "s1": [
            met("s1", "2025-11-20"),  # in season, but before the window (2025-11-23)
            met("s1", "2025-12-30"),  # in season (crossing New Year)
            met("s1", "2026-01-04"),  # in season
            met("s1", "2026-01-06"),  # the customer's own season
            met("s1", "2026-01-09"),  # free
            met("s1", "2026-02-01"),  # free
            # 23:30 UTC on Nov 14 is Nov 15 in Tokyo: in season
            Contact("s1", ContactKind.CALL, datetime(2026, 11, 14, 23, 30, tzinfo=UTC)),
        ]
    }
    r = build_report([shop], contacts, [], POLICIES, PEOPLE, NOW)
    g = r.group(SEGMENT, "strategic")
    assert (g.busy_season_contacts, g.contact_days) == (4, 6)


def test_season_parser_is_used_for_customer_seasons():
    seen: list[str] = []

    def parser(text: str):
        seen.append(text)
        return parse_season(text)

    c = customer("p1", busy_seasons=("August",))
    r = build_report(
        [c], {"p1": [met("p1", "2026-08-10")]}, [], POLICIES, PEOPLE, NOW, season_parser=parser
    )
    assert seen == ["August"]
    assert r.overall.busy_season_contacts == 1


# ---- bookings and load --------------------------------------------------------------------


def test_load_per_iso_week_per_salesperson(report):
    assert report.weeks[0] == date(2026, 11, 23)
    assert report.weeks[-1] == date(2027, 1, 11)
    assert report.load == {
        ANA.email: [3, 1, 0, 0, 0, 0, 0, 1],
        BEN.email: [0, 0, 1, 0, 0, 0, 0, 0],
    }
    assert report.capacity_per_week == {ANA.email: 20, BEN.email: 5}


def test_bookings_per_day_max_against_mean_over_booked_days(report):
    ana = report.group(SALESPERSON, ANA.email)
    # days: 11-24 (2), 11-26, 12-01, 01-17 -> 5 bookings on 4 days
    assert (ana.bookings, ana.booking_days, ana.bookings_per_day_max) == (5, 4, 2)
    assert ana.bookings_per_day_mean == 1.25
    everyone = report.overall
    assert (everyone.bookings, everyone.booking_days, everyone.bookings_per_day_max) == (6, 5, 2)
    assert everyone.bookings_per_day_mean == 1.2
    default = report.group(SEGMENT, "default")
    assert (default.bookings, default.bookings_per_day_max, default.bookings_per_day_mean) == (
        1,
        1,
        1.0,
    )


def test_weeks_ahead_sets_how_many_weeks_are_shown():
    r = build_report(CUSTOMERS, CONTACTS, PLANNED, POLICIES, PEOPLE, NOW, weeks_ahead=2)
    assert r.load[ANA.email] == [3, 1]
    assert r.group(SALESPERSON, ANA.email).bookings == 4


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        build_report([], {}, [], POLICIES, PEOPLE, datetime(2026, 11, 23, 8, 0))


# ---- rendering ------------------------------------------------------------------------------


def _rows_starting(text: str, first: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.startswith(first + " ")]


def test_text_report_shows_the_key_figures(report):
    text = render_text(report)
    for title in ("BY SEGMENT", "BY SALESPERSON", "OVERALL", "COMING WEEKS' LOAD", "Legend"):
        assert title in text
    status, gaps, bookings = _rows_starting(text, "strategic")
    assert status == ["strategic", "5", "2", "1", "2", "2", "2", "1", "1"]  # at risk: the overdue
    assert gaps == ["strategic", "8", "0", "5", "28", "48.2", "57", "1", "42", "0.54"]
    assert bookings == ["strategic", "5", "4", "2", "1.25"]
    load = text.split("COMING WEEKS' LOAD")[1]
    assert _rows_starting(load, "Ana")[0] == ["Ana", "20", "3", "1", "0", "0", "0", "0", "0", "1"]
    assert _rows_starting(load, "Ben")[0] == ["Ben", "5", "0", "0", "1", "0", "0", "0", "0", "0"]
    assert "W48" in load and "W02" in load
    overdue = text.split("OVERDUE CUSTOMERS")[1]
    assert overdue.index("Bad <b>&</b> Co") < overdue.index("Customer c3")  # longest first


VOID_TAGS = frozenset({"meta", "br", "link", "img", "input", "hr", "col", "source"})


class _Balance(HTMLParser):
    """Checks that every opened tag is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_report_is_one_self_contained_document(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert "<svg" in page
    assert re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", page) is None
    assert "<script" not in page.lower() and "<link" not in page.lower()
    parser = _Balance()
    parser.feed(page)
    assert parser.problems == [] and parser.stack == []
    assert not [a for _, attrs in parser.tags for a in attrs if a in {"src", "href"}]


def test_html_report_escapes_names_and_shows_the_figures(report):
    page = render_html(report)
    assert "Bad &lt;b&gt;&amp;&lt;/b&gt; Co" in page
    assert "<b>&</b>" not in page
    assert "max_gap 42 d" in page  # the gap chart marks the segment's max_gap
    assert ">48.2<" in page and ">0.54<" in page  # p90 and feast-or-famine in the tables
    assert "W48" in page and "W02" in page


def test_a_world_without_customers_still_renders_every_salesperson():
    r = build_report([], {}, [], POLICIES, PEOPLE, NOW)
    assert [g.name for g in r.groups] == [ANA.email, BEN.email, ALL]
    assert r.load == {ANA.email: [0] * 8, BEN.email: [0] * 8}
    text = render_text(r)
    assert _rows_starting(text, "everyone")[0] == ["everyone", *["0"] * 8]
    page = render_html(r)
    assert "No customers yet." in page and "no active customers" in page


# ---- what a manager must act on first (issue 16) ------------------------------------------------


def test_the_report_leads_with_overdue_customers_and_their_next_contact(report):
    text = render_text(report)
    assert text.index("OVERDUE CUSTOMERS (2: longest past max_gap first)") < text.index(
        "BY SEGMENT"
    )  # before every table
    assert "  - Ben: under load, 1 booking ahead, team mean 3" in text
    rows = _rows_starting(text, "Customer c3")
    # c3: last contact 2026-09-01, past max_gap since 2026-10-13; next planned 2026-11-26.
    assert rows == [["Customer", "c3", "c3", "Ana", "2026-09-01", "2026-10-13", "2026-11-26"]]
    assert report.next_contact["c8"] == (date(2026, 12, 7), "Check-in")
    html = render_html(report)
    assert html.index("Overdue customers (") < html.index("Rhythm by segment")
    assert "2026-11-26 Check-in" in html


def test_salespeople_over_capacity_or_far_from_the_mean_are_named():
    flags = load_flags(
        {"a@x": [21, 3], "b@x": [2, 2], "c@x": [8, 9], "d@x": [0, 0]},
        {"a@x": 20, "b@x": 20, "c@x": 20, "d@x": 20},
        [date(2026, 11, 23), date(2026, 11, 30)],
        {"a@x": 5, "b@x": 5, "c@x": 5, "d@x": 0},  # d has no customers: nothing to say
    )
    assert flags == [
        ("a@x", "over", "over weekly capacity in W48 (21 > 20)"),
        ("b@x", "under", "4 bookings ahead, team mean 15"),
    ]


def test_with_500_salespeople_the_riskiest_come_first_and_the_rest_is_counted():
    people = {
        f"rep{i:03d}@x": Salesperson(email=f"rep{i:03d}@x", name=f"Rep {i:03d}") for i in range(500)
    }
    customers = [customer(f"k{i}", owner=f"rep{i % 500:03d}@x") for i in range(1000)]
    # rep499's two customers were last seen long ago: overdue, so at risk.
    contacts = {
        f"k{i}": [met(f"k{i}", "2026-11-16" if i % 500 != 499 else "2026-01-05")]
        for i in range(1000)
    }
    result = build_report(customers, contacts, [], POLICIES, people, NOW)
    assert by_risk(result.by_kind("salesperson"))[0].name == "rep499@x"
    text = render_text(result)
    table = text.split("BY SALESPERSON (riskiest first)")[1]
    assert table.split("\n\nsalesperson")[1].splitlines()[2].startswith("Rep 499")
    assert "... and 475 more salespeople" in table
    html = render_html(result)
    assert "<details><summary>475 more rows</summary>" in html
