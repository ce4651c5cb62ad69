"""What a command pays before it does anything: the libraries it imports and the work of reading
cadence.toml and the policies, counted (modules imported, calendars built), never timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import holidays
import pytest

from cadence.inputs.config import load_config
from cadence.inputs.policy_load import load_policies
from cadence.values import daycal
from tests.workspace_kit import SALESPEOPLE, customer_row, write_workspace

HEAVY = {
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "dateparser",
    "holidays",
    "icalendar",
    "caldav",
    "msal",
}


def _imported_after(code: str, cwd: Path | None = None) -> set[str]:
    """The top-level packages in sys.modules after running ``code``."""
    probe = (
        f"import sys, json\n{code}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_help_imports_none_of_the_heavy_libraries() -> None:
    code = (
        "sys.argv = ['cadence', '--help']\n"
        "from cadence.app.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) & HEAVY == set()


def test_parsing_a_commands_options_imports_no_pydantic(tmp_path: Path) -> None:
    """Options and arguments are parsed without pydantic (typer 0.29 builds a pydantic
    TypeAdapter for each, about a tenth of a second of every command): the command below
    parses its argument and options, then stops at the missing cadence.toml."""
    code = (
        "sys.argv = ['cadence', 'explain', 'C1', '--config', 'missing.toml',\n"
        "            '--now', '2026-01-05T09:00:00+00:00']\n"
        "from cadence.app.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    print(exit.code)"
    )
    imported = _imported_after(code, cwd=tmp_path)
    assert "typer" in imported
    assert {"pydantic", "sqlmodel"} & imported == set()


def test_reading_the_configuration_needs_no_dateparser(tmp_path: Path) -> None:
    """cadence.toml and policies in the documented forms are read without dateparser (or
    icalendar, when no salesperson uses the .ics backend)."""
    config = write_workspace(tmp_path, [])
    code = (
        "from cadence.inputs.config import load_config\n"
        "from cadence.inputs.policy_load import load_policies\n"
        "config = load_config('cadence.toml')\n"
        "load_policies(config.policies, config.date_reader())"
    )
    imported = _imported_after(code, cwd=config.parent)
    assert {"dateparser", "icalendar"} & imported == set()


def test_countries_are_checked_without_building_calendars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [
        {**SALESPEOPLE[0], "email": f"rep{i}@example.com", "country": country}
        for i, country in enumerate(["PT", "GB", "US", "DE", "pt", "GB-ENG"] * 5)
    ]
    config = write_workspace(tmp_path, [], salespeople=people)
    built: list[object] = []
    real = holidays.country_holidays

    def counting(*args: object, **kwargs: object) -> object:
        built.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(holidays, "country_holidays", counting)
    daycal.canonical_region.cache_clear()
    daycal._entity.cache_clear()
    daycal.subdivisions_of.cache_clear()
    loaded = load_config(config)
    load_policies(loaded.policies, loaded.date_reader())
    assert [p.country for p in loaded.salespeople[:6]] == ["PT", "GB", "US", "DE", "PT", "GB-ENG"]
    assert built == [("GB",)]  # GB's subdivisions, for GB-ENG; once


# What `cadence explain ID` may import once the workspace has run (calendars written by cadence,
# the holidays package's answers on disk). typer imports pydantic itself to convert its options.
NOT_FOR_EXPLAIN = {
    "sqlmodel",  # the schema's declaration: only to migrate (cadence.store.models)
    "holidays",  # answers kept on disk (cadence.values.daycal.tables_on_disk)
    "icalendar",  # files as cadence wrote them are not parsed (connectors.ics.known)
    "dateparser",
    "smtplib",
    "rich",
    "cadence.store.models",
    "cadence.store.migrations",
    "cadence.sync.cycle",
    "connectors.ics.writing",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
}


def _cli_imports(cwd: Path, *args: str, state: Path | None = None) -> set[str]:
    """Every module (and top-level package) in sys.modules after ``cadence ARGS`` ran
    (``state``: another state directory)."""
    code = (
        f"sys.argv = ['cadence', *{list(args)!r}]\n"
        "from cadence.app.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(set(sys.modules) | {m.split('.')[0] for m in sys.modules})))"
    )
    probe = f"import sys, json\n{code}\n"
    # This checkout's cadence, whatever the folder the command runs in.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    if state is not None:
        env["STATE_DIRECTORY"] = str(state)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_explain_imports_neither_the_orm_nor_the_calendar_and_holiday_libraries(
    tmp_path: Path,
) -> None:
    rows = [
        customer_row("C1", country="PT"),
        customer_row("C2", country="DE-BY"),
        customer_row("C3", owner=SALESPEOPLE[1]["email"]),
    ]
    config = write_workspace(tmp_path, rows, backend="ics")
    now = "--now=2026-11-23T08:00:00+00:00"
    _cli_imports(config.parent, "run", "--once", now)  # imports the file, books, writes .ics
    imported = _cli_imports(config.parent, "explain", "C2", now)
    assert imported & NOT_FOR_EXPLAIN == set()
    assert {"sqlalchemy", "cadence.planner", "connectors.ics.backend"} <= imported
    # The holidays package's answers came from the state directory the run left them in.
    elsewhere = _cli_imports(config.parent, "explain", "C2", now, state=tmp_path / "empty")
    assert "holidays" in elsewhere
