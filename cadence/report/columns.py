"""What the text and the HTML renderings of the report both show: the columns of the figure
tables, how numbers are written, how long lists run and in what order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from cadence.report.figures import GroupStats, Report
from cadence.report.health import CustomerHealth, Rhythm

OVERDUE_LISTED = 20
SALESPEOPLE_LISTED = 25  # rows of a salesperson table before "... and N more" (riskiest first)


def format_number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def _cv_text(g: GroupStats) -> str:
    return "-" if g.feast_or_famine is None else f"{g.feast_or_famine:.2f}"


Column = tuple[str, Callable[[GroupStats], str]]
STATUS_COLUMNS: list[Column] = [
    ("active", lambda g: str(g.active)),
    ("in rhythm", lambda g: str(g.in_rhythm)),
    ("due soon", lambda g: str(g.due_soon)),
    ("overdue", lambda g: str(g.overdue)),
    ("at risk", lambda g: str(g.at_risk)),
    ("never", lambda g: str(g.never_contacted)),
    ("cancelled", lambda g: str(g.cancelled)),
    ("do not contact", lambda g: str(g.do_not_contact)),
]
GAP_COLUMNS: list[Column] = [
    ("contacts", lambda g: str(g.contact_days)),
    ("in season", lambda g: str(g.busy_season_contacts)),
    ("gaps", lambda g: str(len(g.gaps))),
    ("median", lambda g: format_number(g.gap_median)),
    ("p90", lambda g: format_number(g.gap_p90)),
    ("max", lambda g: format_number(g.gap_max)),
    (">max_gap", lambda g: str(g.gaps_over_max_gap)),
    ("max_gap", lambda g: format_number(g.max_gap_days)),
    ("feast/famine", _cv_text),
]
BOOKING_COLUMNS: list[Column] = [
    ("bookings", lambda g: str(g.bookings)),
    ("days booked", lambda g: str(g.booking_days)),
    ("max/day", lambda g: str(g.bookings_per_day_max) if g.booking_days else "-"),
    ("mean/day", lambda g: format_number(g.bookings_per_day_mean, 2)),
]


def by_risk(groups: Sequence[GroupStats]) -> list[GroupStats]:
    """Salespeople with the most customers at risk first (then most overdue, then by name)."""
    return sorted(groups, key=lambda g: (-g.at_risk, -g.overdue, g.label))


def most_overdue(report: Report) -> list[CustomerHealth]:
    overdue = [h for h in report.customers if h.rhythm is Rhythm.OVERDUE]
    return sorted(overdue, key=lambda h: (h.overdue_after or date.min, h.customer_id))
