"""What a script, a cron job or a manager is told (issue 16): exit statuses that do not hide
partial failure, filters that name nobody refused, folders and URLs checked up front, Ctrl-C
that says what was done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cadence.app.checks import check_all
from tests.test_cli import MAIN, NOW, cli, workspace  # noqa: F401
from tests.workspace_kit import customer_row, write_workspace


def test_plan_for_an_unknown_customer_or_owner_is_an_error_with_a_hint(
    workspace: Path,  # noqa: F811
) -> None:
    typo = cli(workspace, "plan", "--customer", "c1")
    assert typo.exit_code == 1
    assert str(typo.exception) == "no customer with id 'c1'; did you mean 'C1'?"
    owner = cli(workspace, "plan", "--owner", "ana@exmaple.com", "--changes")
    assert owner.exit_code == 1
    assert str(owner.exception) == (
        "no customer is owned by 'ana@exmaple.com'; did you mean 'ana@example.com'?"
    )


def test_plan_before_any_customer_is_imported_says_what_to_do(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [])
    (tmp_path / "customers.csv").unlink()
    config.write_text(config.read_text().replace('customers = "customers.csv"\n', ""))
    result = cli(config, "plan")
    assert result.exit_code == 1
    assert str(result.exception).startswith("no customers yet: run `cadence import FILE.csv`")


def test_report_into_a_missing_folder_is_a_clear_error(workspace: Path, tmp_path: Path) -> None:  # noqa: F811
    result = cli(workspace, "report", "--html", str(tmp_path / "nowhere" / "r.html"))
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"cannot write {tmp_path / 'nowhere' / 'r.html'}: there is no folder {tmp_path / 'nowhere'}"
    )
    assert result.output == ""  # refused before anything was built or printed


def test_check_refuses_a_database_url_import_would_refuse(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")])
    config.write_text(config.read_text().replace("sqlite:///", "sqlit:///"))
    problems = [str(p) for p in check_all(config, NOW) if p.is_error]
    assert len(problems) == 1
    assert (
        "only sqlite:/// and postgresql+psycopg:// URLs are supported; did you mean "
        in (problems[0])
    )


def test_check_warns_about_a_secret_variable_that_is_not_set(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")], backend="outlook")
    config.write_text(
        config.read_text()
        + '\n[calendar.outlook]\ntenant_id = "t"\nclient_id = "c"\n'
        + 'client_secret_env = "CADENCE_TEST_UNSET_SECRET"\n'
    )
    os.environ.pop("CADENCE_TEST_UNSET_SECRET", None)
    warnings = [str(p) for p in check_all(config, NOW) if not p.is_error]
    assert any(
        "[calendar.outlook] client_secret_env: warning: environment variable "
        "CADENCE_TEST_UNSET_SECRET is not set here" in w
        for w in warnings
    ), warnings


def test_ctrl_c_stops_after_the_write_in_flight_says_what_was_done_and_exits_130(
    tmp_path: Path,
) -> None:
    # A slow calendar (one write per salesperson, each takes a moment): Ctrl-C during the first.
    people = [
        {"email": f"rep{i}@example.com", "timezone": "Europe/London", "country": "GB-ENG"}
        for i in range(4)
    ]
    rows = [customer_row(f"C{i}", owner=f"rep{i}@example.com") for i in range(4)]
    config = write_workspace(tmp_path, rows, backend="ics", salespeople=people)
    started = tmp_path / "writing"
    script = (
        "import sys, time, pathlib\n"
        "from connectors.ics.backend import IcsBackend\n"
        "real = IcsBackend.write\n"
        "def slow(self, owner, ops):\n"
        f"    pathlib.Path({str(started)!r}).touch()\n"
        "    time.sleep(1.5)\n"
        "    return real(self, owner, ops)\n"
        "IcsBackend.write = slow\n"
        "from cadence.app.cli import main\n"
        "sys.argv = ['cadence'] + sys.argv[1:]\n"
        "main()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "run", "--once", "--config", str(config),
         "--now", NOW.isoformat()],
        cwd=MAIN,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "interrupted: stopped after the write in flight" in err
    done = [line for line in out.splitlines() if line.split()[0] == "create"]
    assert 0 < len(done) < len(rows) * 3  # the first salesperson's writes, not everyone's
    assert {line.split()[1] for line in done} == {"rep0@example.com"}


def test_long_commands_draw_progress_on_a_terminal_only(
    workspace: Path,  # noqa: F811
    monkeypatch,
) -> None:
    import io

    from rich.console import Console

    import cadence.app.cli_common as cli_module

    screen = io.StringIO()
    monkeypatch.setattr(cli_module, "err", Console(file=screen, force_terminal=True, width=100))
    assert cli(workspace, "run", "--once").exit_code == 0
    drawn = screen.getvalue()
    for stage in ("reading calendars", "reading busy time", "planning customers", "writing to"):
        assert stage in drawn, stage
    screen.truncate(0)
    assert cli(workspace, "plan", "--json").exit_code == 0
    assert screen.getvalue() == ""  # nothing drawn into a JSON run
    assert cli(workspace, "report").exit_code == 0
    assert "measuring customers" in screen.getvalue()
    # Not a terminal (a pipe, a log, the daemon): nothing drawn at all.
    monkeypatch.setattr(cli_module, "err", Console(file=io.StringIO(), force_terminal=False))
    piped = cli(workspace, "plan")
    assert piped.exit_code == 0 and "planning customers" not in piped.output


def test_check_warns_when_meet_is_asked_for_salespeople_outside_google(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")], backend="ics")
    defaults = tmp_path / "policies" / "defaults.toml"
    defaults.write_text(defaults.read_text() + 'video = "meet"\n')
    warnings = [str(p) for p in check_all(config, NOW) if not p.is_error and "video" in str(p)]
    assert len(warnings) == 1, warnings
    assert (
        "video = 'meet' ([defaults], [segment.default], [segment.steady]) needs the google"
        in (warnings[0])
    )
    assert "ana@example.com, ben@example.com book elsewhere and get no video link" in warnings[0]
