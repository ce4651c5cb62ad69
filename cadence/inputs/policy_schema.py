"""The tables of the policy folder: every key's converter, default and help, in one place.

Each table's :class:`~cadence.values.schema.Schema` is the single source of its keys: the loader
(:mod:`cadence.inputs.policy_load`) checks the files with it, the resolved values of
:mod:`cadence.inputs.policy` take their defaults from it, and the docs' key tables are generated
from it (``python -m cadence.inputs.keys``).
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

from cadence.inputs.closures import closures_converter
from cadence.values.dates import DateReader
from cadence.values.durations import Duration
from cadence.values.errors import ValueParseError
from cadence.values.model import ContactKind
from cadence.values.schema import (
    Field,
    Schema,
    as_bool,
    as_duration,
    as_hours,
    as_list,
    as_meeting_length,
    as_positive_int,
    as_zone,
    describe,
    expect,
)
from cadence.values.seasons import Season, parse_season

# The texts of the booked events, when a policy sets none.
DEFAULT_AGENDA = (
    "Thank them for their business. Ask what problems they have had lately and what we could "
    "do better. Listen more than you talk: aim to speak no more than 30% of the time."
)
# Per-kind agendas (DOMAIN.md): customers rarely ask for help in time, so an onboarding
# check-in asks directly; a long-standing customer is not automatically happy, so the
# anniversary thanks them and asks for feedback; a win-back call is a personal apology.
DEFAULT_ONBOARDING_AGENDA = (
    "Welcome them and ask directly what problems they have had so far, however small: new "
    "customers rarely ask for help in time. Ask whether things work the way they expected and "
    "offer help they did not ask for. Listen more than you talk: aim to speak no more than "
    "30% of the time."
)
DEFAULT_ANNIVERSARY_AGENDA = (
    "Thank them for another year with us. Ask for their feedback: what has worked, what has "
    "not, and what we could do better. Ask about their plans for the year ahead. Listen more "
    "than you talk: aim to speak no more than 30% of the time."
)
DEFAULT_WINBACK_AGENDA = (
    "Call personally, soon. Apologise for what went wrong and take responsibility; explain "
    "what happened and what we have changed. Then let them talk: ask why they left, and "
    "listen. Offer a way back that fits what they told you. If it is not for now, ask whether "
    "we may stay in touch from time to time, and respect the answer."
)


DEFAULT_CUSTOMER_DESCRIPTION = (
    "A short catch-up with {salesperson}: how things are going at {customer}, and anything "
    "we can help with."
)
DEFAULT_ONBOARDING_CUSTOMER_DESCRIPTION = (
    "A short check-in with {salesperson} on how getting started is going, and any questions."
)
DEFAULT_ANNIVERSARY_CUSTOMER_DESCRIPTION = (
    "A short catch-up with {salesperson} to look back on our time working together and ahead."
)


# --------------------------------------------------------------------------------------------
# Converters for the values only policies have


def _as_counts(value: Any) -> frozenset[ContactKind]:
    known = ", ".join(k.value for k in ContactKind)

    def kind(item: Any) -> ContactKind:
        name = expect(item, str, f"a contact kind ({known})")
        try:
            return ContactKind(name)
        except ValueError:
            raise ValueParseError(f"unknown contact kind {name!r} (known: {known})") from None

    kinds = as_list(kind, "contact kinds")(value)
    if not kinds:
        raise ValueParseError(f"name at least one contact kind ({known})")
    return frozenset(kinds)


def _as_agenda(value: Any) -> str:
    return expect(value, str, "a string").strip()


VIDEO_KINDS = ("meet", "teams", "url")


def _as_video(value: Any) -> str:
    if value is False:
        return ""
    if value in VIDEO_KINDS:
        return str(value)
    raise ValueParseError(f"expected 'meet', 'teams', 'url' or false, got {describe(value)}")


def _as_video_url(value: Any) -> str:
    text = expect(value, str, "a link like 'https://video.example.com/{booking}'").strip()
    if not text.startswith(("https://", "http://")) or any(c.isspace() for c in text):
        raise ValueParseError(f"expected a link starting https:// without spaces, got {text!r}")
    unknown = set(re.findall(r"\{([^}]*)\}", text)) - {"booking", "salesperson"}
    if unknown:
        raise ValueParseError(
            f"unknown placeholder {{{sorted(unknown)[0]}}} (known: {{booking}}, {{salesperson}})"
        )
    return text


def _as_buffer(value: Any) -> timedelta:
    text = expect(value, str, "a length like '15 minutes'")
    if text.strip().split(" ")[0] in ("0", "none"):
        return timedelta(0)
    length = as_meeting_length(text)
    if length > timedelta(hours=2):
        raise ValueParseError(f"buffer {text!r} must be at most 2 hours (or '0 minutes')")
    return length


def _as_anniversary(value: Any) -> str | None:
    if value is False:
        return None
    if value in ("yearly", "half-yearly"):
        return value
    raise ValueParseError(f"expected 'yearly', 'half-yearly' or false, got {describe(value)}")


def _as_onboarding(value: Any) -> tuple[Duration, ...]:
    steps = as_list(as_duration, "durations like '1 week'")(value)
    for before, after in itertools.pairwise(steps):
        if after.approx_days <= before.approx_days:
            raise ValueParseError(
                f"onboarding steps must be strictly increasing: {str(after)!r} comes after "
                f"{str(before)!r}"
            )
    return tuple(steps)


def _as_reminders(value: Any) -> tuple[int, ...]:
    lengths = as_list(as_meeting_length, "lengths like '15 minutes'")(value)
    return tuple(int(length.total_seconds() // 60) for length in lengths)


# --------------------------------------------------------------------------------------------
# The schemas

# The keys of [defaults] and [segment.NAME]; each is a SegmentPolicy attribute of the same name,
# except where SEGMENT_ATTRIBUTE says otherwise.
SEGMENT = Schema(
    {
        "every": Field(as_duration, "the target rhythm between contacts", default="quarter"),
        "min_gap": Field(as_duration, "never two contacts closer than this", default="6 weeks"),
        "max_gap": Field(as_duration, "never let silence run longer than this", default="4 months"),
        "retry_after": Field(
            as_duration, "wait after a deleted or declined booking", default="1 week"
        ),
        "anniversary_lead": Field(
            as_duration, "how far before an anniversary its check-in may be", default="1 week"
        ),
        "onboarding_window": Field(
            as_duration, "tolerance either side of an onboarding step", default="1 week"
        ),
        "meeting": Field(as_meeting_length, "length of a check-in meeting", default="30 minutes"),
        "counts": Field(
            _as_counts,
            "contact kinds that reset the rhythm",
            default=["meeting", "call", "email_out"],
        ),
        "timezone": Field(as_zone, "zone of customers without one of their own", default="UTC"),
        "customer_hours": Field(
            as_hours,
            "book only inside the customer's local hours",
            shown="none: the salesperson's hours only",
        ),
        "agenda": Field(
            _as_agenda, "text printed in every check-in booking", default=DEFAULT_AGENDA
        ),
        "onboarding_agenda": Field(
            _as_agenda, "text printed in onboarding check-ins", default=DEFAULT_ONBOARDING_AGENDA
        ),
        "anniversary_agenda": Field(
            _as_agenda,
            "text printed in anniversary check-ins",
            default=DEFAULT_ANNIVERSARY_AGENDA,
        ),
        "customer_description": Field(
            _as_agenda,
            "what invited customers read ({customer}, {salesperson}); no agenda",
            default=DEFAULT_CUSTOMER_DESCRIPTION,
        ),
        "onboarding_customer_description": Field(
            _as_agenda,
            "what invited customers read of an onboarding check-in",
            default=DEFAULT_ONBOARDING_CUSTOMER_DESCRIPTION,
        ),
        "anniversary_customer_description": Field(
            _as_agenda,
            "what invited customers read of an anniversary check-in",
            default=DEFAULT_ANNIVERSARY_CUSTOMER_DESCRIPTION,
        ),
        "anniversary": Field(_as_anniversary, "'yearly', 'half-yearly' or false", default=False),
        "onboarding": Field(
            _as_onboarding, "steps after customer_since, strictly increasing", default=[]
        ),
        "invite_customer": Field(
            as_bool, "invite the customer's contacts to the meeting", default=False
        ),
        "reminders": Field(
            _as_reminders, "calendar reminders before each booking", default=["15 minutes"]
        ),
        "video": Field(
            _as_video,
            "a video link on each meeting: 'meet', 'teams', 'url' or false",
            default=False,
        ),
        "video_url": Field(_as_video_url, "the link of video = 'url' ({booking}, {salesperson})"),
    },
    about="the rhythm of contacts; a segment's keys override [defaults]",
)
SEGMENT_ATTRIBUTE = {"reminders": "reminder_minutes"}


def industry_schema(reader: DateReader) -> Schema:
    """The keys of ``[industry.NAME]``; season dates are read with ``reader``."""

    def season(value: Any) -> Season:
        return parse_season(expect(value, str, "a season like 'Nov 15 - Jan 5'"), reader)

    return Schema(
        {
            "busy_seasons": Field(
                as_list(season, "seasons like 'Nov 15 - Jan 5'"),
                "busy seasons: 'Nov 15 - Jan 5', 'Mar 1 - Mar 31'",
                default=[],
            ),
        },
        about="when customers of an industry are too busy to meet",
    )


def closure_schema(reader: DateReader) -> Schema:
    """The keys of ``[closures]``; dates are read with ``reader``."""
    return Schema(
        {
            "dates": Field(
                closures_converter(reader),
                "company closure days, like seasons: 'Dec 24 - Jan 1', '2027-05-10 - 2027-05-12'",
                default=[],
            ),
        },
        about="company closure days: nobody is booked",
    )


WINBACK = Schema(
    {
        "first_within": Field(
            as_duration,
            "first win-back call within this of cancelled_on",
            default="2 business days",
        ),
        "every": Field(as_duration, "then one call this often", default="3 months"),
        "until": Field(as_duration, "until this long after cancelled_on", default="1 year"),
        "meeting": Field(as_meeting_length, "length of a win-back call", default="30 minutes"),
        "agenda": Field(
            _as_agenda, "text printed in win-back calls", default=DEFAULT_WINBACK_AGENDA
        ),
    },
    about="the calls to customers who cancelled",
)
CAPACITY = Schema(
    {
        "per_day": Field(as_positive_int, "cadence bookings per salesperson per day", default=6),
        "per_week": Field(as_positive_int, "cadence bookings per salesperson per week", default=20),
        "buffer": Field(
            _as_buffer,
            "time kept free before and after each booking ('0 minutes': none)",
            default="15 minutes",
        ),
        "catch_up": Field(
            as_duration, "how long an overdue backlog is spread over", default="3 weeks"
        ),
    },
    about="how many bookings a salesperson gets (a [[salesperson]] may set their own)",
)
WEEKENDS_ABOUT = (
    "a country's (or ISO 3166-2 subdivision's) weekend days, e.g. NP = 'sat', overriding "
    "the holidays package"
)
# name -> True when the table holds named sub-tables ([segment.NAME]).
TABLES: dict[str, bool] = {
    "defaults": False,
    "segment": True,
    "industry": True,
    "winback": False,
    "capacity": False,
    "weekends": False,
    "closures": False,
}
