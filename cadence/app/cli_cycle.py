"""The cycle's commands: ``cadence run --once`` (one full cycle, what it did and what it
skipped) and ``cadence daemon`` (the cycle forever, :mod:`cadence.app.daemon`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from cadence.app import cli_common
from cadence.app.cli_common import (
    INTERRUPTED,
    PARTIAL,
    ConfigOption,
    NowOption,
    config_path,
    open_workspace,
    parse_now,
    setup_logging,
)
from cadence.app.terminal import progress_bars, stop_on_ctrl_c
from cadence.values.errors import UserError

if TYPE_CHECKING:  # the store and the cycle are imported by the command that runs
    from cadence.store.repository import Store
    from cadence.sync.reconcile import Action


def run(
    once: Annotated[bool, typer.Option("--once", help="One full cycle, then exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """One full cycle: import, sync contacts, plan, reconcile calendars.

    Exit status: 0 when everything was done; 1 for an error you must fix first (nothing was
    done); 3 when the cycle finished but skipped something (a customer row, a customer, a
    salesperson's calendar or mailbox), each listed on standard error.
    """
    from cadence.sync.result import owner_failures  # the cycle's modules: not for --help
    from cadence.sync.wording import action_line

    if not once:
        raise UserError("use `cadence run --once` for one cycle, or `cadence daemon` to keep going")
    # The actions and the problems are printed below from the result; the log adds only what
    # the result does not carry, unless asked for everything.
    setup_logging(level=logging.INFO if verbose else logging.WARNING, skip_reported=not verbose)
    with open_workspace(config_path(config)) as ws, stop_on_ctrl_c() as stopped:
        with progress_bars(cli_common.err) as tick:
            ws.progress = tick
            result = ws.run_cycle(parse_now(now), stop=stopped.is_set)
        zones = {p.email: p.timezone for p in ws.config.salespeople}
        names = _cancelled_names(ws.store, result.applied)
        for a in result.applied:  # what was done; what could not be done is listed below
            print(action_line(a, zones.get(a.owner, "UTC"), names))
        if result.imported:
            print(result.imported)
        print(result.summary())
        for problem in result.problems:
            cli_common.err.print(f"problem: {problem}", markup=False)
        for who, why in owner_failures(result.failed_owners):  # one line per cause
            cli_common.err.print(f"skipped {who}: {why}", markup=False)
        for customer_id, why in sorted(result.skipped_customers.items()):
            cli_common.err.print(f"skipped customer {customer_id}: {why}", markup=False)
        for line in result.held:
            cli_common.err.print(f"held: {line}", markup=False)
        if "ics" in {ws.backend_name(p) for p in ws.config.salespeople}:
            folder = ws.config.calendars.get("ics", {}).get("folder", "calendars")
            print(f"calendars: {(ws.config.base_dir / folder).resolve()}/<salesperson>.ics")
    if stopped.is_set():
        cli_common.err.print(
            "interrupted: stopped after the write in flight; the next run does the rest"
        )
        raise typer.Exit(INTERRUPTED)
    if not result.complete:
        raise typer.Exit(PARTIAL)


def _cancelled_names(store: Store, applied: Sequence[Action]) -> dict[str, str]:
    """The names a printed action line needs: a cancel has no planned contact to take its
    title from, so it names the customer. Read from the customers of the salespeople whose
    bookings were cancelled (not the whole book: an unchanged run pays for what it printed),
    and any other one by itself (a customer who moved to another salesperson)."""
    wanted = {a.record.customer_id: a.owner for a in applied if a.planned is None and a.record}
    if not wanted:
        return {}
    names = {c.id: c.name for c in store.customers(set(wanted.values())) if c.id in wanted}
    for customer_id in wanted.keys() - names.keys():
        found = store.customer(customer_id)
        if found is not None:
            names[customer_id] = found.name
    return names


def daemon(config: ConfigOption = None) -> None:
    """Run the cycle forever, every `interval` (systemd Type=notify aware)."""
    from cadence.app.daemon import run_daemon

    setup_logging(level=logging.INFO)
    raise typer.Exit(run_daemon(config_path(config)))
