"""`cadence import-contacts FILE.csv`: contact history from before cadence, de-duplicated, rows
that cannot be used rejected with their line; the demo's history makes the report's rhythm
figures appear on day one."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from cadence.app.cli import app
from cadence.app.cli_common import PARTIAL
from cadence.sync.workspace import Workspace
from cadence.values.errors import UserError
from cadence.values.model import ContactKind
from tests.workspace_kit import NOW, customer_row, write_workspace

MAIN = Path(__file__).resolve().parents[1]


def cli(config: Path, *args: str, now: datetime = NOW) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config), "--now", now.isoformat()])


def history(folder: Path, text: str) -> Path:
    path = folder / "history.csv"
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


def test_history_is_imported_once_and_bad_rows_are_named_by_line(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1"), customer_row("C2")])
    path = history(
        tmp_path,
        """
Customer_ID,Kind,At,Note,Source_ID
C1,meeting,2024-03-15 14:30,quarterly review,crm-1
C1,Email Out,2024-05-02,,
C2,call,2025-01-10T09:00:00-05:00,,crm-7
C1,meeting,2024-03-15 14:30,the same review again,crm-1
C9,call,2024-01-01,,
C2,lunch,someday,,
C2,call,2030-01-01,,
""",
    )

    first = cli(config, "import-contacts", str(path))

    assert first.exit_code == PARTIAL, first.output
    assert "3 new, 1 already known, 3 rejected" in first.stdout
    problems = first.stderr.splitlines()
    assert problems == [
        f"{path}:6: no customer with id 'C9'",
        f"{path}:7: kind 'lunch' is not one of meeting, call, email_out, email_in, note; "
        "cannot read moment 'someday'; try e.g. 'yesterday 3pm'",
        f"{path}:8: '2030-01-01' is in the future",
    ]
    ws = Workspace.open(config)
    try:
        imported = [c for c in ws.store.contacts() if c.source == "import"]
        assert [(c.customer_id, c.kind, c.at, c.note) for c in imported] == [
            ("C1", ContactKind.MEETING, datetime(2024, 3, 15, 14, 30, tzinfo=UTC), "quarterly review"),  # noqa: E501
            ("C1", ContactKind.EMAIL_OUT, datetime(2024, 5, 2, 11, tzinfo=UTC), ""),  # noon BST
            ("C2", ContactKind.CALL, datetime(2025, 1, 10, 14, tzinfo=UTC), ""),
        ]  # fmt: skip
    finally:
        ws.close()

    again = cli(config, "import-contacts", str(path))
    assert "0 new, 4 already known, 3 rejected" in again.stdout


def test_a_clean_file_exits_0_and_a_file_without_the_columns_is_one_problem(tmp_path) -> None:
    config = write_workspace(tmp_path, [customer_row("C1")])
    good = cli(
        config, "import-contacts", str(history(tmp_path, "id,kind,date\nC1,call,2025-02-03\n"))
    )
    assert (good.exit_code, good.stdout.strip()) == (0, "1 new, 0 already known, 0 rejected")

    bad = cli(config, "import-contacts", str(history(tmp_path, "who,what\nC1,call\n")))
    assert bad.exit_code == PARTIAL
    assert re.search(r"history.csv:1: missing column\(s\) customer_id, kind, at", bad.stderr)
    missing = cli(config, "import-contacts", str(tmp_path / "nope.csv"))
    assert isinstance(missing.exception, UserError)  # main() prints it as one line, exit 1
    assert str(missing.exception).endswith("nope.csv: no such file")


def test_the_demo_history_fills_the_reports_gap_figures(tmp_path: Path) -> None:
    for name in ("cadence.toml", "policies", "examples"):
        source = MAIN / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    config = tmp_path / "cadence.toml"
    before = cli(config, "report")
    assert before.exit_code == 0, before.output
    assert _everyone(before.stdout)[2:] == ["0", "-", "-", "-", "0", "-", "-"]

    imported = cli(config, "import-contacts", str(tmp_path / "examples" / "contact-history.csv"))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.strip().endswith("0 already known, 0 rejected")

    after = _everyone(cli(config, "report").stdout)
    gaps, median, p90, biggest, score = int(after[2]), after[3], after[4], after[5], after[-1]
    assert gaps > 1000
    assert all(re.fullmatch(r"\d+(\.\d+)?", v) for v in (median, p90, biggest, score)), after
    assert float(score) > 0.5  # the history has feast and famine in it


def _everyone(report: str) -> list[str]:
    """The cells of the overall gap row: contacts, in season, gaps, median, p90, max,
    >max_gap, max_gap, feast/famine."""
    rows = [line.split() for line in report.splitlines() if line.startswith("everyone")]
    gap_rows = [r for r in rows if len(r) == 10]
    assert gap_rows, report
    return gap_rows[0][1:]
