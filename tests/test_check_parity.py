"""`cadence check` reports first everything `cadence run` would fail on or skip (issue: one bad
input never stops the team), each as FILE:LINE where a line exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

from typer.testing import CliRunner

from cadence.app.cli import app
from tests.workspace_kit import NOW, customer_row, write_workspace

BROKEN = {
    "X-ZONE": {"timezone": "America"},
    "X-LONGZONE": {"timezone": "Europe/" + "x" * 300},
    "X-YEAR": {"customer_since": "9999-12-31", "last_contact": ""},
    "X-SEASON": {"busy_seasons": "Dec 1 - Nov 30"},
    "X-ONEOFF": {"busy_seasons": "2027-01-01 - 9999-12-31"},
    "X-UNION": {"busy_seasons": "Jan 1 - Jun 30; Jul 1 - Dec 31"},
    "X-RETAIL": {"industry": "retail", "busy_seasons": "Jan 6 - Nov 14"},  # with Nov 15 - Jan 5
}


def workspace(folder: Path) -> Path:
    rows = [customer_row(f"C{i}") for i in range(6)]
    rows += [customer_row(cid, **columns) for cid, columns in BROKEN.items()]
    rows.append(customer_row("TYPO", owner="ben@exmaple.com"))
    config = write_workspace(folder, rows, backend="ics")
    secret = folder / "smtp-password"
    secret.write_text("hunter2\n", encoding="utf-8")
    os.chmod(secret, 0o644)
    text = config.read_text(encoding="utf-8").replace("invites = false", "invites = true")
    text += (
        '\n[smtp]\nhost = "127.0.0.1"\nport = 2525\nsender = "cadence@example.com"\n'
        'username = "cadence"\npassword_file = "smtp-password"\n'
    )
    config.write_text(text, encoding="utf-8")
    return config


def invoke(*args: str):
    return CliRunner().invoke(app, [*args, "--now", NOW.isoformat()])


def test_check_reports_every_broken_row_customer_and_secret(tmp_path: Path) -> None:
    config = workspace(tmp_path)
    result = invoke("check", "--config", str(config))

    assert result.exit_code == 1
    lines = result.output.splitlines()
    csv = f"{tmp_path}/customers.csv"
    expected = {
        "X-ZONE": f"{csv}:8: X-ZONE: timezone: unknown time zone 'America'",
        "X-LONGZONE": f"{csv}:9: X-LONGZONE: timezone: ",
        "X-YEAR": f"{csv}:10: X-YEAR: customer_since: date '9999-12-31' is outside",
        "X-SEASON": f"{csv}:11: X-SEASON: busy_seasons: busy season 'Dec 1 - Nov 30' covers "
        "every day of the year",
        "X-ONEOFF": f"{csv}:12: X-ONEOFF: busy_seasons: ",
        "X-UNION": f"{csv}:13: X-UNION: busy_seasons: busy seasons 'Jan 1 - Jun 30', "
        "'Jul 1 - Dec 31' together cover every day of the year",
        "X-RETAIL": f"{csv}: X-RETAIL: busy_seasons: busy seasons 'Nov 15 - Jan 5', "
        "'Jan 6 - Nov 14' together cover every day of the year",
    }
    for cid, start in expected.items():
        found = [line for line in lines if re.search(rf"\b{cid}\b", line)]
        assert len(found) == 1, (cid, found)
        assert found[0].startswith(start), (cid, found[0])
    [typo] = [line for line in lines if "ben@exmaple.com" in line]
    assert "warning: ben@exmaple.com owns 1 customer" in typo
    assert "did you mean ben@example.com?" in typo
    [secret] = [line for line in lines if "smtp-password" in line]
    assert secret.startswith(f"{tmp_path}/cadence.toml:")
    assert "[smtp] password_file: " in secret and "chmod 600" in secret
    assert "hunter2" not in result.output


def test_everything_run_skips_check_reported_first(tmp_path: Path) -> None:
    config = workspace(tmp_path)
    os.chmod(tmp_path / "smtp-password", 0o600)  # invites are not the point here
    text = config.read_text(encoding="utf-8").replace("invites = true", "invites = false")
    config.write_text(text, encoding="utf-8")
    check = invoke("check", "--config", str(config))
    run = invoke("run", "--once", "--config", str(config))

    assert run.exit_code == 3, run.output
    skipped_by_run = set(re.findall(r"\b(X-[A-Z]+)\b", run.stderr))
    assert skipped_by_run == set(BROKEN)
    reported_by_check = {
        cid
        for line in check.output.splitlines()
        if "warning:" not in line
        for cid in re.findall(r"\b(X-[A-Z]+)\b", line)
    }
    assert skipped_by_run <= reported_by_check


def test_durations_check_accepts_and_run_cannot_use_are_reported_with_their_line(
    tmp_path: Path,
) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")], backend="ics")
    (tmp_path / "policies" / "zz-bad.toml").write_text(
        "[segment.bad]\n"
        'every = "P0D"\n'
        'min_gap = "P0D"\n'
        'max_gap = "10000 years"\n'
        "\n[segment.worse]\n"
        f'every = "{"9" * 309} days"\n'
        'max_gap = "100000000 business days"\n',
        encoding="utf-8",
    )
    result = invoke("check", "--config", str(config))

    assert result.exit_code == 1
    bad = f"{tmp_path}/policies/zz-bad.toml"
    lines = [line for line in result.output.splitlines() if line.startswith(bad)]
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{bad}:2",
        f"{bad}:3",
        f"{bad}:4",
        f"{bad}:7",
        f"{bad}:8",
    ]
    assert "Traceback" not in result.output


def test_a_calendar_folder_the_service_cannot_write_is_reported(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")], backend="ics")
    (tmp_path / "calendars").write_text("a file where the folder should be", encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace(
        'folder = "calendars"', 'folder = "calendars"\nbusy_folder = "exports"'
    )
    config.write_text(text, encoding="utf-8")

    result = invoke("check", "--config", str(config))

    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "[calendar.ics]" in line]
    assert [line.split("] ", 1)[1].split(":", 1)[0] for line in lines] == ["folder", "busy_folder"]
    assert f"{tmp_path}/calendars is not a folder" in lines[0]
    assert lines[1].endswith(f"{tmp_path}/exports is not a folder")
