"""Closure days: when the company (``[closures]`` in the policies) or one salesperson
(``closures`` in their ``[[salesperson]]`` entry) takes no meetings at all.

A closure is written like a busy season (:mod:`cadence.values.seasons`): a day (``Dec 24``,
``2027-05-10``), a range of days (``Dec 24 - Jan 1``, ``2027-05-10 - 2027-05-12``) or a whole
month (``August``), recurring every year unless it carries a year. Closure days are dates on the
salesperson's side, read in the salesperson's time zone: nothing is booked on them, and the
placement reason names the closure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cadence.values.dates import DateReader
from cadence.values.errors import ValueParseError
from cadence.values.schema import as_list, expect
from cadence.values.seasons import Season, free_day_problem, parse_season

EXAMPLE = "'Dec 24 - Jan 1' or '2027-05-10 - 2027-05-12'"


def parse_closure(text: str, reader: DateReader | None = None) -> Season:
    """One closure (a day, a range or a month, yearly or one-off) as a :class:`Season`."""
    try:
        return parse_season(text, reader)
    except ValueParseError as exc:
        message = str(exc).replace("busy season", "closure").replace("season", "closure")
        message = message.replace("the customer can never be contacted", "nothing can be booked")
        message = message.replace("the customer cannot be contacted", "nothing can be booked")
        raise ValueParseError(message) from None


def closures_converter(reader: DateReader) -> Callable[[Any], tuple[Season, ...]]:
    """A TOML value converter: a list of closures, read with ``reader``, leaving days free."""

    def one(value: Any) -> Season:
        return parse_closure(expect(value, str, f"a closure like {EXAMPLE}"), reader)

    read_list = as_list(one, f"closures like {EXAMPLE}")

    def convert(value: Any) -> tuple[Season, ...]:
        closures = tuple(read_list(value))
        if free_day_problem(closures) is not None:
            texts = ", ".join(repr(s.text) for s in closures[:5])
            raise ValueParseError(
                f"closures {texts} together leave no day free in some year: nothing could "
                "ever be booked"
            )
        return closures

    return convert


def closure_texts(reader: DateReader) -> Callable[[Any], tuple[str, ...]]:
    """As :func:`closures_converter`, keeping the texts (a salesperson's closures are texts)."""
    convert = closures_converter(reader)

    def texts(value: Any) -> tuple[str, ...]:
        return tuple(s.text for s in convert(value))

    return texts
