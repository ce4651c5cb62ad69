"""What every ``cadence`` command shares: the typer app and its ``auth`` group, the consoles, the
``--config`` and hidden ``--now`` options, the exit statuses, and opening the workspace.

Commands print through ``out`` and ``err`` looked up on this module when they run
(``cli_common.err``), so that one console can be swapped for all of them. They are rich
consoles made when first looked up (a command that prints none of its lines through rich, such
as ``explain``, does not import it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cadence.values.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from cadence.sync.workspace import Workspace

EXIT_STATUSES = "\n\n".join(
    [
        "Exit statuses (every command):",
        "0 everything was done.",
        "1 an error you must fix first; nothing was done.",
        "3 done, but something was skipped, each listed on standard error: rejected rows "
        "(import, import-contacts, run), a customer that could not be planned, a salesperson "
        "whose calendar or mailbox failed.",
        "130 interrupted by Ctrl-C (run --once prints what it did before stopping).",
    ]
)

app = typer.Typer(
    name="cadence",
    help="Keeps every customer in a steady contact rhythm, booked into salespeople's calendars.",
    epilog=EXIT_STATUSES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
auth_app = typer.Typer(help="Store credentials for a calendar backend.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


def __getattr__(name: str) -> Console:
    """``out`` (standard output) and ``err`` (standard error), made on first look-up."""
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    console = Console(stderr=name == "err", highlight=False, soft_wrap=True)
    globals()[name] = console
    return console


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="CADENCE_CONFIG",
        help="cadence.toml to use [default: ./cadence.toml].",
        show_default=False,
    ),
]
NowOption = Annotated[
    str | None, typer.Option("--now", hidden=True, help="Pretend it is this moment (ISO 8601).")
]
DEFAULT_CONFIG = Path("cadence.toml")
PARTIAL = 3  # exit status: done, but some rows, customers or salespeople were skipped
INTERRUPTED = 130  # exit status after Ctrl-C (128 + SIGINT), as shells expect
_chosen_config: list[Path] = []  # set by the global --config (before the command name)


@app.callback()
def _root(config: ConfigOption = None) -> None:
    """cadence: steady contact rhythms, booked into calendars."""
    _chosen_config[:] = [config] if config else []


def config_path(given: Path | None) -> Path:
    """The command's --config, else the global one, else ./cadence.toml."""
    return given or (_chosen_config[0] if _chosen_config else DEFAULT_CONFIG)


def parse_now(text: str | None) -> datetime:
    """The moment of ``--now`` (aware, ISO 8601), or the real one when it is not given."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--now {text!r} is not an ISO 8601 moment") from None
    if value.tzinfo is None:
        raise UserError(f"--now {text!r} needs a UTC offset, e.g. 2026-11-23T08:00+00:00")
    return value


@contextmanager
def open_workspace(config: Path) -> Iterator[Workspace]:
    """The workspace of ``config``, closed when the command is done with it. The holidays
    package's answers are kept in the state directory meanwhile (:func:`daycal.tables_on_disk`:
    a command that finds them there does not import the package)."""
    from cadence.sync.workspace import Workspace  # the store, planner...: not for --help
    from cadence.values import daycal
    from connectors.localfiles import default_state_dir

    with daycal.tables_on_disk(default_state_dir(os.environ)):
        ws = Workspace.open(config)
        try:
            yield ws
        finally:
            ws.close()


def setup_logging(level: int, *, skip_reported: bool = False) -> None:
    """Log lines for a terminal or the journal (:mod:`cadence.app.logsetup`)."""
    from cadence.app.logsetup import configure

    configure(level, skip_reported=skip_reported)


def run_app() -> None:
    """Run the app: user errors become one clear message and exit status 1."""
    try:
        app()
    except UserError as exc:
        _err().print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        _err().print("interrupted")
        sys.exit(INTERRUPTED)


def _err() -> Console:
    """``err`` as the commands see it (this module's attribute, made or swapped)."""
    console: Console = sys.modules[__name__].err
    return console
