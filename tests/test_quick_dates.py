"""Dates read without dateparser give exactly what dateparser gives, and spare it the work.

:func:`cadence.values.dates.quick_partial` reads the forms cadence's docs and examples use
(``Nov 15``, ``15 November``, ``December``, ``2027-03-01``); everything else goes to dateparser.
The property below holds the two to each other over those forms and their near misses (every
case, spacing, day and month number, date order and usual set of languages): whenever the quick
reading answers, dateparser's reading is the same.
"""

from __future__ import annotations

import calendar
import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cadence.values import dates
from cadence.values.dates import KNOWN_LANGUAGES, DateReader, quick_partial
from cadence.values.seasons import SeasonParser, parse_season

LANGUAGES = [
    ("en",),
    ("en", "es", "de", "hi", "ar"),
    ("es", "en"),
    ("fr", "en"),
    ("de", "en"),
    ("hi", "en"),
    ("pt", "it", "nl", "en"),
]
ORDERS = ["DMY", "MDY", "YMD"]
NAMES = [
    name
    for m in range(1, 13)
    for name in (calendar.month_name[m], calendar.month_abbr[m], "Sept", "sept", "Mai", "Juni")
]


def _cased(name: str, flips: list[bool]) -> str:
    ups = flips + [False] * len(name)
    return "".join(c.upper() if up else c.lower() for c, up in zip(name, ups, strict=False))


month = st.builds(_cased, st.sampled_from(NAMES), st.lists(st.booleans(), max_size=9))
day = st.one_of(
    st.integers(0, 40).map(str), st.integers(0, 9).map(lambda d: f"0{d}"), st.just("00")
)
gap = st.sampled_from([" ", "  ", "   "])
texts = st.one_of(
    month,
    st.builds(lambda m, g, d: f"{m}{g}{d}", month, gap, day),
    st.builds(lambda d, g, m: f"{d}{g}{m}", day, gap, month),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.one_of(st.integers(1790, 2210), st.sampled_from([1, 1800, 2200, 2024, 2100, 9999])),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
)


def _dateparser_reading(reader: DateReader, text: str) -> object:
    """What :meth:`DateReader.partial` answers through dateparser alone (or the message)."""
    try:
        return reader._read_partial(text, text.strip())
    except ValueError as exc:
        return f"refused: {exc}"


@settings(max_examples=600, deadline=None)
@given(text=texts, order=st.sampled_from(ORDERS), languages=st.sampled_from(LANGUAGES))
@example(text="Nov 15", order="DMY", languages=("en",))
@example(text="15 Nov", order="YMD", languages=("en",))
@example(text="Feb 29", order="MDY", languages=("en",))
@example(text="2027-13-01", order="DMY", languages=("en",))
@example(text="Mar 15", order="DMY", languages=("fr", "en"))
def test_quick_reading_is_dateparsers(text: str, order: str, languages: tuple[str, ...]) -> None:
    quick = quick_partial(text, order)
    if quick is not None:
        assert _dateparser_reading(DateReader(languages, order), text) == quick


@pytest.mark.parametrize("order", ORDERS)
def test_the_documented_forms_are_read_quickly(order: str) -> None:
    forms = ["Nov 15", "November 15", "Dec 31", "Feb 29", "August", "december", "2027-03-01"]
    if order != "YMD":
        forms += ["15 November", "1 Jan"]
    for text in forms:
        assert quick_partial(text, order) is not None, text


@pytest.mark.parametrize(
    "text", ["Nov 45", "Feb 30", "Nov 0", "2027-02-29", "1799-12-31", "Nov. 15", "Nov 15 2027"]
)
def test_what_the_quick_reading_cannot_vouch_for_goes_to_dateparser(text: str) -> None:
    assert quick_partial(text, "DMY") is None


def test_known_languages_are_known_to_dateparser() -> None:
    from dateparser.languages.loader import default_loader

    for language in sorted(KNOWN_LANGUAGES):
        default_loader.get_locale_map(languages=[language])


def test_usual_seasons_do_not_ask_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seasons of the example policies are read with no dateparser call at all."""
    calls: list[tuple] = []

    def counting(*args: object) -> object:
        calls.append(args)
        raise AssertionError("dateparser asked")

    monkeypatch.setattr(dates, "_parser", counting)
    parse = SeasonParser(DateReader(("en", "es", "de", "hi", "ar"), "DMY"))
    for text in ["Nov 15 - Jan 5", "August", "Jun 1 - Jun 20", "2027-05-10 - 2027-05-12"]:
        parse(text)
    parse_season("Dec 24 - Dec 26")
    assert calls == []


def test_other_forms_still_reach_dateparser() -> None:
    reader = DateReader(("en",), "DMY")
    assert reader.partial("15th of March 2019") == dates.PartialDate(3, 15, 2019)


def test_reading_seasons_does_not_import_dateparser() -> None:
    code = (
        "import sys\n"
        "from cadence.values.seasons import parse_season\n"
        "parse_season('Nov 15 - Jan 5')\n"
        "assert 'dateparser' not in sys.modules, 'dateparser imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
