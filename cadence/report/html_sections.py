"""The HTML report's sections: the cards of the page (what needs attention, who cannot be
booked, the overdue customers, the load to look at), the summary tiles and the tables of
figures and of the coming weeks' load, with the escaping and the card frame they share. The
charts are :mod:`cadence.report.html_charts`; the page around them :mod:`cadence.report.html`."""

from __future__ import annotations

import html
from collections.abc import Sequence

from cadence.report.columns import (
    BOOKING_COLUMNS,
    GAP_COLUMNS,
    OVERDUE_LISTED,
    SALESPEOPLE_LISTED,
    STATUS_COLUMNS,
    Column,
    format_number,
    most_overdue,
)
from cadence.report.figures import ALL, SALESPERSON, GroupStats, Report
from cadence.report.health import GAP_WINDOW_DAYS

# Feast-or-famine bands: a reading guide, not a rule (see the legend).
STEADY, UNEVEN = 0.25, 0.5


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def attention(report: Report) -> str:
    """What the last cycle skipped, first on the page; nothing when all went well."""
    if not report.attention:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in report.attention)
    return card(
        f"Needs attention ({len(report.attention)})",
        "Skipped by the last cycle: fix these inputs; everyone else was planned and booked.",
        f"<ul>{items}</ul>",
    )


def cannot_book(report: Report) -> str:
    """Customers nothing can be booked for (all year or part of it), and paused ones."""
    parts = []
    if report.cannot_book:
        items = "".join(
            f"<li><b>{esc(name)}</b> ({esc(cid)}), owner {esc(owner)}: {esc(why)}</li>"
            for cid, name, owner, why in report.cannot_book
        )
        parts.append(
            card(
                f"Cannot be booked ({len(report.cannot_book)})",
                "Their hours never meet their owner's working hours, all year or part of it: "
                "cadence books nothing for them then. Counted as at risk.",
                f"<ul>{items}</ul>",
            )
        )
    if report.snoozed:
        items = "".join(
            f"<li><b>{esc(name)}</b> ({esc(cid)}), owner {esc(owner)}: until {esc(until)}"
            + (f" ({esc(note)})" if note else "")
            + "</li>"
            for cid, name, owner, until, note in report.snoozed
        )
        parts.append(
            card(
                f"Snoozed ({len(report.snoozed)})",
                "Paused with cadence snooze: nothing is booked until the date.",
                f"<ul>{items}</ul>",
            )
        )
    return "".join(parts)


def card(title: str, note: str, content: str) -> str:
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    return f'<section class="card"><h2>{esc(title)}</h2>{note_html}{content}</section>'


def _tile(key: str, value: str, sub: str, tone: str = "") -> str:
    return (
        f'<div class="tile {tone}"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div>'
        f'<div class="s">{esc(sub)}</div></div>'
    )


def cv_tone(cv: float | None) -> str:
    if cv is None:
        return ""
    return "ok" if cv < STEADY else "due" if cv < UNEVEN else "bad"


def _cv_words(cv: float | None) -> str:
    if cv is None:
        return "not enough gaps yet"
    return "steady" if cv < STEADY else "uneven" if cv < UNEVEN else "feast or famine"


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


def tiles(report: Report, g: GroupStats) -> str:
    cv = g.feast_or_famine
    per_day = f"busiest day {g.bookings_per_day_max}" if g.booking_days else "none booked"
    if g.bookings_per_day_mean is not None:
        per_day += f", mean {format_number(g.bookings_per_day_mean, 2)} per day"
    tiles = [
        _tile(
            "Active customers",
            str(g.active),
            f"{g.cancelled} cancelled, {g.do_not_contact} do not contact",
        ),
        _tile("In rhythm", _share(g.in_rhythm, g.active), f"{g.in_rhythm} customers", "ok"),
        _tile("Due soon", str(g.due_soon), f"{_share(g.due_soon, g.active)} of active", "due"),
        _tile(
            "Overdue",
            str(g.overdue),
            f"{g.never_contacted} never contacted",
            "bad" if g.overdue else "ok",
        ),
        _tile(
            "Feast or famine",
            "-" if cv is None else f"{cv:.2f}",
            _cv_words(cv),
            cv_tone(cv),
        ),
        _tile(
            "Median gap",
            "-" if g.gap_median is None else f"{format_number(g.gap_median)} d",
            f"p90 {format_number(g.gap_p90)} d, {g.gaps_over_max_gap} over max_gap"
            if g.gaps
            else "no gaps yet",
        ),
        _tile(
            "Busy-season contacts",
            str(g.busy_season_contacts),
            f"of {g.contact_days} contact days",
            "bad" if g.busy_season_contacts else "ok",
        ),
        _tile(f"Bookings, {len(report.weeks)} weeks", str(g.bookings), per_day),
    ]
    return '<section class="tiles">' + "".join(tiles) + "</section>"


def _heat(n: int, ref: float, over: bool) -> tuple[str, str]:
    """Background and text colour of a load cell: white to blue by share, red when full."""
    if over:
        return "#d64545", "#fff"
    share = min(1.0, n / ref) if ref else 0.0
    lo, hi = (241, 245, 249), (37, 88, 200)
    rgb = tuple(round(a + (b - a) * share) for a, b in zip(lo, hi, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb), "#fff" if share > 0.5 else "#1f2937"


def load_table(report: Report) -> str:
    people = {g.name: g for g in report.by_kind(SALESPERSON)}
    peak = max((n for row in report.load.values() for n in row), default=0)
    head = "".join(
        f"<th>W{w.isocalendar().week:02d}<br><small>{esc(w.strftime('%d %b'))}</small></th>"
        for w in report.weeks
    )
    rows = []
    for owner, weekly in report.load.items():
        cap = report.capacity_per_week.get(owner)
        cells = []
        for week, n in zip(report.weeks, weekly, strict=True):
            bg, fg = _heat(n, cap or peak, cap is not None and n >= cap)
            tip = f"{report.salesperson_labels.get(owner, owner)}, week of {week}: {n} bookings"
            cells.append(
                f'<td class="heat" style="background:{bg};color:{fg}" title="{esc(tip)}">{n}</td>'
            )
        g = people.get(owner)
        max_day = str(g.bookings_per_day_max) if g and g.booking_days else "-"
        mean_day = format_number(g.bookings_per_day_mean, 2) if g else "-"
        cap_day = format_number(report.capacity_per_day.get(owner))
        day_cap = report.capacity_per_day.get(owner)
        full = g is not None and day_cap is not None and g.bookings_per_day_max >= day_cap
        rows.append(
            f"<tr><td>{esc(report.salesperson_labels.get(owner, owner))}<br>"
            f'<small class="muted">{esc(owner)}</small></td><td>{esc(format_number(cap))}</td>'
            + "".join(cells)
            + f"<td{' class=full' if full else ''}>{esc(max_day)}</td>"
            + f"<td>{esc(mean_day)}</td><td>{esc(cap_day)}</td></tr>"
        )
    if not rows:
        return '<p class="note">No salespeople.</p>'
    return (
        f"<table><thead><tr><th>salesperson</th><th>cap/week</th>{head}<th>max/day</th>"
        f"<th>mean/day</th><th>cap/day</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figures_table(groups: Sequence[GroupStats], columns: Sequence[Column]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h, _ in columns)
    rows = []
    for g in groups:
        cells = [f"<td>{esc(g.label)}</td>"]
        for header, get in columns:
            text = esc(get(g))
            if header == "feast/famine" and g.feast_or_famine is not None:
                tone = cv_tone(g.feast_or_famine)
                text = f'<span class="pill {tone}">{text}</span>'
            cells.append(f"<td>{text}</td>")
        css = ' class="total"' if g.kind == ALL else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figures_card(title: str, groups: Sequence[GroupStats]) -> str:
    """The figures tables; past :data:`SALESPEOPLE_LISTED` rows the rest fold away (a team of
    500 reads its riskiest first and opens the rest when it wants them)."""
    rows = [g for g in groups if g.kind != ALL]
    totals = [g for g in groups if g.kind == ALL]  # the everyone row is always shown
    first, rest = rows[:SALESPEOPLE_LISTED] + totals, rows[SALESPEOPLE_LISTED:]

    def tables(columns: Sequence[Column]) -> str:
        html = _figures_table(first, columns)
        if rest:
            html += (
                f"<details><summary>{len(rest)} more rows</summary>"
                f"{_figures_table(rest, columns)}</details>"
            )
        return html

    return card(
        title,
        "",
        "<h3>Rhythm and coming bookings</h3>"
        + tables([*STATUS_COLUMNS, *BOOKING_COLUMNS])
        + f"<h3>Gaps over the last {GAP_WINDOW_DAYS} days</h3>"
        + tables(GAP_COLUMNS),
    )


def overdue_card(report: Report) -> str:
    overdue = most_overdue(report)
    if not overdue:
        return card("Overdue customers", "Nobody is past max_gap.", "")
    rows = "".join(
        f'<tr><td>{esc(h.name)} <small class="muted">{esc(h.customer_id)}</small></td>'
        f'<td class="l">{esc(h.segment)}</td>'
        f'<td class="l">{esc(report.salesperson_labels.get(h.owner, h.owner))}</td>'
        f"<td>{esc(h.last_contact or 'never')}</td><td>{esc(format_number(h.days_since))}</td>"
        f"<td>{esc(h.overdue_after)}</td><td>{esc(_next(report, h.customer_id))}</td></tr>"
        for h in overdue[:OVERDUE_LISTED]
    )
    more = len(overdue) - OVERDUE_LISTED
    note = "Longest past max_gap first, with the next contact booked or planned." + (
        f" {more} more not shown." if more > 0 else ""
    )
    table = (
        '<table><thead><tr><th>customer</th><th class="l">segment</th><th class="l">owner</th>'
        "<th>last contact</th><th>days since</th><th>overdue since</th><th>next contact</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    return card(f"Overdue customers ({len(overdue)})", note, table)


def _next(report: Report, customer_id: str) -> str:
    found = report.next_contact.get(customer_id)
    return f"{found[0]} {found[1]}" if found else "none planned"


def load_flags_card(report: Report) -> str:
    """Salespeople over capacity or far from the team's mean load."""
    if not report.load_flags:
        return ""
    items = "".join(
        f"<li><b>{esc(report.salesperson_labels.get(owner, owner))}</b>: {esc(verdict)} load, "
        f"{esc(why)}</li>"
        for owner, verdict, why in report.load_flags
    )
    return card(
        f"Load to look at ({len(report.load_flags)})",
        "A week over capacity, or a load for the coming weeks far above or below the team's "
        "mean per salesperson.",
        f"<ul>{items}</ul>",
    )
