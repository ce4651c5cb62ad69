"""Busy seasons: periods when a customer wants little interaction.

Syntax: ``START - END`` (also ``–``, ``to``, ``..``). Each side is a day and month that recur
every year (``Nov 15``, ``15 November``), a whole month (``December``: from the 1st on the start
side, to the last day on the end side) or a full date (``2027-03-01``) for a one-off season.
A recurring season may cross New Year (``Nov 15 - Jan 5``). A single month alone (``December``)
is a season of that whole month. Recurring 29 February is honoured in leap years only; in other
years a season ending on it ends on 28 February.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from cadence.dates import DateReader, PartialDate
from cadence.errors import ValueParseError

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


def _on(year: int, md: tuple[int, int]) -> date:
    month, day = md
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def parse_season(text: str, reader: DateReader | None = None) -> Season:
    """Parse one season string; raises :class:`ValueParseError` naming what was wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueParseError(f"expected a season like 'Nov 15 - Jan 5', got {text!r}")
    reader = reader or DateReader()
    raw = text.strip()
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
        return Season(text=raw, start_date=first, end_date=last)
    start_md = (start.month, start.day or 1)
    end_md = (end.month, end.day or calendar.monthrange(2024, end.month)[1])
    return Season(text=raw, start_md=start_md, end_md=end_md)


def _month_end(p: PartialDate) -> date:
    assert p.year is not None
    return date(p.year, p.month, calendar.monthrange(p.year, p.month)[1])


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

    def span(self, d: date) -> tuple[date, date] | None:
        """The whole blocked stretch around ``d``: overlapping or touching seasons merged."""
        if not self.seasons:
            return None
        key = d.toordinal()
        if key in self._spans:
            return self._spans[key]
        if self.season_on(d) is None:
            self._spans[key] = None
            return None
        first = last = d
        while self.season_on(first - timedelta(days=1)) is not None:
            first -= timedelta(days=1)
        while self.season_on(last + timedelta(days=1)) is not None:
            last += timedelta(days=1)
        self._spans[key] = (first, last)
        return first, last
