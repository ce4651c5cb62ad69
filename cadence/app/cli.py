"""The ``cadence`` command line (typer).

Every command takes ``--config PATH`` (default ``./cadence.toml`` or ``$CADENCE_CONFIG``).
Errors a user can fix print one clear message, or the list of problems, without a traceback
and exit 1. The hidden ``--now`` option fixes the clock (demos, tests, simulations).

The commands live by concern: :mod:`.cli_records` (check, import, import-contacts, log,
snooze), :mod:`.cli_planning` (plan, explain), :mod:`.cli_cycle` (run, daemon) and
:mod:`.cli_report` (report, auth); :mod:`.cli_common` holds what they share. They are
registered here, in the order ``cadence --help`` lists them.
"""

from __future__ import annotations

from cadence.app.cli_common import app, auth_app, run_app
from cadence.app.cli_cycle import daemon, run
from cadence.app.cli_planning import explain, plan_
from cadence.app.cli_records import check, import_, import_contacts, log_, snooze
from cadence.app.cli_report import auth_google, report

app.command()(check)
app.command("import")(import_)
app.command("plan")(plan_)
app.command()(explain)
app.command("log")(log_)
app.command()(snooze)
app.command("import-contacts")(import_contacts)
app.command()(run)
app.command()(daemon)
app.command()(report)
auth_app.command("google")(auth_google)

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: user errors become one clear message and exit status 1."""
    run_app()


if __name__ == "__main__":
    main()
