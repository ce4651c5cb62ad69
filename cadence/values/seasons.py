"""Busy seasons: periods when a customer wants little interaction.

Syntax: ``START - END`` (also ``–``, ``to``, ``..``). Each side is a day and month that recur
every year (``Nov 15``, ``15 November``), a whole month (``December``: from the 1st on the start
side, to the last day on the end side) or a full date (``2027-03-01``) for a one-off season.
A recurring season may cross New Year (``Nov 15 - Jan 5``). A single month alone (``December``)
is a season of that whole month. Recurring 29 February is honoured in leap years only; in other
years a season ending on it ends on 28 February.

Some day of every year must stay free, or a customer could never be contacted: a recurring
season covering every day of the year (``Jan 1 - Dec 31``, ``Dec 1 - Nov 30``, or
``Mar 1 - Feb 28``, which leaves only 29 February, missing in three years of four) is refused,
and so is a one-off season longer than a year (:data:`MAX_ONE_OFF_DAYS`) or covering a whole
calendar year. ``Jan 1 - Dec 30`` is fine: 31 December stays free. Several seasons may still
cover the whole year *together*; :func:`free_day_problem` says so for the seasons of one
customer (its industry's and its own), and :meth:`SeasonSet.span` refuses, with
:class:`NoFreeDayError`, to follow a blocked stretch longer than :data:`MAX_SPAN_DAYS`.

:class:`SeasonParser` is the one cache of parsed seasons (the planner keeps its own per plan):
the workspace, ``cadence check``, the customer file's reader and the report each read season
texts through one.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from cadence.values.dates import DateReader, PartialDate
from cadence.values.errors import ValueParseError
from cadence.values.model import Customer

# A one-off season may last a year (a leap year's 366 days), no longer.
MAX_ONE_OFF_DAYS = 366
# How far SeasonSet.span follows a blocked stretch each way. When every calendar year has a free
# day (what free_day_problem checks) no stretch is longer than 731 days (a free 1 January, then
# a free 31 December of the next year), so 800 is never reached by seasons that passed it.
MAX_SPAN_DAYS = 800
_MAX_SEASON_TEXT = 200
_LEAP_YEAR, _COMMON_YEAR = 2024, 2025

_SEPARATORS = re.compile(r"\s+(?:-|–|—|to|until|\.\.)\s+|\s*(?:–|—|\.\.)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Season:
    """One busy season. Recurring seasons hold (month, day) pairs; one-off seasons hold dates."""

    text: str
    start_md: tuple[int, int] | None = None
    end_md: tuple[int, int] | None = None
    start_date: date | None = None
    end_date: date | None = None

    @property
    def recurring(self) -> bool:
        return self.start_date is None

    def contains(self, d: date) -> bool:
        """Is ``d`` (a date in the customer's zone) inside this season?"""
        if self.start_date is not None:
            assert self.end_date is not None
            return self.start_date <= d <= self.end_date
        assert self.start_md is not None and self.end_md is not None
        md = (d.month, d.day)
        if self.start_md <= self.end_md:
            return self.start_md <= md <= self.end_md
        return md >= self.start_md or md <= self.end_md

    def occurrence(self, d: date) -> tuple[date, date] | None:
        """The concrete (first day, last day) of this season's occurrence containing ``d``."""
        if not self.contains(d):
            return None
        if self.start_date is not None:
            assert self.end_date is not None
            return self.start_date, self.end_date
        assert self.start_md is not None and self.end_md is not None
        if self.start_md <= self.end_md:
            return _on(d.year, self.start_md), _on(d.year, self.end_md)
        if (d.month, d.day) >= self.start_md:
            return _on(d.year, self.start_md), _on(d.year + 1, self.end_md)
        return _on(d.year - 1, self.start_md), _on(d.year, self.end_md)

    def __str__(self) -> str:
        return self.text


class NoFreeDayError(ValueParseError):
    """Busy seasons that leave no day free: the blocked stretch has no end within reach."""


def _on(year: int, md: tuple[int, int]) -> date:
    # Clamped to Python's dates, so an occurrence around year 1 or 9999 never raises.
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    month, day = md
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def parse_season(text: str, reader: DateReader | None = None) -> Season:
    """Parse one season string; raises :class:`ValueParseError` naming what was wrong."""
    if not isinstance(text, str) or not text.strip():
        got = repr(text) if isinstance(text, str) else type(text).__name__
        raise ValueParseError(f"expected a season like 'Nov 15 - Jan 5', got {got}")
    reader = reader or DateReader()
    raw = text.strip()
    if len(raw) > _MAX_SEASON_TEXT:
        raise ValueParseError(
            f"cannot read season {raw[:30]!r}...: {len(raw)} characters is too long for a season"
        )
    parts = [p for p in _SEPARATORS.split(raw) if p.strip()]
    if len(parts) == 1:
        start_text = end_text = parts[0]
    elif len(parts) == 2:
        start_text, end_text = parts
    else:
        raise ValueParseError(
            f"cannot read season {text!r}: write 'START - END', e.g. 'Nov 15 - Jan 5' or 'December'"
        )
    try:
        start = reader.partial(start_text)
        end = reader.partial(end_text)
    except ValueParseError as exc:
        raise ValueParseError(f"cannot read season {text!r}: {exc}") from None
    if (start.year is None) != (end.year is None):
        raise ValueParseError(
            f"season {text!r} mixes a recurring day with a full date; "
            "give both sides a year or neither"
        )
    if start.year is not None and end.year is not None:
        first = date(start.year, start.month, start.day or 1)
        last = _month_end(end) if end.day is None else date(end.year, end.month, end.day)
        if last < first:
            raise ValueParseError(f"one-off season {text!r} ends before it starts")
        season = Season(text=raw, start_date=first, end_date=last)
    else:
        start_md = (start.month, start.day or 1)
        end_md = (end.month, end.day or calendar.monthrange(_LEAP_YEAR, end.month)[1])
        season = Season(text=raw, start_md=start_md, end_md=end_md)
    problem = free_day_problem((season,))
    if problem is not None:
        raise ValueParseError(problem)
    return season


def _month_end(p: PartialDate) -> date:
    assert p.year is not None
    return date(p.year, p.month, calendar.monthrange(p.year, p.month)[1])


def free_day_problem(seasons: Iterable[Season]) -> str | None:
    """Why these seasons together leave some year without a free day; None when they do not.

    ``seasons`` are all the busy seasons of one customer (its industry's and its own). The
    answer is None exactly when every calendar year has at least one day outside all of them:
    recurring seasons are checked on every day of a leap and of a common year, and each year
    a one-off season touches is checked whole, with every season. A one-off season longer than
    :data:`MAX_ONE_OFF_DAYS` is a problem by itself. Cached per distinct set of seasons.
    """
    return _free_day_problem(tuple(dict.fromkeys(seasons)))


@lru_cache(maxsize=1024)
def _free_day_problem(seasons: tuple[Season, ...]) -> str | None:
    if not seasons:
        return None
    for season in seasons:
        if season.start_date is not None and season.end_date is not None:
            length = (season.end_date - season.start_date).days + 1
            if length > MAX_ONE_OFF_DAYS:
                return (
                    f"one-off busy season {season.text!r} lasts {length} days; a one-off "
                    f"season may last at most a year ({MAX_ONE_OFF_DAYS} days)"
                )
    covers, leaves = _named(seasons, "cover"), _named(seasons, "leave")
    recurring = tuple(s for s in seasons if s.recurring)
    if recurring:
        if _all_blocked(_LEAP_YEAR, recurring):
            return (
                f"{covers} every day of the year: leave at least one day free, "
                "or the customer can never be contacted"
            )
        if _all_blocked(_COMMON_YEAR, recurring):
            return (
                f"{leaves} no day free in years without 29 February: leave at least one "
                "other day free, or the customer can never be contacted in those years"
            )
    years = sorted(
        {
            year
            for s in seasons
            if s.start_date is not None and s.end_date is not None
            for year in range(s.start_date.year, s.end_date.year + 1)
        }
    )
    for year in years:
        if _all_blocked(year, seasons):
            return (
                f"{covers} every day of {year}: leave at least one day free, "
                "or the customer cannot be contacted that year"
            )
    return None


def _all_blocked(year: int, seasons: tuple[Season, ...]) -> bool:
    """Is every day of ``year`` inside one of ``seasons``?"""
    day, end = date(year, 1, 1), date(year, 12, 31)
    while day <= end:
        if not any(s.contains(day) for s in seasons):
            return False
        day += timedelta(days=1)
    return True


def _named(seasons: tuple[Season, ...], verb: str) -> str:
    """``busy season 'X' covers`` or ``busy seasons 'X', 'Y' together cover``."""
    texts = ", ".join(repr(s.text) for s in seasons[:5])
    if len(seasons) == 1:
        return f"busy season {texts} {verb}s"
    more = f" and {len(seasons) - 5} more" if len(seasons) > 5 else ""
    return f"busy seasons {texts}{more} together {verb}"


class SeasonSet:
    """All of one customer's busy seasons, with a per-day cache (customers share sets)."""

    __slots__ = ("_cache", "_spans", "seasons")

    def __init__(self, seasons: tuple[Season, ...]) -> None:
        self.seasons = seasons
        self._cache: dict[int, Season | None] = {}
        self._spans: dict[int, tuple[date, date] | None] = {}

    def season_on(self, d: date) -> Season | None:
        """The season covering ``d``, or None."""
        key = d.toordinal()
        try:
            return self._cache[key]
        except KeyError:
            found = next((s for s in self.seasons if s.contains(d)), None)
            self._cache[key] = found
            return found

    def season_at(self, ordinal: int) -> Season | None:
        """:meth:`season_on` by day ordinal."""
        try:
            return self._cache[ordinal]
        except KeyError:
            return self.season_on(date.fromordinal(ordinal))

    def span(self, d: date) -> tuple[date, date] | None:
        """The whole blocked stretch around ``d``: overlapping or touching seasons merged.

        None when ``d`` is free. The stretch is followed at most :data:`MAX_SPAN_DAYS` days
        each way (and stops at Python's first and last date); seasons that leave no free day
        within that reach raise :class:`NoFreeDayError` (a :class:`ValueParseError`), which
        seasons accepted by :func:`free_day_problem` never do.
        """
        if not self.seasons:
            return None
        key = d.toordinal()
        if key in self._spans:
            return self._spans[key]
        if self.season_on(d) is None:
            self._spans[key] = None
            return None
        first = self._edge(d, -1)
        last = self._edge(d, 1)
        found = (first, last)
        lo, hi = first.toordinal(), last.toordinal()
        if hi - lo <= MAX_SPAN_DAYS:
            # Every day of the stretch has it as its span, and reaches both of its edges
            # within MAX_SPAN_DAYS: kept for all of them at once, instead of the stretch
            # walked again for each (a search asks about a different day of a long season
            # for each customer in it).
            spans = self._spans
            for o in range(lo, hi + 1):
                spans[o] = found
        else:
            self._spans[key] = found
        return found

    def _edge(self, d: date, sign: int) -> date:
        """The last blocked day from ``d`` going in direction ``sign`` (d itself is blocked)."""
        step = timedelta(days=sign)
        edge = d
        for _ in range(MAX_SPAN_DAYS):
            try:
                following = edge + step
            except OverflowError:  # the stretch runs to Python's first or last date
                return edge
            if self.season_on(following) is None:
                return edge
            edge = following
        raise NoFreeDayError(
            f"{_named(self.seasons, 'leave')} no free day within {MAX_SPAN_DAYS} days "
            f"{'after' if sign > 0 else 'before'} {d.isoformat()}"
        )


class SeasonParser:
    """Season texts parsed once each: ``parser(text) -> Season``, for everything that reads them.

    A text is parsed with ``reader`` (the configured date formats) by :func:`parse_season`, or
    by ``parse`` when given; the season is kept by text, and so is the message of a text that
    cannot be read, refused again with a :class:`ValueParseError` saying the same. Being a
    ``Callable[[str], Season]``, a parser is what ``PlanInput.season_parser`` and the report's
    ``season_parser`` take. :meth:`season_set` hands out one :class:`SeasonSet` (and so one
    per-day cache) per distinct tuple of seasons, shared by the customers that have it.
    """

    __slots__ = ("_failed", "_parse", "_parsed", "_sets")

    def __init__(
        self, reader: DateReader | None = None, *, parse: Callable[[str], Season] | None = None
    ) -> None:
        if parse is None:
            dates = reader or DateReader()

            def parse(text: str) -> Season:
                return parse_season(text, dates)

        self._parse = parse
        self._parsed: dict[str, Season] = {}
        self._failed: dict[str, str] = {}  # text -> why it cannot be read
        self._sets: dict[tuple[Season, ...], SeasonSet] = {}

    def __call__(self, text: str) -> Season:
        """The season ``text`` says; :class:`ValueParseError` when it cannot be read."""
        found = self._parsed.get(text)
        if found is not None:
            return found
        failure = self._failed.get(text)
        if failure is not None:
            raise ValueParseError(failure)
        try:
            found = self._parse(text)
        except ValueParseError as exc:
            if type(exc) is ValueParseError:  # a subclass is raised anew each time, as it was
                self._failed[text] = str(exc)
            raise
        self._parsed[text] = found
        return found

    def of_customer(
        self, customer: Customer, industry: tuple[Season, ...], *, skip_unreadable: bool = False
    ) -> tuple[Season, ...]:
        """The seasons of ``customer``'s industry (``industry``, from the policies), then its
        own ``busy_seasons``. A text that cannot be read raises :class:`ValueParseError`, or is
        left out with ``skip_unreadable`` (the customer file's reader rejected that row)."""
        own: list[Season] = []
        for text in customer.busy_seasons:
            try:
                own.append(self(text))
            except ValueParseError:
                if not skip_unreadable:
                    raise
        return industry + tuple(own)

    def season_set(self, seasons: tuple[Season, ...]) -> SeasonSet:
        """The one :class:`SeasonSet` of ``seasons`` (with its day cache), made on first use."""
        found = self._sets.get(seasons)
        if found is None:
            found = self._sets[seasons] = SeasonSet(seasons)
        return found
