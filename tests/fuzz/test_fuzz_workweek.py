"""Fuzz: working days and hours are read whole, the ways people write them, or refused.

"No silent partial read": a text is either understood completely (every word in it is a day, a
range word or a list word, and the days are exactly the ones written) or refused with a message
that names the value. ``working_hours`` and ``customer_hours`` share :class:`WorkingHours`.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cadence.values.errors import ValueParseError
from cadence.values.workweek import DAY_NAMES, FULL_DAY_NAMES, WorkingHours, parse_working_days
from tests.fuzz.fuzzkit import fuzz, nasty_text, outcome

SPELLINGS = [
    (DAY_NAMES[i], FULL_DAY_NAMES[i], ("mo", "tu", "we", "th", "fr", "sa", "su")[i])
    for i in range(7)
]
SPELLINGS[1] += ("tues",)
SPELLINGS[2] += ("weds",)
SPELLINGS[3] += ("thur", "thurs")
RANGES = ("-", " - ", "–", " – ", "—", "..", " .. ", " to ", " through ", " thru ", " until ")
LISTS = (",", ", ", " ", "  ", " , ", "; ", " / ", " & ", " and ", "+")
KNOWN_WORDS = {s for group in SPELLINGS for s in group} | {
    "to",
    "through",
    "thru",
    "until",
    "till",
    "and",
}


@st.composite
def spelled_day(draw: st.DrawFn, index: int) -> str:
    word = draw(st.sampled_from(SPELLINGS[index]))
    case = draw(st.sampled_from([str.lower, str.upper, str.title]))
    return case(word)


@st.composite
def written_days(draw: st.DrawFn) -> tuple[str, frozenset[int]]:
    """A list of days and ranges as someone might write it, and the days it means."""
    items = draw(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 6), st.booleans()), min_size=1, max_size=4
        )
    )
    parts: list[str] = []
    days: set[int] = set()
    for first, last, is_range in items:
        text = draw(spelled_day(first))
        if is_range:
            text += draw(st.sampled_from(RANGES)) + draw(spelled_day(last))
            days.update((first + k) % 7 for k in range((last - first) % 7 + 1))
        else:
            days.add(first)
        parts.append(text)
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(LISTS)) + part
    padding = draw(st.sampled_from(["", " ", "\t", "  "]))
    return padding + text + padding, frozenset(days)


@fuzz()
@given(written_days())
def test_working_days_written_any_way_people_write_them_are_exactly_the_named_days(case):
    text, days = case
    assert parse_working_days(text) == days


@fuzz()
@given(
    written_days(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzé0123456789!?*", min_size=1, max_size=8),
    st.integers(0, 100),
    st.sampled_from([" ", ", ", ""]),
)
def test_a_word_that_is_not_a_day_anywhere_makes_the_whole_value_an_error(case, junk, at, sep):
    text, _ = case
    if junk.lower() in KNOWN_WORDS:
        return
    # Insert the junk at a token boundary (or glued to a word, which spoils that word too).
    cut = [m.start() for m in re.finditer(r"(?<![A-Za-z])(?=[A-Za-z])|$", text)]
    position = cut[at % len(cut)]
    spoiled = text[:position] + junk + sep + text[position:]
    result = outcome(parse_working_days, spoiled)
    assert isinstance(result, ValueParseError), (spoiled, result)
    assert repr(spoiled) in str(result)


@fuzz()
@given(st.one_of(nasty_text(), written_days().map(lambda c: c[0]), st.text(max_size=30)))
def test_working_days_of_any_text_are_read_whole_or_refused_naming_the_value(text):
    result = outcome(parse_working_days, text)
    if isinstance(result, ValueParseError):
        assert str(result)
        if isinstance(text, str) and text.strip() and len(text) <= 200:
            assert repr(text) in str(result)
        return
    assert result and result <= frozenset(range(7))
    # Nothing was skipped: the text is made of day names, range and list words and marks only.
    words = re.findall(r"[^\W\d_]+|\d+", text)
    assert all(w.lower() in KNOWN_WORDS for w in words), (text, words)
    assert not re.sub(r"[A-Za-z\s,;/&+.\-–—]", "", text), text


HOUR_SEPARATORS = ("-", " - ", "–", "—", "..", " to ", " until ", " till ")


@fuzz()
@given(
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(1, 24 * 60),
    st.sampled_from(HOUR_SEPARATORS),
    st.booleans(),
)
def test_working_hours_as_people_write_them_are_exact(h1, m1, end, sep, pad):
    start = h1 * 60 + m1
    h1_text = f"{h1:02d}" if pad else str(h1)
    text = f"{h1_text}:{m1:02d}{sep}{end // 60:02d}:{end % 60:02d}"
    result = outcome(WorkingHours.parse, text)
    if end <= start:
        assert isinstance(result, ValueParseError) and repr(text) in str(result)
        return
    assert result == WorkingHours(start, end)


@fuzz()
@given(
    st.sampled_from(["09:00-17:00", "08:30 to 16:30", "10:00..18:00"]),
    st.text(min_size=1, max_size=6).filter(lambda s: s.strip()),
    st.booleans(),
)
def test_hours_with_anything_more_are_refused_naming_the_value(hours, extra, before):
    text = extra + hours if before else hours + extra
    result = outcome(WorkingHours.parse, text)
    assert isinstance(result, ValueParseError), (text, result)
    assert repr(text[:60]) in str(result) or repr(text) in str(result)
