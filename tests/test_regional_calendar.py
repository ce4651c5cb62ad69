"""Regional holidays (ISO 3166-2 subdivisions) and closure days, in the planner and the loaders.

Dates: Easter Monday 2027 is 29 March (a holiday in England and Wales, not in Scotland, and not
UK-wide); Good Friday 26 March is UK-wide. Corpus Christi 2027 is Thursday 27 May (Bavaria, not
Berlin).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import holidays
import pytest
from typer.testing import CliRunner

from cadence.app.check_config import check_salespeople
from cadence.app.check_customers import check_customers
from cadence.app.cli import app
from cadence.inputs.config import load_config
from cadence.inputs.customers import read_customers
from cadence.inputs.policy_load import load_policies
from cadence.values.dates import DateReader
from cadence.values.daycal import (
    canonical_region,
    country_codes,
    holiday_name,
    regional_subdivisions,
    subdivision_warning,
)
from cadence.values.errors import UserError, ValueParseError
from cadence.values.model import BookingKind, Salesperson
from cadence.values.seasons import parse_season
from tests.planning import ANA, contact, customer, d, of, policies, run
from tests.workspace_kit import SALESPEOPLE, customer_row, write_workspace

SPRING = datetime(2027, 3, 8, 8, 0, tzinfo=UTC)  # a Monday
MAY = datetime(2027, 4, 26, 8, 0, tzinfo=UTC)  # a Monday


# ---- codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("GB-ENG", "GB-ENG"),
        ("gb-sct", "GB-SCT"),
        ("GB-WLS", "GB-WLS"),
        ("GB-NIR", "GB-NIR"),
        ("US-CA", "US-CA"),
        ("DE-BY", "DE-BY"),
        ("AU-NSW", "AU-NSW"),
        ("CA-ON", "CA-ON"),
        ("CH-ZH", "CH-ZH"),
        ("IN-MH", "IN-MH"),
        ("FR-6AE", "FR-6AE"),
        (" pt ", "PT"),
    ],
)
def test_iso_3166_2_codes_map_to_the_holidays_packages_subdivisions(text, code):
    assert canonical_region(text) == code


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GB-XX", "unknown subdivision 'GB-XX' of GB: use one of GB-ENG, GB-NIR, GB-SCT, GB-WLS"),
        ("GB-England", "cannot read country 'GB-England' (did you mean 'GB-ENG'?)"),
        ("JP-13", "unknown subdivision 'JP-13': the holidays package has no regional holidays "
         "for JP; use 'JP'"),
        ("XX", "unknown country code 'XX'"),
        ("Portugal", "cannot read country 'Portugal'"),
    ],
)  # fmt: skip
def test_a_code_the_holidays_package_does_not_know_is_refused_saying_why(text, message):
    with pytest.raises(ValueParseError) as caught:
        canonical_region(text)
    assert str(caught.value).startswith(message)


def test_the_registry_knows_exactly_the_countries_the_holidays_package_builds():
    """country_codes() (read from the registry) accepts what country_holidays() accepts."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    for code in (a + b for a in letters for b in letters):
        try:
            holidays.country_holidays(code)
            built = True
        except (NotImplementedError, KeyError, AttributeError):
            built = False
        assert (code in country_codes()) == built, code


def test_subdivision_holidays_add_to_the_nationwide_ones():
    easter_monday = d("2027-03-29")
    assert holiday_name("GB", easter_monday) is None
    assert holiday_name("GB-ENG", easter_monday) == "Easter Monday"
    assert holiday_name("GB-WLS", easter_monday) == "Easter Monday"
    assert holiday_name("GB-SCT", easter_monday) is None
    assert holiday_name("GB-SCT", d("2027-01-04")) is not None  # Scotland's 2 January, moved
    assert holiday_name("DE-BY", d("2027-05-27")) == "Corpus Christi"
    assert holiday_name("DE-BE", d("2027-05-27")) is None


def test_countries_whose_holidays_depend_on_the_subdivision_are_named_with_their_codes():
    assert regional_subdivisions("GB") == ("GB-ENG", "GB-NIR", "GB-SCT", "GB-WLS")
    assert "DE-BY" in regional_subdivisions("DE") and "US-CA" in regional_subdivisions("US")
    assert regional_subdivisions("JP") == ()
    assert subdivision_warning("GB") == (
        "public holidays in GB differ by subdivision, and 'GB' alone gets only the nationwide "
        "ones: give the ISO 3166-2 code, one of GB-ENG, GB-NIR, GB-SCT, GB-WLS"
    )
    assert subdivision_warning("GB-ENG") is None
    assert subdivision_warning("JP") is None


# ---- planning: holidays on each side ------------------------------------------------------------


def _spring_customer(country: str):
    # Ideal Monday 29 March 2027 (last contact 1 March, every 4 weeks).
    return customer(country=country, last_contact=d("2027-03-01"))


def test_easter_monday_in_england_moves_the_checkin_and_says_which_side():
    c, *_ = of(run([_spring_customer("GB-ENG")], now=SPRING))
    assert (c.ideal, c.day) == (d("2027-03-29"), d("2027-03-30"))
    assert "public holiday: Easter Monday in GB-ENG, the customer's side" in " ".join(c.reasons)


@pytest.mark.parametrize("country", ["GB", "GB-SCT"])
def test_easter_monday_is_a_working_day_uk_wide_and_in_scotland(country):
    c, *_ = of(run([_spring_customer(country)], now=SPRING))
    assert c.day == d("2027-03-29")


def test_corpus_christi_in_bavaria_moves_the_checkin_on_the_salespersons_side():
    ana = replace(ANA, timezone="Europe/Berlin", country="DE-BY")
    berlin = customer(country="DE-BE", timezone="Europe/Berlin", last_contact=d("2027-04-29"))
    c, *_ = of(run([berlin], people=[ana], now=MAY))
    assert (c.ideal, c.day) == (d("2027-05-27"), d("2027-05-26"))
    assert (
        f"public holiday: Corpus Christi in DE-BY, the salesperson's side ({ANA.email})"
        in " ".join(c.reasons)
    )


def test_a_policy_weekend_for_a_country_applies_to_its_subdivisions():
    # A (made-up) Sunday-Monday weekend for GB: an English customer's ideal Monday moves.
    pol = policies(weekends={"GB": frozenset({6, 0})})
    c, *_ = of(run([customer(country="GB-ENG", last_contact=d("2026-11-09"))], pol=pol))
    assert c.ideal == d("2026-12-07")
    assert c.day != d("2026-12-07")
    assert "mon is the customer's weekend" in " ".join(c.reasons)


# ---- planning: closures -----------------------------------------------------------------------


def test_company_closure_moves_the_checkin_and_the_reason_says_so():
    pol = policies(closures=(parse_season("Dec 24 - Jan 1"),))
    # Ideal Monday 28 December: Wednesday 23rd is 5 days away, Monday 4 January 7.
    c, *_ = of(run([customer(last_contact=d("2026-11-30"))], pol=pol))
    assert (c.ideal, c.day) == (d("2026-12-28"), d("2026-12-23"))
    assert f"company closure (Dec 24 - Jan 1), the salesperson's side ({ANA.email})" in " ".join(
        c.reasons
    )


def test_a_salespersons_own_one_off_closure_moves_only_their_bookings():
    ana = replace(ANA, closures=("2026-12-07 - 2026-12-11",))
    ben = Salesperson(email="ben@example.com", timezone="Europe/London", country="GB")
    # Ideal Wednesday 9 December: Friday 4th and Monday 14th are equally near: the earlier.
    anas = customer("a", last_contact=d("2026-11-11"))
    bens = customer("b", owner=ben.email, last_contact=d("2026-11-11"))
    result = run([anas, bens], people=[ana, ben])
    a, *_ = of(result, "a")
    b, *_ = of(result, "b")
    assert (a.ideal, a.day) == (d("2026-12-09"), d("2026-12-04"))
    assert f"closure of {ANA.email} (2026-12-07 - 2026-12-11), the salesperson's side" in (
        " ".join(a.reasons)
    )
    assert b.day == d("2026-12-09")


def test_nothing_is_booked_on_a_closure_day_whatever_the_ideal():
    closure = parse_season("Dec 14 - Jan 8")
    pol = policies(closures=(closure,), per_day=2, per_week=8)
    last = [d("2026-11-02"), d("2026-11-09"), d("2026-11-16"), d("2026-11-20"), d("2026-11-25")]
    customers = [
        customer(f"c{i}", last_contact=day, customer_since=d("2019-12-20"))
        for i, day in enumerate(last * 4)
    ]
    pol = replace(pol, defaults=replace(pol.defaults, anniversary="yearly"))
    pol = replace(pol, segments={"strategic": pol.defaults})
    result = run(customers, pol=pol, contacts=[contact("c0", "2026-11-20T10:00")])
    meetings = [c for c in result.contacts if c.kind is not BookingKind.ANNIVERSARY_REMINDER]
    assert len(meetings) >= 20
    assert [c.key for c in meetings if closure.contains(c.day)] == []


# ---- loading ----------------------------------------------------------------------------------


def _policy_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "defaults.toml").write_text('[defaults]\ntimezone = "Europe/London"\n')
    (folder / "closures.toml").write_text(text)
    return folder


def test_closures_in_the_policy_are_read_like_seasons(tmp_path):
    folder = _policy_folder(
        tmp_path,
        '[closures]\ndates = ["Dec 24 - Jan 1", "2027-05-10 - 2027-05-12", "Aug 15"]\n',
    )
    policies_, problems = load_policies(folder, DateReader())
    assert problems == [] and policies_ is not None
    assert [s.text for s in policies_.closures] == [
        "Dec 24 - Jan 1",
        "2027-05-10 - 2027-05-12",
        "Aug 15",
    ]


def test_bad_closures_are_reported_with_file_line_table_and_key(tmp_path):
    folder = _policy_folder(
        tmp_path, '[closures]\ndates = ["Dec 24 - Jan 1", "Dec 45"]\ndays = ["May 1"]\n'
    )
    policies_, problems = load_policies(folder, DateReader())
    assert policies_ is None
    path = folder / "closures.toml"
    assert [str(p) for p in problems] == [
        f"{path}:2: [closures] dates: cannot read closure 'Dec 45': cannot read date 'Dec 45': "
        "no such day in that month",
        f"{path}:3: [closures] days: unknown key; did you mean 'dates'? (allowed: dates)",
    ]


def test_closures_that_leave_no_day_free_are_refused(tmp_path):
    folder = _policy_folder(tmp_path, '[closures]\ndates = ["Jan 1 - Jun 30", "Jul 1 - Dec 31"]\n')
    policies_, problems = load_policies(folder, DateReader())
    assert policies_ is None
    assert [p.message for p in problems] == [
        "closures 'Jan 1 - Jun 30', 'Jul 1 - Dec 31' together leave no day free in some year: "
        "nothing could ever be booked"
    ]


def _config(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "cadence.toml"
    path.write_text(
        'languages = ["en", "es"]\n\n[[salesperson]]\nemail = "ana@example.com"\n' + entry
    )
    return path


def test_salesperson_country_and_closures_in_cadence_toml(tmp_path):
    path = _config(tmp_path, 'country = "gb-eng"\nclosures = ["Aug 1 - Aug 14", "24 diciembre"]\n')
    [ana] = load_config(path).salespeople
    assert ana.country == "GB-ENG"
    assert ana.closures == ("Aug 1 - Aug 14", "24 diciembre")


def test_salesperson_bad_country_and_closures_are_located(tmp_path):
    path = _config(tmp_path, 'country = "GB-XX"\nclosures = ["someday"]\n')
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path.resolve()}:5: [[salesperson]] country: unknown subdivision 'GB-XX' of GB: use "
        "one of GB-ENG, GB-NIR, GB-SCT, GB-WLS",
        f"{path.resolve()}:6: [[salesperson]] closures: cannot read closure 'someday': "
        "cannot read date 'someday'",
    ]


def test_customer_file_takes_subdivision_codes_and_refuses_unknown_ones(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,name,owner,country\n"
        "C1,One,ana@example.com,gb-eng\n"
        "C2,Two,ana@example.com,US-CA\n"
        "C3,Three,ana@example.com,GB-XX\n"
    )
    result = read_customers(path, DateReader())
    assert [(c.id, c.country) for c in result.customers] == [("C1", "GB-ENG"), ("C2", "US-CA")]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (4, "country: unknown subdivision 'GB-XX' of GB: use one of GB-ENG, GB-NIR, GB-SCT, GB-WLS")
    ]


# ---- cadence check ------------------------------------------------------------------------------


def test_check_warns_about_a_plain_country_code_where_holidays_are_regional(tmp_path):
    path = _config(tmp_path, 'country = "GB"\n\n[[salesperson]]\nemail = "ben@example.com"\n')
    (tmp_path / "cadence.toml").write_text(
        path.read_text() + 'country = "GB-SCT"\nclosures = ["Jan 1 - Dec 30"]\n'
    )
    config = load_config(path)
    pol = replace(policies(), closures=(parse_season("Dec 31"),))
    problems = check_salespeople(config, pol)
    assert [(p.severity, p.line, p.key, p.message) for p in problems] == [
        ("warning", 5, "country", subdivision_warning("GB")),
        (
            "error",
            10,
            "closures",
            "ben@example.com's closures with the company's [closures] leave no day free in "
            "some year: nothing could ever be booked for them",
        ),
    ]


def test_check_names_a_plain_customer_country_where_holidays_are_regional(tmp_path):
    config = load_config(_config(tmp_path, 'country = "GB-ENG"\n'))
    customers = [customer("a", country="GB"), customer("b", country="GB"), customer("c")]
    problems = check_customers(customers, policies(), config)
    assert [(p.severity, p.key, p.message) for p in problems] == [
        ("warning", "country", f"country 'GB' of 3 customers: {subdivision_warning('GB')}")
    ]


def test_the_example_salespeople_name_their_subdivisions():
    config = load_config(Path(__file__).resolve().parent.parent / "cadence.toml")
    policies_, _ = load_policies(config.policies, config.date_reader())
    assert check_salespeople(config, policies_) == []
    assert [s.text for s in policies_.closures] == ["Dec 24 - Dec 26", "Dec 31"]


# ---- the command line ---------------------------------------------------------------------------


def test_explain_names_the_holiday_and_the_side_and_check_names_the_codes(tmp_path):
    scottish = [{**SALESPEOPLE[0], "country": "GB-SCT"}, {**SALESPEOPLE[1], "country": "GB"}]
    rows = [customer_row("C1", country="GB-ENG", last_contact="2027-03-01")]
    config = write_workspace(tmp_path, rows, salespeople=scottish)
    now = ["--config", str(config), "--now", SPRING.isoformat()]
    imported = CliRunner().invoke(app, ["import", str(tmp_path / "customers.csv"), *now])
    assert imported.exit_code == 0, imported.output
    explained = CliRunner().invoke(app, ["explain", "C1", *now])
    assert explained.exit_code == 0, explained.output
    assert "ideal 2027-03-29" in explained.stdout
    assert (
        "moved from 2027-03-29 to 2027-03-30: public holiday: Easter Monday in GB-ENG, "
        "the customer's side" in explained.stdout
    )
    checked = CliRunner().invoke(app, ["check", *now])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines() == [
        f"{config.resolve()}:26: [[salesperson]] country: warning: {subdivision_warning('GB')}",
        "all good (1 warning)",
    ]
