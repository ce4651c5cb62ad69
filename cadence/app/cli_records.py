"""The commands that read or record inputs: ``cadence check`` (every problem at once),
``import`` (the customer file), ``import-contacts`` (contact history), ``log`` (a contact by
hand) and ``snooze`` (pause one customer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from cadence.app import cli_common
from cadence.app.cli_common import (
    PARTIAL,
    ConfigOption,
    NowOption,
    config_path,
    open_workspace,
    parse_now,
)
from cadence.app.terminal import progress_bars, rows_in
from cadence.values.errors import UserError, ValueParseError
from cadence.values.model import Contact, ContactKind
from cadence.values.progress import every
from cadence.values.text import count


def check(config: ConfigOption = None, now: NowOption = None) -> None:
    """Validate cadence.toml, the policies and the customer file: every problem at once."""
    from cadence.app.checks import check_all  # every loader and the planner: not for --help

    with progress_bars(cli_common.err) as tick:
        problems = check_all(config_path(config), parse_now(now), progress=tick)
    errors = [p for p in problems if p.is_error]
    for p in problems:
        (cli_common.err if p.is_error else cli_common.out).print(str(p), markup=False)
    if errors:
        cli_common.err.print(
            f"{count(len(errors), 'error')}, {count(len(problems) - len(errors), 'warning')}"
        )
        raise typer.Exit(1)
    cli_common.out.print(f"all good ({count(len(problems), 'warning')})")


def import_(
    file: Annotated[Path, typer.Argument(help="Customer CSV file.")],
    prune: Annotated[bool, typer.Option(help="Delete customers missing from the file.")] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Upsert customers from a CSV file; rows that cannot be read are listed with reasons."""
    if not file.exists():
        raise UserError(f"{file}: no such file")
    with open_workspace(config_path(config)) as ws, progress_bars(cli_common.err) as tick:
        rows = every(tick, "reading customers", rows_in(file), 1000)
        counts, rejected = ws.import_customers(
            file, prune=prune, today=parse_now(now), progress=rows
        )
    for problem in rejected:
        cli_common.err.print(str(problem), markup=False)
    pruned = f", {counts.pruned} pruned" if prune else ""
    cli_common.out.print(
        f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{len(rejected)} rejected{pruned}"
    )
    if rejected:
        raise typer.Exit(PARTIAL)


def log_(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="Customer id.")],
    kind: Annotated[ContactKind, typer.Option(help="What happened.")] = ContactKind.CALL,
    at: Annotated[str, typer.Option(help="When, e.g. 'yesterday 3pm' (customer's zone).")] = "now",
    note: Annotated[str, typer.Option(help="A note to keep with it.")] = "",
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Record a contact by hand."""
    moment = parse_now(now)
    with open_workspace(config_path(config)) as ws:
        customer = ws.store.customer(customer_id)
        if customer is None:
            raise UserError(f"no customer with id {customer_id!r}")
        zone = ZoneInfo(customer.timezone or ws.policies.for_customer(customer).timezone)
        try:
            when = moment if at.strip().lower() == "now" else ws.reader.moment(at, zone, moment)
        except ValueParseError as exc:
            raise UserError(str(exc)) from None
        contact = Contact(
            customer_id, kind, when, "log", f"log:{kind.value}:{when.isoformat()}", note
        )
        added = ws.store.add_contacts([contact])
    state = "recorded" if added else "already recorded"
    print(f"{state}: {kind.value} with {customer.name} at {when.isoformat()}")


def snooze(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="Customer id.")],
    until: Annotated[
        str, typer.Option(help="First day cadence may book again, e.g. 2027-03-01.")
    ] = "",
    note: Annotated[str, typer.Option(help="Why, shown by explain and the report.")] = "",
    clear: Annotated[bool, typer.Option("--clear", help="End the pause now.")] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Pause one customer until a date: the next cycle cancels their bookings in the pause,
    and their rhythm resumes on that day (an overdue customer joins that day's catch-up)."""
    from cadence.store.snoozes import NAMESPACE, save_snooze
    from cadence.values.model import Snooze

    if not clear and not until:
        raise UserError("give --until DATE (the first day cadence may book again), or --clear")
    with open_workspace(config_path(config)) as ws:
        customer = ws.store.customer(customer_id)
        if customer is None:
            raise UserError(f"no customer with id {customer_id!r}")
        state = ws.store.state(NAMESPACE)
        if clear:
            save_snooze(state, customer_id, None)
            print(f"{customer.name} is no longer snoozed")
            return
        try:
            day = ws.reader.calendar_date(until)
        except ValueParseError as exc:
            raise UserError(f"--until: {exc}") from None
        if day <= parse_now(now).date():
            raise UserError(f"--until {day} is not after today: nothing to pause")
        save_snooze(state, customer_id, Snooze(customer_id, day, note.strip()))
    print(f"{customer.name} snoozed until {day}: bookings before it are cancelled by the next run")


def import_contacts(
    file: Annotated[Path, typer.Argument(help="Contact history CSV file.")],
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Import contact history (customer_id, kind, at, optional note and source_id) from a CSV
    file; rows that cannot be read are listed with their line, and the exit status is 3."""
    from cadence.inputs.contact_history import read_history  # this command's reader alone

    if not file.exists():
        raise UserError(f"{file}: no such file")
    moment = parse_now(now)
    with open_workspace(config_path(config)) as ws:
        if ws.config.customers is not None:  # customers first: a fresh install has none yet
            ws.refresh_customers(moment)
        customers = {c.id: c for c in ws.store.customers()}

        def zone_of(customer: Any) -> ZoneInfo:
            return ZoneInfo(customer.timezone or ws.policies.for_customer(customer).timezone)

        history = read_history(file, customers, zone_of, ws.reader, moment)
        added = ws.store.add_contacts(history.contacts) if history.contacts else 0
    for problem in history.problems:
        cli_common.err.print(str(problem), markup=False)
    known = len(history.contacts) - added + history.repeated
    cli_common.out.print(f"{added} new, {known} already known, {len(history.problems)} rejected")
    if history.problems:
        raise typer.Exit(PARTIAL)
