"""Loading the policy folder: every problem at once, located, and the resolved values exact."""

from __future__ import annotations

import json
import tempfile
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.inputs.policy import Capacity, PolicySet
from cadence.inputs.policy_load import load_policies
from cadence.inputs.policy_schema import DEFAULT_AGENDA
from cadence.inputs.tomlfile import LocatedToml, TomlFileError
from cadence.values.dates import DateReader
from cadence.values.durations import Duration
from cadence.values.model import ContactKind
from cadence.values.workweek import WorkingHours

READER = DateReader(("en",), "DMY")
SEGMENT_KEYS = (
    "agenda, anniversary, anniversary_agenda, anniversary_customer_description, "
    "anniversary_lead, counts, customer_description, customer_hours, every, invite_customer, "
    "max_gap, meeting, min_gap, onboarding, onboarding_agenda, onboarding_customer_description, "
    "onboarding_window, reminders, retry_after, timezone, video, video_url"
)

SPEC_EXAMPLE = '''
[defaults]
timezone = "Europe/London"
meeting = "30 minutes"
counts = ["meeting", "call", "email_out"]
customer_hours = "09:00-17:00"        # only book inside the customer's local hours too
agenda = """Thank them for their business. Ask what problems they have had lately and
what we could do better. Listen more than you talk."""

[segment.strategic]
every = "4 weeks"                     # the target rhythm
min_gap = "2 weeks"                   # never two contacts closer than this
max_gap = "6 weeks"                   # never let silence run longer than this
meeting = "45 minutes"
anniversary = "yearly"                # or "half-yearly", or false
anniversary_lead = "1 week"
onboarding = ["1 week", "1 month", "2 months"]  # after customer_since, then the rhythm

[segment.default]                     # everyone not in another segment
every = "quarter"
min_gap = "6 weeks"
max_gap = "4 months"

[industry.retail]
busy_seasons = ["Nov 15 - Jan 5"]
[industry.accounting]
busy_seasons = ["Jan 15 - Apr 30"]

[winback]
first_within = "2 business days"      # after cancelled_on
every = "3 months"
until = "1 year"

[capacity]
per_day = 6                            # cadence bookings per salesperson per day
per_week = 20
'''


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(folder: Path) -> list[str]:
    policies, problems = load_policies(folder, READER)
    assert policies is None
    return [str(p) for p in problems]


def loaded(folder: Path) -> PolicySet:
    policies, problems = load_policies(folder, READER)
    assert [str(p) for p in problems] == []
    assert policies is not None
    return policies


# -------------------------------------------------------------------------------------------
# The SPEC example resolves to exact values


def test_spec_example_resolves_segments_over_defaults(tmp_path):
    write(tmp_path, "policies.toml", SPEC_EXAMPLE)
    policies = loaded(tmp_path)

    strategic = policies.for_segment("strategic")
    assert strategic.name == "strategic"
    assert (strategic.every, strategic.min_gap, strategic.max_gap) == (
        Duration(days=28, text="4 weeks"),
        Duration(days=14, text="2 weeks"),
        Duration(days=42, text="6 weeks"),
    )
    assert strategic.meeting == timedelta(minutes=45)  # the segment's own value
    assert strategic.timezone == "Europe/London"  # inherited from [defaults]
    assert strategic.customer_hours == WorkingHours(9 * 60, 17 * 60)
    assert strategic.counts == {ContactKind.MEETING, ContactKind.CALL, ContactKind.EMAIL_OUT}
    assert strategic.agenda == (
        "Thank them for their business. Ask what problems they have had lately and\n"
        "what we could do better. Listen more than you talk."
    )
    assert strategic.anniversary == "yearly"
    assert strategic.anniversary_lead == Duration(days=7, text="1 week")
    assert [str(step) for step in strategic.onboarding] == ["1 week", "1 month", "2 months"]
    assert strategic.reminder_minutes == (15,)  # built-in default

    default = policies.for_segment("default")
    assert default.name == "default"
    assert default.every == Duration(months=3, text="quarter")
    assert default.meeting == timedelta(minutes=30)
    assert default.anniversary is None
    assert default.onboarding == ()
    # Unknown segments fall back to [segment.default].
    assert policies.for_segment("no-such-segment") is default
    assert policies.defaults.timezone == "Europe/London"
    assert policies.defaults.agenda == strategic.agenda


def test_spec_example_resolves_industries_winback_and_capacity(tmp_path):
    write(tmp_path, "policies.toml", SPEC_EXAMPLE)
    policies = loaded(tmp_path)

    assert set(policies.industries) == {"retail", "accounting"}
    (retail,) = policies.industry_seasons("Retail")
    assert (retail.start_md, retail.end_md) == ((11, 15), (1, 5))
    assert retail.contains(date(2026, 12, 31)) and not retail.contains(date(2026, 1, 6))
    (accounting,) = policies.industry_seasons("accounting")
    assert (accounting.start_md, accounting.end_md) == ((1, 15), (4, 30))

    assert policies.winback.first_within == Duration(business_days=2, text="2 business days")
    assert policies.winback.every == Duration(months=3, text="3 months")
    assert policies.winback.until == Duration(months=12, text="1 year")
    assert policies.winback.meeting == timedelta(minutes=30)
    assert policies.capacity == Capacity(per_day=6, per_week=20)
    assert policies.weekends == {}


def test_files_are_merged_and_industry_names_are_lower_case(tmp_path):
    write(tmp_path, "a.toml", '[defaults]\nmeeting = "20 minutes"\nreminders = ["1 hour", "5 min"]')
    write(tmp_path, "b.toml", '[segment.smb]\nevery = "2 months"\nmax_gap = "3 months"')
    write(tmp_path, "c.toml", '[industry.Hospitality]\nbusy_seasons = ["Jul 1 - Aug 31"]')
    write(tmp_path, "d.toml", '[weekends]\nsa = "fri-sat"\nAE = "sat-sun"')
    policies = loaded(tmp_path)

    smb = policies.for_segment("smb")
    assert smb.meeting == timedelta(minutes=20)
    assert smb.reminder_minutes == (60, 5)
    assert smb.every == Duration(months=2, text="2 months")
    assert smb.min_gap == Duration(days=42, text="6 weeks")  # built-in default
    assert list(policies.industries) == ["hospitality"]
    assert policies.weekends == {"SA": frozenset({4, 5}), "AE": frozenset({5, 6})}
    # No [segment.default]: unknown segments get [defaults].
    assert policies.for_segment("gold") is policies.defaults


def test_one_off_and_whole_month_seasons(tmp_path):
    write(
        tmp_path,
        "industries.toml",
        '[industry.education]\nbusy_seasons = ["August", "2027-03-01 - 2027-03-20"]',
    )
    august, one_off = loaded(tmp_path).industry_seasons("education")
    assert (august.start_md, august.end_md) == ((8, 1), (8, 31))
    assert (one_off.start_date, one_off.end_date) == (date(2027, 3, 1), date(2027, 3, 20))


def test_shipped_example_policies_load_without_problems():
    folder = Path(__file__).resolve().parents[1] / "policies"
    policies = loaded(folder)
    assert "default" in policies.segments


# -------------------------------------------------------------------------------------------
# Every problem, located


def test_typo_in_a_key_is_an_error_naming_the_allowed_keys(tmp_path):
    path = write(tmp_path, "a.toml", '[segment.strategic]\nevry = "4 weeks"\n')
    assert problems_of(tmp_path) == [
        f"{path}:2: [segment.strategic] evry: unknown key; did you mean 'every'? "
        f"(allowed: {SEGMENT_KEYS})"
    ]


def test_unknown_table_is_an_error(tmp_path):
    path = write(tmp_path, "a.toml", '[segments.strategic]\nevery = "4 weeks"\n')
    assert problems_of(tmp_path) == [
        f"{path}:1: segments: unknown table; did you mean 'segment'? "
        "(allowed: capacity, closures, defaults, industry, segment, weekends, winback)"
    ]


def test_wrong_type_says_what_was_expected_and_what_came(tmp_path):
    path = write(tmp_path, "a.toml", '[defaults]\nevery = 4\ninvite_customer = "yes"\n')
    assert problems_of(tmp_path) == [
        f"{path}:2: [defaults] every: expected a duration like '4 weeks', got integer 4",
        f"{path}:3: [defaults] invite_customer: expected true or false, got string 'yes'",
    ]


def test_unreadable_duration(tmp_path):
    path = write(tmp_path, "a.toml", '[winback]\nuntil = "two yeers"\n')
    assert problems_of(tmp_path) == [
        f"{path}:2: [winback] until: cannot read duration 'two yeers': write a number and a "
        "unit (day, business day, week, month, quarter, year), 'quarter', or ISO 8601 like "
        "'P6W'; above zero and at most 10 years (120 months, 3653 days or 2609 business days)"
    ]


def test_unreadable_season(tmp_path):
    path = write(
        tmp_path,
        "a.toml",
        '[industry.retail]\nbusy_seasons = ["Nov 15 - Jan 5", "Smarch 3 - May 1"]',
    )
    assert problems_of(tmp_path) == [
        f"{path}:2: [industry.retail] busy_seasons: cannot read season 'Smarch 3 - May 1': "
        "cannot read date 'Smarch 3'"
    ]


def test_min_gap_longer_than_every_points_at_min_gap(tmp_path):
    path = write(
        tmp_path,
        "a.toml",
        """
        [segment.strategic]
        every = "4 weeks"
        min_gap = "6 weeks"
        max_gap = "8 weeks"
        """,
    )
    assert problems_of(tmp_path) == [
        f"{path}:3: [segment.strategic] min_gap: min_gap '6 weeks' is longer than every "
        "'4 weeks'; need min_gap <= every <= max_gap"
    ]


def test_every_longer_than_inherited_max_gap_points_at_every(tmp_path):
    write(
        tmp_path, "a.toml", '[defaults]\nevery = "4 weeks"\nmin_gap = "1 week"\nmax_gap = "6 weeks"'
    )
    path = write(tmp_path, "b.toml", '[segment.smb]\nagenda = "Hi"\nevery = "2 months"\n')
    assert problems_of(tmp_path) == [
        f"{path}:3: [segment.smb] every: every '2 months' is longer than max_gap '6 weeks' "
        "(from [defaults]); need min_gap <= every <= max_gap"
    ]


def test_gap_order_broken_in_defaults_is_reported_once_on_defaults(tmp_path):
    path = write(tmp_path, "a.toml", '[defaults]\nevery = "1 year"\n[segment.smb]\nagenda = "x"')
    assert problems_of(tmp_path) == [
        f"{path}:2: [defaults] every: every '1 year' is longer than max_gap '4 months' "
        "(built-in default); need min_gap <= every <= max_gap"
    ]


def test_unknown_time_zone(tmp_path):
    path = write(tmp_path, "a.toml", '[defaults]\ntimezone = "Europe/Lisbn"\n')
    assert problems_of(tmp_path) == [
        f"{path}:2: [defaults] timezone: unknown time zone 'Europe/Lisbn': use an IANA name "
        "like 'Europe/Lisbon' or 'UTC'"
    ]


def test_same_table_in_two_files_names_both_files(tmp_path):
    first = write(
        tmp_path, "a.toml", '[capacity]\nper_day = 6\n\n[segment.strategic]\nevery = "quarter"'
    )
    second = write(tmp_path, "b.toml", '# more\n[segment.strategic]\nevery = "2 months"')
    assert problems_of(tmp_path) == [
        f"{second}:2: [segment.strategic] table already defined in {first}:4; "
        "each table may be defined in one file only"
    ]


def test_industry_names_differing_only_in_case_are_the_same_table(tmp_path):
    path = write(
        tmp_path,
        "a.toml",
        '[industry.retail]\nbusy_seasons = []\n[industry.Retail]\nbusy_seasons = ["May"]',
    )
    assert problems_of(tmp_path) == [
        f"{path}:3: [industry.Retail] table already defined in line 1; "
        "each table may be defined in one file only"
    ]


def test_toml_syntax_error_is_located_and_other_files_still_checked(tmp_path):
    broken = write(tmp_path, "a.toml", '[defaults]\nmeeting = "30 minutes"\nevery = \n')
    other = write(tmp_path, "b.toml", "[capacity]\nper_day = 0\n")
    assert problems_of(tmp_path) == [
        f"{broken}:3: TOML syntax error: Invalid value (column 9)",
        f"{other}:2: [capacity] per_day: must be at least 1, got 0",
    ]


def test_every_problem_in_every_file_is_reported_at_once(tmp_path):
    a = write(
        tmp_path,
        "a.toml",
        """
        [defaults]
        timezone = "Mars/Olympus"
        counts = ["meeting", "mail"]
        anniversary = true

        [segment.key]
        onboarding = ["1 month", "1 week"]
        customer_hours = "9-5"
        """,
    )
    b = write(
        tmp_path,
        "b.toml",
        """
        [weekends]
        XX = "fri-sat"
        SA = "mon-sun"

        [capacity]
        per_week = true
        per_daay = 3
        """,
    )
    assert problems_of(tmp_path) == [
        f"{a}:2: [defaults] timezone: unknown time zone 'Mars/Olympus': use an IANA name like "
        "'Europe/Lisbon' or 'UTC'",
        f"{a}:3: [defaults] counts: unknown contact kind 'mail' (known: meeting, call, "
        "email_out, email_in, note)",
        f"{a}:4: [defaults] anniversary: expected 'yearly', 'half-yearly' or false, got "
        "boolean true",
        f"{a}:7: [segment.key] onboarding: onboarding steps must be strictly increasing: "
        "'1 week' comes after '1 month'",
        f"{a}:8: [segment.key] customer_hours: cannot read hours '9-5': write e.g. '09:00-17:00' "
        "or '08:30 to 16:30'",
        f"{b}:2: [weekends] XX: unknown country code 'XX': use an ISO 3166 code like 'PT'",
        f"{b}:3: [weekends] SA: a weekend cannot be the whole week",
        f"{b}:6: [capacity] per_week: expected a whole number, got boolean true",
        f"{b}:7: [capacity] per_daay: unknown key; did you mean 'per_day'? "
        "(allowed: buffer, catch_up, per_day, per_week)",
    ]


def test_value_outside_any_table_is_an_error(tmp_path):
    path = write(tmp_path, "a.toml", 'every = "4 weeks"\n')
    assert problems_of(tmp_path) == [
        f"{path}:1: every: unknown key (allowed: capacity, closures, defaults, "
        "industry, segment, weekends, winback); policy values go in a table such as [defaults] "
        "or [segment.NAME]"
    ]


def test_missing_or_empty_folder_is_an_error(tmp_path):
    assert problems_of(tmp_path / "nope") == [f"{tmp_path / 'nope'}: policy folder not found"]
    (tmp_path / "notes.txt").write_text("not a policy")
    assert problems_of(tmp_path) == [f"{tmp_path}: no policy files (*.toml) in this folder"]


def test_anniversary_false_and_empty_lists(tmp_path):
    write(
        tmp_path,
        "a.toml",
        "[defaults]\nanniversary = false\nonboarding = []\nreminders = []\ninvite_customer = true",
    )
    defaults = loaded(tmp_path).defaults
    assert (defaults.anniversary, defaults.onboarding, defaults.reminder_minutes) == (None, (), ())
    assert defaults.invite_customer is True
    assert defaults.agenda == DEFAULT_AGENDA


# -------------------------------------------------------------------------------------------
# Line numbers of the TOML scanner


def test_scanner_knows_lines_across_multiline_values_and_array_tables(tmp_path):
    text = textwrap.dedent(
        '''
        top = 1
        [defaults]
        agenda = """
        [not a table]
        key = "not a key" """
        counts = [
          "meeting",  # a comment ]
          "call",
        ]
        a."b c".d = 2
        [[salesperson]]
        email = "a@example.com"
        [[salesperson]]
        email = 'b@example.com'
        [salesperson.extra]
        x = 1
        inline = { y = 2 }
        '''
    ).lstrip("\n")
    doc = LocatedToml(tmp_path / "x.toml", text=text)
    assert doc.line((), "top") == 1
    assert doc.line(("defaults",)) == 2
    assert doc.line(("defaults",), "agenda") == 3
    assert doc.line(("defaults",), "counts") == 6
    assert doc.line(("defaults", "a", "b c"), "d") == 10
    assert doc.line(("salesperson", 0), "email") == 12
    assert doc.line(("salesperson", 1)) == 13
    assert doc.line(("salesperson", 1), "email") == 14
    assert doc.line(("salesperson", 1, "extra"), "x") == 16
    # Keys inside an inline table fall back to the key holding it.
    assert doc.line(("salesperson", 1, "extra", "inline"), "y") == 17
    assert str(doc.problem(("salesperson", 1), "email", "bad")) == (
        f"{tmp_path / 'x.toml'}:14: [[salesperson]] email: bad"
    )


def test_unreadable_file_is_a_problem(tmp_path):
    with pytest.raises(TomlFileError) as caught:
        LocatedToml(tmp_path / "missing.toml")
    assert str(caught.value.problem) == (
        f"{tmp_path / 'missing.toml'}: cannot read: No such file or directory"
    )


# -------------------------------------------------------------------------------------------
# Robustness: whatever a manager writes, the loader answers with problems, never a crash

_KEYS = st.sampled_from(
    [
        "every",
        "min_gap",
        "max_gap",
        "meeting",
        "counts",
        "timezone",
        "onboarding",
        "reminders",
        "anniversary",
        "customer_hours",
        "busy_seasons",
        "per_day",
        "first_within",
        "SA",
        "typo",
    ]
)
_VALUES = st.one_of(
    st.integers(-5, 100),
    st.booleans(),
    st.sampled_from(
        [
            "4 weeks",
            "quarter",
            "P6W",
            "Nov 15 - Jan 5",
            "09:00-17:00",
            "yearly",
            "fri-sat",
            "Europe/Lisbon",
            "meeting",
            "15 minutes",
            "",
        ]
    ),
    st.text(max_size=12),
    st.lists(st.sampled_from(["1 week", "1 month", "call", "Nov 15 - Jan 5", "x"]), max_size=3),
)
_TABLES = st.sampled_from(
    [
        "defaults",
        "segment.a",
        "segment.b",
        "industry.retail",
        "winback",
        "capacity",
        "weekends",
        "segmentz",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_TABLES, st.dictionaries(_KEYS, _VALUES, max_size=4), max_size=4))
def test_any_policy_file_gives_a_policy_set_or_located_problems(tables):
    with tempfile.TemporaryDirectory() as folder:
        lines = []
        for table, values in tables.items():
            lines.append(f"[{table}]")
            lines.extend(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
        (Path(folder) / "p.toml").write_text("\n".join(lines), encoding="utf-8")
        policies, problems = load_policies(Path(folder), READER)
    assert (policies is None) == any(p.is_error for p in problems)
    assert all(p.file.endswith("p.toml") and p.message for p in problems)
    assert all(p.line > 0 for p in problems if p.table or p.key)


# -------------------------------------------------------------------------------------------
# Values `check` used to accept and `run` could not use


def test_bounds_of_durations_zones_and_seasons_are_located_problems(tmp_path):
    path = write(
        tmp_path,
        "a.toml",
        f"""
        [defaults]
        timezone = "Europe"
        max_gap = "10000 years"

        [segment.fast]
        every = "P0D"
        min_gap = "P0D"
        max_gap = "{"9" * 309} days"

        [industry.everything]
        busy_seasons = ["Dec 1 - Nov 30"]
        """,
    )
    limits = "at most 10 years (120 months, 3653 days or 2609 business days)"
    assert problems_of(tmp_path) == [
        f"{path}:2: [defaults] timezone: unknown time zone 'Europe': that is a region, name a "
        "zone in it like 'Europe/Lisbon'",
        f"{path}:3: [defaults] max_gap: duration '10000 years' is too long: durations are {limits}",
        f"{path}:6: [segment.fast] every: duration 'P0D' is zero: durations are above zero and "
        f"{limits}",
        f"{path}:7: [segment.fast] min_gap: duration 'P0D' is zero: durations are above zero and "
        f"{limits}",
        f"{path}:8: [segment.fast] max_gap: cannot read duration '{'9' * 30}'... (314 "
        "characters): write a number and a unit (day, business day, week, month, quarter, "
        f"year), 'quarter', or ISO 8601 like 'P6W'; above zero and {limits}",
        f"{path}:11: [industry.everything] busy_seasons: busy season 'Dec 1 - Nov 30' covers "
        "every day of the year: leave at least one day free, or the customer can never be "
        "contacted",
    ]


def test_an_industrys_seasons_must_leave_a_day_free_together(tmp_path):
    path = write(
        tmp_path,
        "a.toml",
        '[industry.busy]\nbusy_seasons = ["Jan 1 - Jun 30", "Jul 1 - Dec 31"]\n',
    )
    assert problems_of(tmp_path) == [
        f"{path}:2: [industry.busy] busy_seasons: busy seasons 'Jan 1 - Jun 30', "
        "'Jul 1 - Dec 31' together cover every day of the year: leave at least one day free, or "
        "the customer can never be contacted",
    ]


def test_longest_gaps_compare_without_overflow(tmp_path):
    write(
        tmp_path,
        "a.toml",
        '[segment.slow]\nevery = "10 years"\nmin_gap = "2600 business days"\nmax_gap = "P10Y"\n',
    )
    slow = loaded(tmp_path).segments["slow"]
    assert (slow.every.months, slow.min_gap.business_days, slow.max_gap.months) == (120, 2600, 120)


def test_video_keys_name_a_provider_or_a_templated_link(tmp_path):
    write(tmp_path, "a.toml", """
        [defaults]
        video = "url"
        video_url = "https://video.example.com/{salesperson}/{booking}"

        [segment.google]
        video = "meet"

        [segment.none]
        video = false
    """)  # fmt: skip
    policies = loaded(tmp_path)
    assert (policies.defaults.video, policies.defaults.video_url) == (
        "url", "https://video.example.com/{salesperson}/{booking}"
    )  # fmt: skip
    assert policies.for_segment("google").video == "meet"
    assert policies.for_segment("none").video == ""


def test_video_problems_are_all_said_where_they_are(tmp_path):
    path = write(tmp_path, "a.toml", """
        [defaults]
        video = "zoom"

        [segment.a]
        video = "url"

        [segment.b]
        video_url = "https://v.example.com/{customer_id}"

        [segment.c]
        video_url = "meet.example.com/x"
    """)  # fmt: skip
    assert problems_of(tmp_path) == [
        f"{path}:2: [defaults] video: expected 'meet', 'teams', 'url' or false, got string 'zoom'",
        f"{path}:5: [segment.a] video: video = 'url' needs video_url, a link like "
        "'https://video.example.com/{booking}'",
        f"{path}:8: [segment.b] video_url: unknown placeholder {{customer_id}} (known: "
        "{booking}, {salesperson})",
        f"{path}:11: [segment.c] video_url: expected a link starting https:// without spaces, "
        "got 'meet.example.com/x'",
    ]
