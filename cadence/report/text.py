"""The rhythm report as fixed-width text for a terminal (:func:`render_text`); the figures
come from :func:`cadence.report.figures.build_report`, the HTML page from
:mod:`cadence.report.html`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

from cadence.report.columns import (
    BOOKING_COLUMNS,
    GAP_COLUMNS,
    OVERDUE_LISTED,
    SALESPEOPLE_LISTED,
    STATUS_COLUMNS,
    Column,
    by_risk,
    format_number,
    most_overdue,
)
from cadence.report.figures import ALL, KINDS, SALESPERSON, SEGMENT, GroupStats, Report
from cadence.report.health import GAP_WINDOW_DAYS

_KIND_TITLES = {SEGMENT: "BY SEGMENT", SALESPERSON: "BY SALESPERSON", ALL: "OVERALL"}
_KIND_COLUMN = {SEGMENT: "segment", SALESPERSON: "salesperson", ALL: ""}

TEXT_LEGEND = """\
Legend
  in rhythm      last contact within the segment's `every`
  due soon       past `every`, not yet past `max_gap` (or never contacted, no customer_since)
  overdue        past `max_gap` since the last contact (since customer_since if never contacted)
  at risk        overdue, or cannot be booked (all year or part of it: see CANNOT BE BOOKED)
  never          active customers with no contact on record (also counted in a status above)
  contacts       contact days in the last 365 days (several contacts on one day are one touch)
  in season      of those, days that fell in the customer's busy seasons
  gaps           days between consecutive contact days of a customer in the last 365 days;
                 p90 = 90th percentile; >max_gap = gaps longer than the customer's max_gap
  feast/famine   coefficient of variation of the gaps (stdev / mean, gaps measured in units of
                 the customer's `every`): 0 = steady; 0.5 or more = feast or famine
  bookings       timed bookings in the coming weeks; max/day = busiest salesperson-day,
                 mean/day = mean over salesperson-days with at least one booking"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Fixed-width columns: the first ``left`` left-aligned (names), the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _rows(groups: Sequence[GroupStats], columns: Sequence[Column]) -> list[list[str]]:
    return [[g.label, *(get(g) for _, get in columns)] for g in groups]


def render_text(report: Report) -> str:
    """The report as fixed-width tables for a terminal: one section per grouping kind."""
    weeks = report.weeks
    last_day = weeks[-1] + timedelta(days=6)
    out = [
        f"cadence rhythm report - {report.now.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"gaps over the last {GAP_WINDOW_DAYS} days; bookings from {weeks[0]} to {last_day}"
        f" ({len(weeks)} ISO weeks)",
    ]
    if report.attention:
        out += ["", f"NEEDS ATTENTION ({len(report.attention)}: skipped by the last cycle)", ""]
        out += [f"  - {line}" for line in report.attention]
    overdue = most_overdue(report)
    if overdue:
        out += ["", f"OVERDUE CUSTOMERS ({len(overdue)}: longest past max_gap first)", ""]
        out += _table(
            ["customer", "id", "owner", "last contact", "overdue since", "next contact"],
            [
                [
                    h.name,
                    h.customer_id,
                    report.salesperson_labels.get(h.owner, h.owner),
                    str(h.last_contact) if h.last_contact else "never",
                    str(h.overdue_after),
                    _next_text(report, h.customer_id),
                ]
                for h in overdue[:OVERDUE_LISTED]
            ],
            left=3,
        )
        if len(overdue) > OVERDUE_LISTED:
            out.append(f"... and {len(overdue) - OVERDUE_LISTED} more")
    if report.cannot_book:
        out += [
            "",
            f"CANNOT BE BOOKED ({len(report.cannot_book)}: hours never meet the owner's)",
            "",
        ]
        out += [
            f"  - {name} ({cid}), owner {owner}: {why}"
            for cid, name, owner, why in report.cannot_book
        ]
    if report.load_flags:
        out += ["", f"LOAD TO LOOK AT ({len(report.load_flags)} salespeople)", ""]
        out += [
            f"  - {report.salesperson_labels.get(owner, owner)}: {verdict} load, {why}"
            for owner, verdict, why in report.load_flags
        ]
    if report.snoozed:
        out += ["", f"SNOOZED ({len(report.snoozed)}: nothing booked until the date)", ""]
        out += [
            f"  - {name} ({cid}), owner {owner}: until {until}" + (f" ({note})" if note else "")
            for cid, name, owner, until, note in report.snoozed
        ]
    for kind in KINDS:
        groups = report.by_kind(kind)
        if not groups:
            continue
        hidden = 0
        if kind == SALESPERSON:
            groups = by_risk(groups)
            hidden = max(0, len(groups) - SALESPEOPLE_LISTED)
            groups = groups[:SALESPEOPLE_LISTED]
        title = _KIND_TITLES[kind] + (" (riskiest first)" if kind == SALESPERSON else "")
        out += ["", title]
        for columns in (STATUS_COLUMNS, GAP_COLUMNS, BOOKING_COLUMNS):
            headers = [_KIND_COLUMN[kind], *(h for h, _ in columns)]
            out += ["", *_table(headers, _rows(groups, columns))]
            if hidden:
                out.append(f"... and {hidden} more salespeople (all of them: report --html)")
    out += ["", "COMING WEEKS' LOAD (timed bookings per ISO week; cap = capacity per week)", ""]
    headers = ["salesperson", "cap", *(f"W{w.isocalendar().week:02d}" for w in weeks)]
    owners = [g.name for g in by_risk(report.by_kind(SALESPERSON))]
    rows = [
        [
            report.salesperson_labels.get(owner, owner),
            format_number(report.capacity_per_week.get(owner)),
            *(str(n) for n in report.load.get(owner, [])),
        ]
        for owner in owners[:SALESPEOPLE_LISTED]
    ]
    out += _table(headers, rows)
    if len(owners) > SALESPEOPLE_LISTED:
        out.append(f"... and {len(owners) - SALESPEOPLE_LISTED} more salespeople")
    out += ["", TEXT_LEGEND]
    return "\n".join(out) + "\n"


def _next_text(report: Report, customer_id: str) -> str:
    found = report.next_contact.get(customer_id)
    return str(found[0]) if found else "none planned"
