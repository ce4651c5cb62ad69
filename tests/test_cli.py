"""The command line as SPEC 8 describes it, run on small workspaces in temporary folders.

Most commands run in-process with typer's CliRunner; error paths run ``python -m cadence.app.cli``
in a subprocess, so ``main()``'s "one clear line, exit 1, no traceback" is what is tested.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cadence.app.cli import app
from cadence.sync.workspace import Workspace
from tests.workspace_kit import (
    ANA,
    BEN,
    NOW,
    POLICIES,
    SALESPEOPLE,
    customer_row,
    write_customers,
    write_workspace,
)

MAIN = Path(__file__).resolve().parents[1]
PROBLEM = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): \[(?P<table>[^\]]+)\] (?P<key>\S+): (?P<msg>.+)$"
)
SPEC_KEYS = {
    "customer_id",
    "owner",
    "kind",
    "start",
    "end",
    "all_day",
    "ideal",
    "window_start",
    "window_end",
    "status",
    "reasons",
}

LOYAL = """
[segment.loyal]
every = "quarter"
min_gap = "6 weeks"
max_gap = "4 months"
anniversary = "yearly"
anniversary_lead = "1 week"
"""


def cli(config: Path, *args: str, now: datetime = NOW) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config), "--now", now.isoformat()])


def cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadence.app.cli", *args],
        capture_output=True,
        text=True,
        cwd=MAIN,
        timeout=60,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Four customers of Ana (London) and Ben (New York); one customer in New York."""
    rows = [
        customer_row("C1"),
        customer_row("C2", last_contact="2026-11-09"),
        customer_row("B1", owner=BEN, timezone="America/New_York", country="US"),
        customer_row(
            "NY1",
            segment="loyal",
            timezone="America/New_York",
            country="US",
            customer_since="2016-12-10",
            last_contact="2026-10-01",
        ),
    ]
    policies = {**POLICIES, "loyal.toml": LOYAL}
    people = [SALESPEOPLE[0], {**SALESPEOPLE[1], "timezone": "America/New_York", "country": "US"}]
    config = write_workspace(tmp_path, rows, backend="ics", policies=policies, salespeople=people)
    ws = Workspace.open(config)
    try:
        counts, rejected = ws.import_customers(config.parent / "customers.csv", today=NOW)
    finally:
        ws.close()
    assert (counts.new, rejected) == (4, [])
    return config


def plan_json(config: Path, *args: str) -> list[dict]:
    result = cli(config, "plan", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---- check ----------------------------------------------------------------------------------


def test_check_passes_the_example_config_and_prints_its_warnings() -> None:
    result = cli_process("check", "--config", "cadence.toml", "--now", NOW.isoformat())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    warnings = [line for line in lines if ": warning: " in line]
    assert lines[-1] == f"all good ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})"
    assert any("segment 'enterprise' is used by 1 customer" in line for line in warnings)
    assert result.stderr == ""


def test_check_reports_every_problem_in_every_file_at_once(tmp_path: Path) -> None:
    broken = {
        **POLICIES,
        "defaults.toml": POLICIES["defaults.toml"].replace("retry_after", "retry_afer"),
        "capacity.toml": POLICIES["capacity.toml"].replace("per_day = 6", 'per_day = "six"'),
    }
    config = write_workspace(tmp_path, [customer_row("C1")], policies=broken)
    result = cli_process("check", "--config", str(config))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if PROBLEM.match(line)]
    parsed = [PROBLEM.match(line).groupdict() for line in errors]  # type: ignore[union-attr]
    where = sorted((Path(p["file"]).name, p["line"], p["table"], p["key"]) for p in parsed)
    assert where == [
        ("capacity.toml", "2", "capacity", "per_day"),
        ("defaults.toml", "7", "defaults", "retry_afer"),
    ]
    assert "expected a whole number" in errors[0] + errors[1]
    assert "unknown key" in errors[0] + errors[1]
    assert result.stderr.splitlines()[-1] == "2 errors, 0 warnings"
    assert "Traceback" not in result.stderr


# ---- import ---------------------------------------------------------------------------------


def test_import_counts_and_lists_each_rejected_row_with_its_line(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [], policies=POLICIES)
    source = MAIN / "examples" / "customers-with-errors.csv"
    first = cli(config, "import", str(source))
    assert first.exit_code == 3, first.output  # done, but rows were rejected
    assert first.stdout.splitlines()[-1] == "6 new, 0 updated, 0 unchanged, 4 rejected"
    rejected = [line for line in first.stderr.splitlines() if line.startswith(str(source))]
    assert [line.split(":")[1] for line in rejected] == ["3", "5", "8", "10"]
    assert "C-9002: owner: missing" in rejected[0]
    assert "C-9004: customer_since: cannot read date '31/02/2021'" in rejected[1]
    assert "unknown country code 'ZZ'" in rejected[2]
    assert "unknown status 'churned'" in rejected[3]
    again = cli(config, "import", str(source))
    assert again.stdout.splitlines()[-1] == "0 new, 0 updated, 6 unchanged, 4 rejected"


def test_import_of_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [])
    result = cli_process("import", str(tmp_path / "nope.csv"), "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


# ---- plan -----------------------------------------------------------------------------------


def test_plan_json_objects_carry_the_spec_fields(workspace: Path) -> None:
    contacts = plan_json(workspace)
    assert contacts
    kinds = {"check_in", "anniversary", "anniversary_reminder", "onboarding", "winback"}
    for c in contacts:
        assert set(c) >= SPEC_KEYS, c
        assert c["kind"] in kinds
        assert c["status"] in {"planned", "booked", "moved_by_owner"}
        assert isinstance(c["reasons"], list) and all(isinstance(r, str) for r in c["reasons"])
        assert c["reasons"]
        date.fromisoformat(c["ideal"])
        assert date.fromisoformat(c["window_start"]) <= date.fromisoformat(c["window_end"])
        if c["all_day"]:
            assert date.fromisoformat(c["start"]) < date.fromisoformat(c["end"])
            assert "T" not in c["start"]
        else:
            start, end = datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"])
            assert start.utcoffset() is not None and end.utcoffset() is not None
            assert end > start
    [reminder] = [c for c in contacts if c["kind"] == "anniversary_reminder"]
    assert (reminder["customer_id"], reminder["all_day"]) == ("NY1", True)
    assert (reminder["start"], reminder["end"]) == ("2026-12-10", "2026-12-11")


def test_plan_json_times_are_in_the_salespersons_zone_with_offset(workspace: Path) -> None:
    [first, *_] = plan_json(workspace, "--customer", "C1")
    assert (first["start"], first["end"]) == (
        "2026-11-30T09:00:00+00:00",
        "2026-11-30T09:30:00+00:00",
    )
    assert first["status"] == "planned"
    # Ben works in New York: 4 weeks after 2 Nov is Mon 30 Nov, 09:00 there (14:00 UTC)
    [bens, *_] = plan_json(workspace, "--customer", "B1")
    assert bens["start"] == "2026-11-30T09:00:00-05:00"


def test_plan_filters_by_customer_and_by_owner(workspace: Path) -> None:
    everyone = plan_json(workspace)
    assert {c["customer_id"] for c in everyone} == {"C1", "C2", "B1", "NY1"}
    only_c2 = plan_json(workspace, "--customer", "C2")
    assert only_c2 == [c for c in everyone if c["customer_id"] == "C2"]
    assert len(only_c2) == 3
    bens = plan_json(workspace, "--owner", BEN)
    assert {c["owner"] for c in bens} == {BEN}
    assert {c["customer_id"] for c in bens} == {"B1"}
    assert plan_json(workspace, "--owner", ANA.upper()) == [
        c for c in everyone if c["owner"] == ANA
    ]


def test_plan_forecast_adds_the_contacts_past_the_horizon(workspace: Path) -> None:
    booked = plan_json(workspace, "--customer", "C1")
    forecast = plan_json(workspace, "--customer", "C1", "--forecast")
    horizon_end = (NOW + timedelta(days=90)).date()
    assert forecast[: len(booked)] == booked
    later = forecast[len(booked) :]
    assert len(later) >= 3
    assert all(not c["within_horizon"] for c in later)
    assert all(datetime.fromisoformat(c["start"]).date() > horizon_end for c in later)
    assert all(c["within_horizon"] for c in booked)


def test_plan_changes_lists_creates_before_anything_is_booked(workspace: Path) -> None:
    result = cli(workspace, "plan", "--changes", "--json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    assert {c["action"] for c in changes} == {"create"}
    assert len(changes) == len(plan_json(workspace))


# ---- explain / log --------------------------------------------------------------------------


def test_explain_shows_history_policy_windows_and_reasons(workspace: Path) -> None:
    assert cli(workspace, "log", "C1", "--kind", "call", "--at", "2026-11-20 10:00").exit_code == 0
    result = cli(workspace, "explain", "C1")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Customer C1 (C1), owner ana@example.com, status active" in text
    assert "policy [steady]: every 4 weeks, min_gap 2 weeks, max_gap 6 weeks" in text
    assert "2026-11-02  last_contact (customer file)" in text
    assert "2026-11-20 10:00  call" in text
    # the logged call on 20 Nov re-anchors the rhythm: ideal 4 weeks later
    assert "window 2026-12-04 .. 2027-01-01, ideal 2026-12-18" in text
    assert "- last contact 2026-11-20; every 4 weeks -> ideal 2026-12-18" in text


def test_log_reads_yesterday_3pm_in_the_customers_zone(workspace: Path) -> None:
    # 03:00 UTC on 23 Nov is 22:00 on 22 Nov in New York: "yesterday" there is 21 Nov.
    now = datetime.fromisoformat("2026-11-23T03:00:00+00:00")
    result = cli(workspace, "log", "NY1", "--kind", "call", "--at", "yesterday 3pm", now=now)
    assert result.exit_code == 0, result.output
    ws = Workspace.open(workspace)
    try:
        [contact] = ws.store.contacts("NY1")
    finally:
        ws.close()
    assert contact.at == datetime.fromisoformat("2026-11-21T20:00:00+00:00")  # 15:00 EST
    assert contact.kind.value == "call"
    assert contact.source == "log"
    assert result.stdout.startswith("recorded: call with Customer NY1 at 2026-11-21T15:00:00-05:00")


def test_logging_the_same_contact_twice_records_it_once(workspace: Path) -> None:
    args = ("log", "C1", "--kind", "call", "--at", "2026-11-20 10:00")
    assert cli(workspace, *args).stdout.startswith("recorded:")
    assert cli(workspace, *args).stdout.startswith("already recorded:")


@pytest.mark.parametrize("command", ["explain", "log"])
def test_unknown_customer_is_one_clear_line_and_exit_1(workspace: Path, command: str) -> None:
    result = cli_process(command, "NOPE", "--config", str(workspace))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: no customer with id 'NOPE'")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_naive_now_is_refused_clearly(workspace: Path) -> None:
    result = cli_process("plan", "--config", str(workspace), "--now", "2026-11-23T08:00")
    assert result.returncode == 1
    assert "needs a UTC offset" in result.stderr
    assert "Traceback" not in result.stderr


# ---- run ------------------------------------------------------------------------------------


def test_run_once_prints_what_it_did_and_then_nothing_to_do(workspace: Path) -> None:
    first = cli(workspace, "run", "--once")
    assert first.exit_code == 0, first.output
    booked = len(plan_json(workspace))
    assert f"created {booked}, moved 0, cancelled 0, unchanged 0" in first.stdout
    assert sum(line.startswith("create ") for line in first.stdout.splitlines()) == booked
    assert f"calendars: {workspace.parent / 'calendars'}/<salesperson>.ics" in first.stdout
    assert (workspace.parent / "calendars" / f"{ANA}.ics").exists()
    again = cli(workspace, "run", "--once", now=NOW + timedelta(hours=1))
    assert f"created 0, moved 0, cancelled 0, unchanged {booked}" in again.stdout


def test_run_once_names_the_customers_whose_bookings_it_cancelled(workspace: Path) -> None:
    """A cancel has no planned contact to take its title from: the line names the customer,
    whether they stay with the salesperson (C2, paused) or moved to another one (C1, to Ben)."""
    assert cli(workspace, "run", "--once").exit_code == 0
    booked = {row["customer_id"] for row in plan_json(workspace)}
    assert {"C1", "C2"} <= booked
    assert cli(workspace, "snooze", "C2", "--until", "2027-06-01").exit_code == 0
    path = workspace.parent / "customers.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    write_customers(path, [{**r, "owner": BEN} if r["id"] == "C1" else r for r in rows])
    again = cli(workspace, "run", "--once", now=NOW + timedelta(hours=1))
    assert again.exit_code == 0, again.output
    cancels = [line for line in again.stdout.splitlines() if line.startswith("cancel ")]
    assert cancels, again.stdout
    assert all(f" {ANA} " in line for line in cancels)
    assert any("Customer C1" in line for line in cancels)
    assert any("Customer C2" in line for line in cancels)
    assert all("Customer C1" in line or "Customer C2" in line for line in cancels)


def test_run_without_once_tells_the_user_what_to_do(workspace: Path) -> None:
    result = cli_process("run", "--config", str(workspace))
    assert result.returncode == 1
    assert "cadence run --once" in result.stderr
