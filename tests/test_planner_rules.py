"""The planning rules of SPEC 5, one behaviour per test, with exact dates and times.

Unless a test says otherwise: now is Monday 2026-11-23 08:00 UTC, Ana works in London
(09:00-17:00, Mon-Fri, GB holidays), the customer is in London (GB), rhythm every 4 weeks,
min_gap 2 weeks, max_gap 6 weeks, capacity 6/day and 20/week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cadence.inputs.policy import WinbackPolicy
from cadence.values.durations import Duration
from cadence.values.model import (
    Booking,
    BookingKind,
    BusyInterval,
    CustomerStatus,
    PlanStatus,
    Salesperson,
)
from cadence.values.workweek import WorkingHours
from tests.planning import ANA, NOW, contact, customer, d, of, policies, run, segment


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---- rule 1 and 3: window, ideal, nearest allowed day ------------------------------------------


def test_checkin_lands_on_the_ideal_day_at_the_start_of_working_hours():
    c, *_ = of(run([customer(last_contact=d("2026-11-02"))]))
    assert c.kind is BookingKind.CHECK_IN
    assert (c.ideal, c.window_start, c.window_end) == (
        d("2026-11-30"),
        d("2026-11-24"),
        d("2026-12-14"),
    )
    assert c.start == utc("2026-11-30T09:00") and c.end == utc("2026-11-30T09:30")
    assert c.title == "Check-in: ACME Ltd"
    assert not c.forced


def test_saturday_ideal_moves_to_friday_the_nearer_day():
    c, *_ = of(run([customer(last_contact=d("2026-11-07"))]))  # ideal Sat 2026-12-05
    assert c.ideal == d("2026-12-05")
    assert c.day == d("2026-12-04")
    assert any("sat is not a working day" in r for r in c.reasons)


def test_sunday_ideal_moves_to_monday_the_nearer_day():
    c, *_ = of(run([customer(last_contact=d("2026-11-08"))]))  # ideal Sun 2026-12-06
    assert c.day == d("2026-12-07")


def test_holiday_between_two_equally_near_days_goes_to_the_earlier_one():
    pt = Salesperson(email=ANA.email, timezone="Europe/Lisbon", country="PT")
    # Ideal Tuesday 2026-12-08 is Immaculate Conception in Portugal: Mon 7 and Wed 9 are both
    # one day away.
    c, *_ = of(
        run(
            [customer(country="PT", timezone="Europe/Lisbon", last_contact=d("2026-11-10"))],
            people=[pt],
        )
    )
    assert c.ideal == d("2026-12-08")
    assert c.day == d("2026-12-07")
    assert any("public holiday" in r and "Immaculate Conception" in r for r in c.reasons)


def test_equally_near_days_go_to_the_lighter_day():
    pt = Salesperson(email=ANA.email, timezone="Europe/Lisbon", country="PT")
    first = customer("c1", country="PT", timezone="Europe/Lisbon", last_contact=d("2026-11-10"))
    second = customer("c2", country="PT", timezone="Europe/Lisbon", last_contact=d("2026-11-10"))
    result = run([first, second], people=[pt])
    assert of(result, "c1")[0].day == d("2026-12-07")
    assert of(result, "c2")[0].day == d("2026-12-09")  # Monday already has one


def test_holiday_on_the_customer_side_only_moves_the_meeting():
    # Ana (GB) works on 8 December; the Portuguese customer does not.
    c, *_ = of(
        run([customer(country="PT", timezone="Europe/Lisbon", last_contact=d("2026-11-10"))])
    )
    assert c.day == d("2026-12-07")
    assert any(
        "public holiday: Immaculate Conception in PT, the customer's side" in r for r in c.reasons
    )


def test_holiday_on_the_salesperson_side_only_moves_the_meeting():
    pt = Salesperson(email=ANA.email, timezone="Europe/Lisbon", country="PT")
    # The British customer works on 8 December; Ana in Portugal does not.
    c, *_ = of(run([customer(last_contact=d("2026-11-10"))], people=[pt]))
    assert c.day == d("2026-12-07")
    assert any(
        f"public holiday: Immaculate Conception in PT, the salesperson's side ({ANA.email})" in r
        for r in c.reasons
    )


def test_saudi_customer_weekend_is_friday_and_saturday():
    # Ideal Friday 2026-12-04: a working day for Ana, the weekend in Riyadh. Thursday it is.
    c1 = customer(country="SA", timezone="Asia/Riyadh", last_contact=d("2026-11-06"))
    c, *_ = of(run([c1]))
    assert c.ideal == d("2026-12-04")
    assert c.day == d("2026-12-03")
    assert any(
        "fri is the customer's weekend (Fri 4 Dec in Asia/Riyadh)" in r for r in c.reasons
    ), c.reasons


def test_policy_can_override_a_country_weekend():
    c1 = customer(country="SA", timezone="Asia/Riyadh", last_contact=d("2026-11-06"))
    pol = policies(weekends={"SA": frozenset({5, 6})})
    c, *_ = of(run([c1], pol=pol))
    assert c.day == d("2026-12-04")


# ---- rule 2: busy seasons -------------------------------------------------------------------


def test_season_across_new_year_forces_the_first_day_after_it_and_reports_the_gap():
    # Window 2026-11-24..2026-12-22 lies wholly in retail's "Nov 15 - Jan 5".
    c, *_ = of(run([customer(industry="retail", last_contact=d("2026-11-10"))]))
    assert c.day == d("2027-01-06")
    assert c.forced
    assert any("busy season Nov 15 - Jan 5" in r for r in c.reasons)
    assert any("forced gap: 57 days since 2026-11-10" in r for r in c.reasons)


def test_checkin_moves_before_busy_season_when_the_next_window_falls_inside_it():
    # Accounting's season "Jan 15 - Apr 30" is longer than max_gap. The check-in due on
    # 2027-01-05 would leave the next window (Jan 19..Feb 16) inside the season, so it moves
    # to the last allowed day before the season: Thursday 14 January... then after the season.
    now = utc("2026-12-10T08:00")
    result = run(
        [customer(industry="accounting", last_contact=d("2026-12-08"))], now=now, forecast_days=200
    )
    first, second = of(result)[:2]
    assert first.ideal == d("2027-01-05")
    assert first.day == d("2027-01-14")
    assert any("pre-season check-in" in r for r in first.reasons)
    assert not first.forced
    # 30 April is a Friday; Monday 3 May 2027 is the Early May bank holiday in GB.
    assert second.day == d("2027-05-04")
    assert second.forced
    assert not second.within_horizon


def test_customer_own_busy_season_adds_to_industry_seasons():
    c1 = customer(industry="retail", busy_seasons=("Jan 6 - Jan 20",), last_contact=d("2026-11-10"))
    c, *_ = of(run([c1]))
    assert c.day == d("2027-01-21")


def test_one_off_season_blocks_only_its_year():
    c1 = customer(busy_seasons=("2026-11-30 to 2026-12-02",), last_contact=d("2026-11-02"))
    c, *_ = of(run([c1]))  # ideal Mon 30 Nov; Fri 27 Nov is 3 days away, Thu 3 Dec 3 days away
    assert c.day == d("2026-11-27")


# ---- rule 4: slots, hours, zones, DST ----------------------------------------------------------


def test_busy_event_pushes_the_slot_past_it():
    busy = {ANA.email: [BusyInterval(utc("2026-11-30T09:00"), utc("2026-11-30T10:10"))]}
    c, *_ = of(run([customer(last_contact=d("2026-11-02"))], busy=busy, pol=policies(buffer=0)))
    assert c.start == utc("2026-11-30T16:30")  # the farthest from it: the end of the day
    two = {ANA.email: [BusyInterval(utc("2026-11-30T09:00"), utc("2026-11-30T10:10"))] * 1}
    two[ANA.email].append(BusyInterval(utc("2026-11-30T10:45"), utc("2026-11-30T17:00")))
    c, *_ = of(run([customer(last_contact=d("2026-11-02"))], busy=two, pol=policies(buffer=0)))
    assert c.start == utc("2026-11-30T10:15")  # the one free half hour, past the event


def test_day_without_a_free_slot_goes_to_the_next_best_day():
    busy = {ANA.email: [BusyInterval(utc("2026-11-30T09:00"), utc("2026-11-30T16:45"))]}
    c, *_ = of(run([customer(last_contact=d("2026-11-02"))], busy=busy))
    assert c.day == d("2026-12-01")  # Tuesday is one day away; Friday 27th is three
    assert c.start == utc("2026-12-01T09:00")
    assert any("no free 30-minute slot" in r for r in c.reasons)


def test_out_of_office_all_day_event_blocks_the_day():
    ooo = BusyInterval(utc("2026-11-30T00:00"), utc("2026-12-01T00:00"), all_day=True)
    c, *_ = of(run([customer(last_contact=d("2026-11-02"))], busy={ANA.email: [ooo]}))
    assert c.day == d("2026-12-01")
    assert any("out of office" in r for r in c.reasons)


def test_customer_ten_hours_ahead_gets_the_one_overlapping_hour():
    # Emily in Los Angeles (UTC-8) and a Tokyo customer (UTC+9), both 09:00-17:00: the only
    # overlap is 16:00-17:00 in LA = 09:00-10:00 the next morning in Tokyo.
    emily = Salesperson(email="emily@example.com", timezone="America/Los_Angeles", country="US")
    seg = segment(customer_hours="09:00-17:00")
    c1 = customer(
        owner=emily.email, country="JP", timezone="Asia/Tokyo", last_contact=d("2026-11-02")
    )
    c, *_ = of(run([c1], people=[emily], pol=policies(seg)))
    # Ideal Mon 30 Nov (LA): 16:00 LA = Tue 1 Dec 09:00 Tokyo, a working day there.
    assert c.day == d("2026-11-30")
    assert c.start == utc("2026-12-01T00:00")
    assert c.end == utc("2026-12-01T00:30")


def test_far_zone_customer_weekend_is_judged_on_the_customer_date():
    emily = Salesperson(email="emily@example.com", timezone="America/Los_Angeles", country="US")
    seg = segment(customer_hours="09:00-17:00")
    # Ideal Fri 4 Dec in LA = Sat 5 Dec in Tokyo: not allowed. Thursday 3 Dec (LA) it is.
    c1 = customer(
        owner=emily.email, country="JP", timezone="Asia/Tokyo", last_contact=d("2026-11-06")
    )
    c, *_ = of(run([c1], people=[emily], pol=policies(seg)))
    assert c.day == d("2026-12-03")
    assert c.start == utc("2026-12-04T00:00")


def test_hours_that_never_overlap_are_reported_not_booked():
    seg = segment(customer_hours="09:00-17:00")
    c1 = customer(country="JP", timezone="Asia/Tokyo", last_contact=d("2026-11-02"))
    result = run([c1], pol=policies(seg))
    assert of(result) == []
    assert any("never overlap" in m for m in result.notes["c1"].messages)


def test_europe_spring_forward_keeps_local_nine_oclock():
    # Clocks go forward in London on Sunday 2027-03-28: 09:00 is 09:00 UTC before, 08:00 after.
    # (Friday 26 March 2027 is Good Friday, so "before" is the Wednesday.)
    before = of(run([customer(last_contact=d("2027-02-24"))], now=utc("2027-03-10T08:00")))[0]
    after = of(run([customer(last_contact=d("2027-03-01"))], now=utc("2027-03-10T08:00")))[0]
    assert (before.day, before.start) == (d("2027-03-24"), utc("2027-03-24T09:00"))
    assert (after.day, after.start) == (d("2027-03-29"), utc("2027-03-29T08:00"))


def test_europe_fall_back_keeps_local_nine_oclock():
    # Clocks go back in London on Sunday 2027-10-31.
    before = of(run([customer(last_contact=d("2027-10-01"))], now=utc("2027-10-15T08:00")))[0]
    after = of(run([customer(last_contact=d("2027-10-04"))], now=utc("2027-10-15T08:00")))[0]
    assert (before.day, before.start) == (d("2027-10-29"), utc("2027-10-29T08:00"))
    assert (after.day, after.start) == (d("2027-11-01"), utc("2027-11-01T09:00"))


def test_us_and_europe_changing_clocks_on_different_dates():
    # A New York customer (09:00-17:00) and Ana in London. The US springs forward on 2027-03-14,
    # Europe on 2027-03-28: for those two weeks New York is 4 hours behind London, not 5.
    seg = segment(customer_hours="09:00-17:00")
    ny = dict(country="US", timezone="America/New_York")
    now = utc("2027-02-20T08:00")
    winter = of(run([customer(last_contact=d("2027-02-10"), **ny)], pol=policies(seg), now=now))[0]
    between = of(run([customer(last_contact=d("2027-02-17"), **ny)], pol=policies(seg), now=now))[0]
    summer = of(run([customer(last_contact=d("2027-03-03"), **ny)], pol=policies(seg), now=now))[0]
    assert (winter.day, winter.start) == (d("2027-03-10"), utc("2027-03-10T14:00"))
    assert (between.day, between.start) == (d("2027-03-17"), utc("2027-03-17T13:00"))
    assert (summer.day, summer.start) == (d("2027-03-31"), utc("2027-03-31T13:00"))


def test_us_fall_back_for_a_salesperson_in_new_york():
    ben = Salesperson(
        email="ben@example.com",
        timezone="America/New_York",
        country="US",
        working_hours=WorkingHours.parse("08:30-16:30"),
    )
    us = dict(owner=ben.email, country="US", timezone="America/New_York")
    now = utc("2027-10-20T08:00")
    before = of(run([customer(last_contact=d("2027-10-08"), **us)], people=[ben], now=now))[0]
    after = of(run([customer(last_contact=d("2027-10-11"), **us)], people=[ben], now=now))[0]
    assert (before.day, before.start) == (d("2027-11-05"), utc("2027-11-05T12:30"))
    assert (after.day, after.start) == (d("2027-11-08"), utc("2027-11-08T13:30"))


# ---- rule 5: capacity and urgency ------------------------------------------------------------


def test_capacity_is_shared_and_the_most_urgent_customer_is_placed_first():
    pol = policies(per_day=1)
    calm = customer("a", last_contact=d("2026-11-02"))  # window ends 2026-12-14
    urgent = customer("b", last_contact=d("2026-11-02"), segment="fast")
    fast = segment(name="fast", max_gap="4 weeks")  # window ends 2026-11-30
    pol.segments["fast"] = fast
    result = run([calm, urgent], pol=pol, horizon_days=14)
    assert [c.day for c in of(result, "b")] == [d("2026-11-30")]
    assert [c.day for c in of(result, "a")] == [d("2026-12-01")]


def test_weekly_capacity_spills_into_the_next_week():
    pol = policies(per_day=6, per_week=2)
    cs = [customer(f"c{i}", last_contact=d("2026-11-02")) for i in range(3)]
    result = run(cs, pol=pol, horizon_days=14)
    # Two fit the week of Monday 30 November, one a day (the even load of three customers on
    # a four-week rhythm is one a day); the third spills into the week before: Friday 27
    # November.
    assert sorted(c.day for c in result.contacts) == [
        d("2026-11-27"),
        d("2026-11-30"),
        d("2026-12-01"),
    ]


def test_salesperson_capacity_overrides_the_policy():
    small = Salesperson(email=ANA.email, timezone="Europe/London", country="GB", per_day=1)
    cs = [customer(f"c{i}", last_contact=d("2026-11-02")) for i in range(2)]
    result = run(cs, people=[small], horizon_days=14)
    assert sorted(c.day for c in result.contacts) == [d("2026-11-30"), d("2026-12-01")]


# ---- rule 6: anniversaries -------------------------------------------------------------------


def test_milestone_anniversary_merges_with_the_regular_checkin():
    # Regular ideal 2026-11-30 is within min_gap of the 5th anniversary on 2026-12-10.
    c1 = customer(customer_since=d("2021-12-10"), last_contact=d("2026-11-02"))
    result = run([c1], pol=policies(segment(anniversary="yearly")))
    kinds = [(c.kind.value, c.day, c.title) for c in of(result)]
    assert kinds == [
        ("anniversary_reminder", d("2026-12-10"), "Anniversary: ACME Ltd (5 years)"),
        ("anniversary", d("2026-12-10"), "Anniversary check-in: 5 years with ACME Ltd"),
        ("check_in", d("2027-01-07"), "Check-in: ACME Ltd"),
        ("check_in", d("2027-02-04"), "Check-in: ACME Ltd"),
    ]
    reminder = of(result, kind="anniversary_reminder")[0]
    assert reminder.all_day and (reminder.start, reminder.end) == (d("2026-12-10"), d("2026-12-11"))


def test_ordinary_anniversary_title_has_no_milestone():
    c1 = customer(customer_since=d("2023-12-10"), last_contact=d("2026-11-02"))
    result = run([c1], pol=policies(segment(anniversary="yearly")))
    assert of(result, kind="anniversary")[0].title == "Anniversary check-in: ACME Ltd"
    assert of(result, kind="anniversary_reminder")[0].title == "Anniversary: ACME Ltd (3 years)"


def test_29_february_anniversary_falls_on_28_february_in_common_years():
    c1 = customer(customer_since=d("2024-02-29"), last_contact=d("2027-01-20"))
    result = run([c1], pol=policies(segment(anniversary="yearly")), now=utc("2027-02-10T08:00"))
    reminder = of(result, kind="anniversary_reminder")[0]
    meeting = of(result, kind="anniversary")[0]
    assert reminder.day == d("2027-02-28")  # a Sunday
    assert meeting.day == d("2027-03-01")  # nearest working day (Monday beats Friday)


def test_29_february_anniversary_in_a_leap_year():
    c1 = customer(customer_since=d("2024-02-29"), last_contact=d("2028-01-25"))
    result = run([c1], pol=policies(segment(anniversary="yearly")), now=utc("2028-02-15T08:00"))
    assert of(result, kind="anniversary_reminder")[0].day == d("2028-02-29")
    assert of(result, kind="anniversary")[0].day == d("2028-02-29")


def test_half_yearly_anniversaries():
    c1 = customer(customer_since=d("2025-06-10"), last_contact=d("2026-11-20"))
    result = run([c1], pol=policies(segment(anniversary="half-yearly")))
    assert [(c.day, c.title) for c in of(result, kind="anniversary_reminder")] == [
        (d("2026-12-10"), "Anniversary: ACME Ltd (1.5 years)")
    ]


def test_anniversary_checkin_skipped_when_just_contacted_but_reminder_stays():
    # The anniversary (Thursday 26 November) check-in window ends 3 December, before min_gap
    # after the contact of 20 November has passed (4 December).
    c1 = customer(customer_since=d("2020-11-26"), last_contact=d("2026-11-20"))
    result = run([c1], pol=policies(segment(anniversary="yearly")))
    assert [c.kind.value for c in of(result)][:2] == ["anniversary_reminder", "check_in"]
    assert of(result, kind="anniversary") == []
    assert any("skipped" in m for m in result.notes["c1"].messages)


# ---- rule 7: onboarding -----------------------------------------------------------------------


def test_onboarding_steps_then_the_rhythm_from_the_last_step():
    seg = segment(onboarding=tuple(Duration.parse(s) for s in ("1 week", "1 month", "2 months")))
    c1 = customer(customer_since=d("2026-11-20"))
    result = run([c1], pol=policies(seg))
    assert [(c.kind.value, c.day) for c in of(result)] == [
        ("onboarding", d("2026-11-27")),
        ("onboarding", d("2026-12-21")),  # 20 Dec is a Sunday
        ("onboarding", d("2027-01-20")),
        ("check_in", d("2027-02-17")),
    ]
    assert of(result)[0].title == "Onboarding check-in: ACME Ltd (1 of 3)"


def test_onboarding_step_already_done_by_a_contact_is_skipped():
    seg = segment(onboarding=(Duration.parse("1 week"), Duration.parse("1 month")))
    c1 = customer(customer_since=d("2026-11-10"))
    result = run([c1], pol=policies(seg), contacts=[contact("c1", "2026-11-18T10:00")])
    assert [(c.kind.value, c.day) for c in of(result)][:2] == [
        ("onboarding", d("2026-12-10")),
        ("check_in", d("2027-01-07")),
    ]


# ---- rule 8: win-back and do-not-contact -------------------------------------------------------


def test_winback_first_call_within_two_business_days_outranks_capacity():
    pol = policies(per_day=1)
    booked = customer("a", last_contact=d("2026-10-27"))  # already booked on Tue 24 Nov
    existing = Booking(
        "a:check_in:2026-10-27.0",
        "a",
        ANA.email,
        BookingKind.CHECK_IN,
        utc("2026-11-24T09:00"),
        utc("2026-11-24T09:30"),
    )
    gone = customer("b", status=CustomerStatus.CANCELLED, cancelled_on=d("2026-11-20"))
    result = run([booked, gone], pol=pol, bookings=[existing])
    call, *_ = of(result, "b")
    assert call.kind is BookingKind.WINBACK and call.title == "Win-back call: ACME Ltd"
    assert call.day == d("2026-11-24") and call.window_end == d("2026-11-24")
    assert call.over_capacity
    assert any("outranks capacity" in r for r in call.reasons)
    assert of(result, "a")[0].start == utc("2026-11-24T09:00")
    # As far from the other meeting as the day allows (meetings spread over the day).
    assert call.start == utc("2026-11-24T16:30")


def test_winback_calls_every_three_months_then_stop_after_a_year():
    gone = customer(status=CustomerStatus.CANCELLED, cancelled_on=d("2026-03-02"))
    calls = [
        contact("c1", t, kind=k)
        for t, k in [
            ("2026-03-03T10:00", "call"),
            ("2026-06-05T10:00", "call"),
            ("2026-09-04T10:00", "call"),
        ]
    ]
    result = run([gone], contacts=calls, forecast_days=365)
    assert [(c.kind.value, c.day) for c in of(result)] == [("winback", d("2026-12-04"))]
    assert any("win-back track ends on 2027-03-02" in m for m in result.notes["c1"].messages)


def test_winback_track_has_ended():
    gone = customer(status=CustomerStatus.CANCELLED, cancelled_on=d("2025-06-01"))
    result = run([gone])
    assert of(result) == []


def test_do_not_contact_gets_nothing():
    result = run([customer(status=CustomerStatus.DO_NOT_CONTACT, last_contact=d("2026-06-01"))])
    assert of(result) == []
    assert "do not contact" in result.notes["c1"].messages[0]


# ---- rule 9: horizon --------------------------------------------------------------------------


def test_horizon_books_only_what_falls_inside_and_forecast_shows_the_rest():
    c1 = customer(last_contact=d("2026-11-02"))
    booked = run([c1])
    forecast = run([c1], forecast_days=365)
    # Monday 28 December 2026 is the Boxing Day substitute holiday in GB.
    assert [c.day for c in booked.contacts] == [d("2026-11-30"), d("2026-12-29"), d("2027-01-26")]
    horizon_end = NOW.date() + timedelta(days=90)
    assert all(c.day <= horizon_end for c in booked.contacts)
    assert [c.day for c in forecast.booked()] == [c.day for c in booked.contacts]
    assert len(forecast.contacts) >= 12
    assert all(not c.within_horizon for c in forecast.contacts if c.day > horizon_end)


# ---- contacts, never contacted, overdue -------------------------------------------------------


def test_a_recent_meeting_resets_the_rhythm():
    c1 = customer(last_contact=d("2026-10-01"))
    result = run([c1], contacts=[contact("c1", "2026-11-16T10:00")])
    assert of(result)[0].ideal == d("2026-12-14")


def test_kinds_that_do_not_count_do_not_reset_the_rhythm():
    c1 = customer(last_contact=d("2026-11-02"))
    result = run([c1], contacts=[contact("c1", "2026-11-16T10:00", kind="email_in")])
    assert of(result)[0].ideal == d("2026-11-30")


def test_never_contacted_customer_is_due_from_tomorrow():
    [first, *_] = of(run([customer()]))
    assert (first.ideal, first.day) == (d("2026-11-24"), d("2026-11-24"))
    assert "never contacted" in first.reasons


def test_overdue_customer_is_booked_at_once_and_marked_forced():
    [first, *_] = of(run([customer(last_contact=d("2026-09-01"))]))
    assert first.day == d("2026-11-24")
    assert first.forced
    assert any(r.startswith("overdue") for r in first.reasons)


def test_unknown_owner_gets_default_working_hours_and_a_note():
    c1 = customer(owner="zoe@example.com", last_contact=d("2026-11-02"))
    result = run([c1])
    assert of(result)[0].start == utc("2026-11-30T09:00")
    assert any("not in cadence.toml" in m for m in result.notes["c1"].messages)


def test_winback_policy_first_within_is_configurable():
    pol = policies(winback=WinbackPolicy(first_within=Duration.parse("5 business days")))
    gone = customer(status=CustomerStatus.CANCELLED, cancelled_on=d("2026-11-20"))
    call, *_ = of(run([gone], pol=pol))
    assert call.window_end == d("2026-11-27")
    assert call.status is PlanStatus.PLANNED


def test_a_first_anniversary_reason_says_one_year():
    c1 = customer(customer_since=d("2025-12-10"), last_contact=d("2026-11-20"))
    result = run([c1], pol=policies(segment(anniversary="yearly")))
    [checkin] = of(result, kind="anniversary")
    assert checkin.reasons[0] == "anniversary on 2026-12-10 (1 year)"  # never "(1 years)"


def test_a_move_names_every_cause_between_the_ideal_day_and_the_day_chosen():
    # Ideal Saturday 5 December; Monday 7 and Tuesday 8 are full: the move says all three.
    from cadence.planner.moves import why_not_before

    skipped = {
        d("2026-12-05").toordinal(): "sat is not a working day for ana@example.com",
        d("2026-12-06").toordinal(): "sun is not a working day for ana@example.com",
        d("2026-12-07").toordinal(): "ana@example.com already has 6 cadence bookings that day",
        d("2026-12-08").toordinal(): "ana@example.com already has 6 cadence bookings that day",
    }
    assert why_not_before(skipped, d("2026-12-05"), d("2026-12-09")) == (
        "Sat 5 Dec: sat is not a working day for ana@example.com; "
        "Sun 6 Dec: sun is not a working day for ana@example.com; "
        "Mon 7 Dec, Tue 8 Dec: ana@example.com already has 6 cadence bookings that day"
    )
    assert why_not_before(skipped, d("2026-12-05"), d("2026-12-06")) == (
        "sat is not a working day for ana@example.com"
    )
