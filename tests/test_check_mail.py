"""`cadence check` warns when a calendar backend that reads mail has no mail source."""

from __future__ import annotations

from pathlib import Path

from cadence.app.checks import check_all
from tests.workspace_kit import NOW, customer_row, write_workspace

GOOGLE = '\n[calendar.google]\nservice_account_file = "key.json"\n'


def mail_warnings(folder: Path, backend: str, extra: str) -> list[str]:
    config = write_workspace(folder, [customer_row("C1")], backend=backend)
    config.write_text(config.read_text() + extra)
    return [str(p) for p in check_all(config, NOW) if "for contacts" in p.message]


def test_google_calendars_without_a_mail_table_are_warned_about(tmp_path: Path) -> None:
    [warning] = mail_warnings(tmp_path, "google", GOOGLE)
    config = tmp_path / "cadence.toml"
    line = config.read_text().splitlines().index("[calendar.google]") + 1
    assert warning == (
        f"{config}:{line}: [calendar.google] warning: Gmail is not read for contacts: add an empty "
        "[mail.google] table (it uses these keys) or see docs/google.md"
    )


def test_an_empty_mail_table_is_enough_and_ics_needs_none(tmp_path: Path) -> None:
    assert mail_warnings(tmp_path / "a", "google", GOOGLE + "\n[mail.google]\n") == []
    assert mail_warnings(tmp_path / "b", "ics", "") == []
