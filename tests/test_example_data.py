"""The shipped example data: policies/, cadence.toml, examples/*.csv and the benchmark generator.

`make demo` runs on these files, so they must stay valid, cover the edge cases the planner
handles, and match the scripts that generate them.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

from cadence.app.check_customers import check_customers
from cadence.inputs.config import load_config
from cadence.inputs.customers import read_customers
from cadence.inputs.policy_load import load_policies
from cadence.values.dates import DateReader
from cadence.values.daycal import is_known_country
from cadence.values.durations import Duration, parse_meeting_length
from cadence.values.model import CustomerStatus
from cadence.values.seasons import parse_season
from cadence.values.workweek import WorkingHours, parse_working_days

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 23)  # the day the example data is anchored to


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make_customers = _load("make_customers", ROOT / "examples" / "make_customers.py")
bench_generate = _load("bench_generate", ROOT / "bench" / "generate.py")


@pytest.fixture(scope="module")
def config() -> dict:
    with (ROOT / "cadence.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def reader(config: dict) -> DateReader:
    return DateReader(tuple(config["languages"]), config["date_order"])


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with (ROOT / "examples" / "customers.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def drafts() -> list:
    return make_customers.build_customers()


# --------------------------------------------------------------------------------------------
# Policies

ALLOWED_SEGMENT_KEYS = {
    "every",
    "min_gap",
    "max_gap",
    "meeting",
    "counts",
    "timezone",
    "customer_hours",
    "agenda",
    "onboarding_agenda",
    "anniversary_agenda",
    "anniversary",
    "anniversary_lead",
    "onboarding",
    "onboarding_window",
    "retry_after",
    "invite_customer",
    "reminders",
}
DURATION_KEYS = {"every", "min_gap", "max_gap", "anniversary_lead", "onboarding_window"}
DURATION_KEYS |= {"retry_after", "first_within", "until"}


def _policy_tables() -> dict[str, dict]:
    """Every policy table as ``{"segment.strategic": {...}, "defaults": {...}, ...}``."""
    tables: dict[str, dict] = {}
    for path in sorted((ROOT / "policies").glob("*.toml")):
        with path.open("rb") as f:
            doc = tomllib.load(f)
        for name, body in doc.items():
            nested = name in ("segment", "industry")
            for key, table in body.items() if nested else [(None, body)]:
                full = f"{name}.{key}" if key else name
                assert full not in tables, f"{full} defined twice"
                tables[full] = table
    return tables


def test_policy_files_use_only_known_tables_and_keys():
    tables = _policy_tables()
    for name, table in tables.items():
        kind = name.split(".")[0]
        allowed = {
            "defaults": ALLOWED_SEGMENT_KEYS,
            "segment": ALLOWED_SEGMENT_KEYS,
            "industry": {"busy_seasons"},
            "winback": {"first_within", "every", "until", "meeting", "agenda"},
            "capacity": {"per_day", "per_week", "buffer", "catch_up"},
            "closures": {"dates"},
        }.get(kind)
        assert allowed is not None, f"unknown table [{name}]"
        assert set(table) <= allowed, f"[{name}] has unknown keys {set(table) - allowed}"


def test_policy_values_parse_and_gaps_are_ordered():
    tables = _policy_tables()
    defaults = tables["defaults"]
    for name, table in tables.items():
        for key, value in table.items():
            if key in DURATION_KEYS:
                Duration.parse(value)
            elif key == "meeting":
                parse_meeting_length(value)
            elif key == "customer_hours":
                WorkingHours.parse(value)
            elif key == "onboarding":
                assert all(Duration.parse(step) for step in value)
            elif key in ("busy_seasons", "dates"):
                assert all(parse_season(s) for s in value)
            elif key == "timezone":
                ZoneInfo(value)
        if name.startswith("segment."):
            merged = {**defaults, **table}
            gaps = [Duration.parse(merged[k]).approx_days for k in ("min_gap", "every", "max_gap")]
            assert gaps == sorted(gaps), f"[{name}] needs min_gap <= every <= max_gap"


def test_policy_set_has_the_documented_segments_industries_and_tracks():
    tables = _policy_tables()
    assert {n for n in tables if n.startswith("segment.")} == {
        "segment.strategic",
        "segment.growth",
        "segment.smb",
        "segment.default",
    }
    assert tables["segment.strategic"]["onboarding"] == ["1 week", "1 month", "2 months"]
    assert tables["industry.retail"]["busy_seasons"] == ["Nov 15 - Jan 5"]
    assert tables["industry.accounting"]["busy_seasons"] == ["Jan 15 - Apr 30"]
    assert "industry.agriculture" in tables
    assert tables["winback"] == {
        "first_within": "2 business days",
        "every": "3 months",
        "until": "1 year",
        "meeting": "30 minutes",
        "agenda": tables["winback"]["agenda"],
    }
    assert "Apologise" in tables["winback"]["agenda"]
    assert "problems" in tables["defaults"]["onboarding_agenda"]
    assert "Thank them" in tables["defaults"]["anniversary_agenda"]
    assert tables["capacity"] == {
        "per_day": 6,
        "per_week": 20,
        "buffer": "15 minutes",
        "catch_up": "3 weeks",
    }
    assert "30%" in tables["defaults"]["agenda"]


def test_shipped_policies_load_without_a_single_problem(reader):
    policies, problems = load_policies(ROOT / "policies", reader)
    assert [str(p) for p in problems] == []
    assert policies is not None
    assert sorted(policies.segments) == ["default", "growth", "smb", "strategic"]
    assert policies.for_segment("strategic").max_gap == Duration.parse("6 weeks")
    assert policies.for_segment("no-such-segment").name == "default"
    assert {"retail", "accounting", "agriculture"} <= set(policies.industries)


# --------------------------------------------------------------------------------------------
# cadence.toml

SALESPERSON_KEYS = {"email", "name", "timezone", "working_hours", "working_days", "country"}
SALESPERSON_KEYS |= {"calendar", "per_day", "per_week", "closures", "breaks"}


def test_example_config_has_the_documented_shape(config):
    assert config["database"] == "sqlite:///cadence.db"
    assert config["policies"] == "policies"
    assert (ROOT / config["customers"]).is_file()
    assert config["horizon"] == "90 days"
    assert config["interval"] == "15 minutes"
    assert config["calendar"] == {
        "backend": "ics",
        "ics": {"folder": "calendars", "invites": False},
    }
    assert set(config["smtp"]) == {
        "host",
        "port",
        "starttls",
        "username",
        "password_env",
        "sender",
    }
    assert set(config) == {
        "database",
        "policies",
        "customers",
        "horizon",
        "interval",
        "languages",
        "date_order",
        "calendar",
        "smtp",
        "salesperson",
    }


def test_example_salespeople_are_valid_and_spread_over_three_zones(config):
    people = config["salesperson"]
    assert len(people) == 5
    assert len({p["email"] for p in people}) == 5
    for person in people:
        assert set(person) <= SALESPERSON_KEYS
        ZoneInfo(person["timezone"])
        WorkingHours.parse(person["working_hours"])
        parse_working_days(person["working_days"])
        assert is_known_country(person["country"])
    assert len({p["timezone"] for p in people}) >= 3


# --------------------------------------------------------------------------------------------
# examples/customers.csv


def test_customer_files_are_exactly_what_the_script_generates(drafts):
    # Running make_customers.py rewrites the same bytes: the files are reproducible.
    csv_text = (ROOT / "examples" / "customers.csv").read_text(encoding="utf-8")
    assert csv_text == make_customers.render(drafts)
    errors_text = (ROOT / "examples" / "customers-with-errors.csv").read_text(encoding="utf-8")
    assert errors_text == make_customers.render(
        make_customers.build_error_rows(), make_customers.ERRORS
    )


def test_customer_file_size_owners_and_columns(rows, config):
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["name"] for r in rows}) == len(rows)
    owners = {r["owner"] for r in rows}
    assert owners == {p["email"] for p in config["salesperson"]}
    assert list(rows[0]) == list(make_customers.COLUMNS)  # account_tier: an unknown column


def test_customer_file_covers_every_status_and_segment_case(rows, drafts):
    statuses = [r["status"] for r in rows]
    assert set(statuses) == {s.value for s in CustomerStatus}
    assert statuses.count("do_not_contact") >= 5
    cancelled = [d.cancelled_on for d in drafts if d.status == "cancelled"]
    recent = [d for d in cancelled if TODAY - d <= timedelta(days=365)]
    assert len(recent) >= 8
    assert len(cancelled) - len(recent) >= 2
    assert all(r["cancelled_on"] == "" for r in rows if r["status"] != "cancelled")
    segments = {r["segment"] for r in rows}
    assert {"strategic", "growth", "smb", "default", ""} <= segments
    assert len(segments - {"strategic", "growth", "smb", "default", ""}) >= 2  # unknown ones


def test_customer_dates_read_back_as_the_script_meant_them(drafts, reader):
    for d in drafts:
        row = d.row()
        for column in make_customers.DATE_COLUMNS:
            text = row[column]
            expected = d.expected(column)
            got = reader.calendar_date(text) if text else None
            assert got == expected, f"{d.id} {column}={text!r}"


def test_customer_dates_are_written_in_every_supported_form(drafts):
    styles = {d.date_style for d in drafts}
    assert styles == {"iso", "long", "month", "dmy", "es", "de", "hi", "ar"}
    assert sum(d.date_style == "hi" for d in drafts) >= 2
    assert sum(d.date_style == "ar" for d in drafts) >= 2


def test_customer_file_covers_the_planner_edge_cases(drafts):
    since = [d.customer_since for d in drafts]
    assert sum(TODAY - timedelta(days=60) <= s <= TODAY for s in since) >= 5  # onboarding
    assert sum(s > TODAY for s in since) >= 2  # starting in the coming weeks
    assert {s.year for s in since if (s.month, s.day) == (2, 29)} == {2016, 2020, 2024}
    assert min(s.year for s in since) == 2012
    # Anniversaries inside the 90-day horizon, with the 1, 5 and 10-year milestones.
    milestones = set()
    for s in since:
        for year in (TODAY.year, TODAY.year + 1):
            if (s.month, s.day) != (2, 29):
                anniversary = s.replace(year=year)
                if TODAY <= anniversary <= TODAY + timedelta(days=90):
                    milestones.add(year - s.year)
    assert {1, 5, 10} <= milestones
    never = [d for d in drafts if d.last_contact is None and d.customer_since <= TODAY]
    assert len(never) >= 5
    assert any(d.last_contact and TODAY - d.last_contact > timedelta(days=365) for d in drafts)
    assert any(d.last_contact and TODAY - d.last_contact < timedelta(days=14) for d in drafts)
    assert all(d.last_contact is None or d.last_contact <= TODAY for d in drafts)
    assert sum(not d.write_zone for d in drafts) >= 1  # falls back to the policy time zone
    assert sum(not d.domains for d in drafts) >= 1  # free-mail customers: no domain


def test_customer_zones_and_countries_are_valid_and_consistent(rows):
    known_pairs = {(c, z) for places in make_customers.TERRITORIES.values() for c, z, _ in places}
    for r in rows:
        assert is_known_country(r["country"]), r["id"]
        if r["timezone"]:
            ZoneInfo(r["timezone"])
            assert (r["country"].partition("-")[0], r["timezone"]) in known_pairs, r["id"]
    zones = {r["timezone"] for r in rows}
    assert {
        "Asia/Tokyo",
        "Australia/Sydney",
        "Asia/Riyadh",
        "Asia/Dhaka",
        "Asia/Kathmandu",
    } <= zones
    assert {"SA", "BD", "NP"} <= {r["country"] for r in rows}


def test_customer_busy_seasons_and_industries(rows, reader):
    own = [r["busy_seasons"] for r in rows if r["busy_seasons"]]
    assert len(own) >= 10
    assert any(";" in text for text in own)
    for text in own:
        for season in text.split(";"):
            parse_season(season, reader)
    industries = {r["industry"].lower() for r in rows}
    assert {"retail", "accounting", "agriculture", "education", "hospitality"} <= industries


def test_customer_file_imports_without_a_rejection(reader):
    result = read_customers(
        ROOT / "examples" / "customers.csv",
        reader,
        default_timezone="Europe/London",
        today=TODAY,
    )
    assert result.rejected == []
    assert len(result.customers) == 240
    assert result.customers[0].tags == {"account_tier": "Bronze"}


def test_errors_file_rejects_exactly_the_four_bad_rows(reader):
    result = read_customers(ROOT / "examples" / "customers-with-errors.csv", reader, today=TODAY)
    assert len(result.customers) == 6
    assert [(r.line, r.customer_id, r.reason.split(":")[0]) for r in result.rejected] == [
        (3, "C-9002", "owner"),
        (5, "C-9004", "customer_since"),
        (8, "C-9007", "country"),
        (10, "C-9009", "status"),
    ]


def test_example_config_policies_and_customers_check_clean_together():
    # What `cadence check` sees: no error anywhere, and only the warnings the data means to show
    # (three customers in segments nobody defined, who fall back to the default policy).
    config = load_config(ROOT / "cadence.toml")
    assert [s.email for s in config.salespeople] == [
        "ana@example.com",
        "ben@example.com",
        "chloe@example.com",
        "dev@example.com",
        "emily@example.com",
    ]
    reader = config.date_reader()
    policies, problems = load_policies(config.policies, reader)
    assert policies is not None and problems == []
    assert config.customers is not None
    result = read_customers(
        config.customers, reader, default_timezone=policies.defaults.timezone, today=TODAY
    )
    assert result.rejected == []
    problems = check_customers(result.customers, policies, config)
    assert [(p.severity, p.key) for p in problems] == [("warning", "segment")] * 3
    unknown = ("enterprise", "legacy", "partner")
    assert [[u for u in unknown if f"'{u}'" in p.message] for p in problems] == [
        ["enterprise"],
        ["legacy"],
        ["partner"],
    ]


# --------------------------------------------------------------------------------------------
# bench/generate.py

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_benchmark_data_is_deterministic_for_a_seed():
    first = bench_generate.generate(400, 9, seed=7, now=NOW)
    again = bench_generate.generate(400, 9, seed=7, now=NOW)
    other = bench_generate.generate(400, 9, seed=8, now=NOW)
    assert first == again
    assert first[0] != other[0]


def test_benchmark_data_has_the_requested_size_and_a_realistic_mix():
    customers, salespeople, contacts, policies = bench_generate.generate(3000, 25, now=NOW)
    assert len(customers) == 3000
    assert len({c.id for c in customers}) == 3000
    assert len(salespeople) == 25
    assert {c.owner for c in customers} <= {s.email for s in salespeople}
    assert {c.status for c in customers} == set(CustomerStatus)
    assert {policies.for_customer(c).name for c in customers} == {
        "strategic",
        "growth",
        "smb",
        "default",
    }
    assert any(c.country == "SA" for c in customers)
    assert any(c.busy_seasons for c in customers)
    assert any(c.customer_since > NOW.date() for c in customers)  # not started yet
    assert all(
        c.cancelled_on is not None for c in customers if c.status is CustomerStatus.CANCELLED
    )
    all_contacts = [x for xs in contacts.values() for x in xs]
    assert len(all_contacts) > 3000
    assert all(NOW - timedelta(days=181) < x.at < NOW for x in all_contacts)
    by_id = {c.id: c for c in customers}
    assert all(x.at.date() >= by_id[x.customer_id].customer_since for x in all_contacts)


def test_benchmark_generator_rejects_a_naive_clock():
    with pytest.raises(ValueError, match="aware"):
        bench_generate.generate(10, 2, now=datetime(2026, 11, 23, 8, 0))
