"""The ``cadence`` command line (typer).

Every command takes ``--config PATH`` (default ``./cadence.toml`` or ``$CADENCE_CONFIG``).
Errors a user can fix print one clear message, or the list of problems, without a traceback
and exit 1. The hidden ``--now`` option fixes the clock (demos, tests, simulations).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from cadence.app.checks import check_all
from cadence.app.terminal import progress_bars, rows_in, stop_on_ctrl_c
from cadence.inputs.config import load_config
from cadence.inputs.contact_history import read_history
from cadence.sync.incremental import Tracker
from cadence.sync.reconcile import Action, ActionKind
from cadence.sync.result import owner_failures
from cadence.sync.wording import action_line, action_title, count, when
from cadence.sync.workspace import Workspace
from cadence.values.errors import UserError, ValueParseError
from cadence.values.model import Contact, ContactKind, Customer, PlannedContact, PlanStatus
from cadence.values.progress import every

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

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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


def _config(given: Path | None) -> Path:
    """The command's --config, else the global one, else ./cadence.toml."""
    return given or (_chosen_config[0] if _chosen_config else DEFAULT_CONFIG)


def _now(text: str | None) -> datetime:
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
def _workspace(config: Path) -> Iterator[Workspace]:
    ws = Workspace.open(config)
    try:
        yield ws
    finally:
        ws.close()


# ---- check / import ---------------------------------------------------------------------------


@app.command()
def check(config: ConfigOption = None, now: NowOption = None) -> None:
    """Validate cadence.toml, the policies and the customer file: every problem at once."""
    with progress_bars(err) as tick:
        problems = check_all(_config(config), _now(now), progress=tick)
    errors = [p for p in problems if p.is_error]
    for p in problems:
        (err if p.is_error else out).print(str(p), markup=False)
    if errors:
        err.print(f"{count(len(errors), 'error')}, {count(len(problems) - len(errors), 'warning')}")
        raise typer.Exit(1)
    out.print(f"all good ({count(len(problems), 'warning')})")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Customer CSV file.")],
    prune: Annotated[bool, typer.Option(help="Delete customers missing from the file.")] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Upsert customers from a CSV file; rows that cannot be read are listed with reasons."""
    if not file.exists():
        raise UserError(f"{file}: no such file")
    with _workspace(_config(config)) as ws, progress_bars(err) as tick:
        rows = every(tick, "reading customers", rows_in(file), 1000)
        counts, rejected = ws.import_customers(file, prune=prune, today=_now(now), progress=rows)
    for problem in rejected:
        err.print(str(problem), markup=False)
    pruned = f", {counts.pruned} pruned" if prune else ""
    out.print(
        f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{len(rejected)} rejected{pruned}"
    )
    if rejected:
        raise typer.Exit(PARTIAL)


# ---- plan / explain -------------------------------------------------------------------------


@app.command("plan")
def plan_(
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    customer: Annotated[str | None, typer.Option(help="Only this customer id.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this salesperson.")] = None,
    forecast: Annotated[bool, typer.Option(help="Also show contacts past the horizon.")] = False,
    changes: Annotated[
        bool, typer.Option(help="List create / move / cancel against what is booked now.")
    ] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Dry run: what would be booked, and why. Nothing is written anywhere.

    With --changes: exactly the writes the next `cadence run --once` makes, if nothing changes
    in the calendars and mailboxes meanwhile.
    """
    moment = _now(now)
    with _workspace(_config(config)) as ws, progress_bars(err, not json_out) as tick:
        ws.progress = tick
        customers = ws.customers_as_run_sees_them(moment)
        _known(customers, customer, owner)
        # Only the salespeople asked about are planned (they share neither time nor capacity,
        # so their part of the plan is the same), unless --changes lists every change.
        owners = {owner.lower()} if owner is not None else None
        if customer is not None:
            owners = {c.owner for c in customers if c.id == customer}
        quiet_kept = 0
        if changes and owners is None and ws.incremental and not ws.customer_file_changed():
            # The salespeople whose inputs are as when their last cycle did nothing keep every
            # booking (cadence.sync.incremental): only the others are planned (a policy edit: the
            # salespeople with customers in the edited segment).
            busy, quiet = Tracker(ws, moment).split(ws.owners_known())
            owners, quiet_kept = set(busy), sum(q.kept for q in quiet.values())
        result = ws.plan(moment, forecast=forecast, customers=customers, owners=owners)
        zones = {p.email: p.timezone for p in ws.config.salespeople}
        if changes:
            theirs = customers if owners is None else [c for c in customers if c.owner in owners]
            records = None if owners is None else ws.store.bookings_planned_with(owners)
            decision = ws.decide(result, theirs, records=records)

            def wanted(a: Action) -> bool:
                return (customer is None or a.customer_id == customer) and (
                    owner is None or a.owner == owner.lower()
                )

            kept = quiet_kept + sum(
                1 for a in decision.actions if a.kind is ActionKind.KEEP and wanted(a)
            )
            names = {c.id: c.name for c in customers}
            changed = [a for a in decision.changes if wanted(a)]
            _print_changes(changed, zones, names, json_out, kept)
            return
    contacts = [
        c
        for c in (result.contacts if forecast else result.booked())
        if (customer is None or c.customer_id == customer)
        and (owner is None or c.owner == owner.lower())
    ]
    if json_out:
        print(json.dumps([contact_json(c, zones) for c in contacts], indent=2, ensure_ascii=False))
        return
    _print_plan(contacts, zones)


def _known(customers: list[Customer], customer: str | None, owner: str | None) -> None:
    """Refuse a filter that names nobody (a typo would print "nothing planned")."""
    if not customers:
        raise UserError(
            "no customers yet: run `cadence import FILE.csv`, or set `customers = ...` in "
            "cadence.toml and run `cadence run --once`"
        )
    if customer is not None and customer not in {c.id for c in customers}:
        raise UserError(f"no customer with id {customer!r}{_did_you_mean(customer, customers)}")
    if owner is not None and owner.lower() not in {c.owner for c in customers}:
        owners = sorted({c.owner for c in customers})
        close = difflib.get_close_matches(owner.lower(), owners, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (owners: {', '.join(owners[:5])})"
        raise UserError(f"no customer is owned by {owner!r}{hint}")


def _did_you_mean(customer_id: str, customers: list[Customer]) -> str:
    ids = [c.id for c in customers]
    close = difflib.get_close_matches(customer_id, ids, n=1) or difflib.get_close_matches(
        customer_id.upper(), ids, n=1
    )
    return f"; did you mean {close[0]!r}?" if close else ""


def _local(value: datetime | date, zone: str) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).isoformat()
    return value.isoformat()


def contact_json(c: PlannedContact, zones: dict[str, str]) -> dict[str, Any]:
    """One planned contact as SPEC 8 describes it (times in the salesperson's zone)."""
    zone = zones.get(c.owner, "UTC")
    return {
        "customer_id": c.customer_id,
        "customer_name": c.customer_name,
        "owner": c.owner,
        "kind": c.kind.value,
        "title": c.title,
        "key": c.key,
        "start": _local(c.start, zone),
        "end": _local(c.end, zone),
        "all_day": c.all_day,
        "ideal": c.ideal.isoformat(),
        "window_start": c.window_start.isoformat(),
        "window_end": c.window_end.isoformat(),
        "status": c.status.value,
        "forced": c.forced,
        "over_capacity": c.over_capacity,
        "within_horizon": c.within_horizon,
        "reasons": list(c.reasons),
    }


def _when(c: PlannedContact, zone: str) -> str:
    if c.all_day:
        return f"{c.day:%a %Y-%m-%d}  all day"
    assert isinstance(c.start, datetime)
    return f"{c.start.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M}"


def _print_plan(contacts: list[PlannedContact], zones: dict[str, str]) -> None:
    if not contacts:
        out.print("nothing planned")
        return
    if not out.is_terminal:
        for c in contacts:
            flag = " [forced]" if c.forced else ""
            print(
                f"{_when(c, zones.get(c.owner, 'UTC'))}  {c.owner}  {c.title}  "
                f"({c.status.value}{flag}): {'; '.join(c.reasons)}"
            )
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("when (owner's time)", "owner", "title", "status", "why"):
        table.add_column(column, overflow="fold")
    for c in contacts:
        status = c.status.value + (" · forced" if c.forced else "")
        table.add_row(
            _when(c, zones.get(c.owner, "UTC")),
            c.owner,
            c.title,
            status,
            "; ".join(c.reasons),
            style="yellow" if c.forced else None,
        )
    out.print(table)
    out.print(f"{len(contacts)} contacts")


def _print_changes(
    actions: list[Action],
    zones: dict[str, str],
    names: dict[str, str],
    as_json: bool,
    kept: int,
) -> None:
    rows = [action_json(a, zones, names) for a in actions]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for a in actions:
        print(action_line(a, zones.get(a.owner, "UTC"), names))
    still = f"{kept} booking{'s' if kept != 1 else ''} kept as they are (still in their window)"
    if not rows:
        print(f"no changes: the calendars already hold the plan; {still}")
        return
    print(f"{len(rows)} change{'s' if len(rows) != 1 else ''}; {still}")


def action_json(a: Action, zones: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    """One calendar write, as `plan --changes --json` shows it (times in the owner's zone)."""
    zone = zones.get(a.owner, "UTC")
    return {
        "action": a.kind.value,
        "owner": a.owner,
        "customer_id": a.customer_id,
        "title": action_title(a, names),
        "from": _local(a.record.start, zone) if a.record else None,
        "to": _local(a.planned.start, zone)
        if a.planned and a.kind is not ActionKind.CANCEL
        else None,
        "reason": a.reason,
    }


@app.command()
def explain(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="Customer id.")],
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """A customer's history, policy, windows, and why the next contact is when it is."""
    moment = _now(now)
    with _workspace(_config(config)) as ws:
        customer = ws.store.customer(customer_id)
        if customer is None:
            raise UserError(f"no customer with id {customer_id!r} (run `cadence import` first?)")
        policy = ws.policies.for_customer(customer)
        owner = customer.owner
        if ws.customer_file_changed():  # the next cycle imports it: its owner as the file says
            now_seen = {c.id: c for c in ws.customers_as_run_sees_them(moment)}
            owner = now_seen[customer_id].owner if customer_id in now_seen else owner
        # Salespeople share neither time nor capacity: planning this customer's salesperson
        # alone gives exactly their part of the whole book's plan.
        result = ws.plan(moment, forecast=True, owners={owner})
        history = ws.store.contacts(customer_id)
        bookings = ws.store.bookings(customer_id=customer_id)
        last_skip = ws.skipped_customers().get(customer_id)
        zone = next((p.timezone for p in ws.config.salespeople if p.email == customer.owner), "UTC")
    note = result.notes.get(customer_id)
    print(
        f"{customer.name} ({customer.id}), owner {customer.owner}, status {customer.status.value}"
    )
    print(
        f"  segment {customer.segment or 'default'} -> policy [{policy.name}]: "
        f"every {policy.every}, min_gap {policy.min_gap}, max_gap {policy.max_gap}, meeting "
        f"{int(policy.meeting.total_seconds() // 60)} min"
    )
    print(
        f"  zone {customer.timezone or policy.timezone}, country {customer.country or '-'}, "
        f"industry {customer.industry or '-'}, customer since {customer.customer_since or '-'}"
    )
    if customer.busy_seasons:
        print(f"  own busy seasons: {'; '.join(customer.busy_seasons)}")
    print("History:")
    if customer.last_contact:
        print(f"  {customer.last_contact}  last_contact (customer file)")
    for h in history[-15:]:
        print(
            f"  {h.at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}  {h.kind.value:<9} "
            f"{h.source}{': ' + h.note if h.note else ''}"
        )
    if not history and not customer.last_contact:
        print("  no contacts on record")
    if bookings:
        print("Bookings:")
        for b in bookings:
            print(f"  {when(b.start, zone)}  {b.kind.value:<20} {b.state.value}")
    print("Plan:")
    planned = [c for c in result.contacts if c.customer_id == customer_id]
    placed = {b.key: b.reasons for b in bookings if b.reasons}
    for c in planned:
        horizon = "" if c.within_horizon else "  (forecast)"
        at = when(c.day if c.all_day else c.start, zone)
        print(f"  {at}  {c.title}  [{c.status.value}]{horizon}")
        print(
            f"      window {c.window_start} .. {c.window_end}, ideal {c.ideal}"
            + ("  FORCED" if c.forced else "")
        )
        for reason in c.reasons:
            print(f"      - {reason}")
        # A booking kept where it is: what placed it there (a move for capacity, a season).
        kept = placed.get(c.key, ()) if c.status is PlanStatus.BOOKED else ()
        for reason in (r for r in kept if r not in c.reasons):
            print(f"      - when booked: {reason}")
    if not planned:
        print("  nothing planned")
    for message in note.messages if note else []:
        print(f"  note: {message}")
    if last_skip and customer_id not in result.skipped:
        print(f"  note: the last cycle skipped this customer: {last_skip}")


# ---- log ------------------------------------------------------------------------------------


@app.command("log")
def log_(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="Customer id.")],
    kind: Annotated[ContactKind, typer.Option(help="What happened.")] = ContactKind.CALL,
    at: Annotated[str, typer.Option(help="When, e.g. 'yesterday 3pm' (customer's zone).")] = "now",
    note: Annotated[str, typer.Option(help="A note to keep with it.")] = "",
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Record a contact by hand."""
    moment = _now(now)
    with _workspace(_config(config)) as ws:
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


@app.command()
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
    with _workspace(_config(config)) as ws:
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
        if day <= _now(now).date():
            raise UserError(f"--until {day} is not after today: nothing to pause")
        save_snooze(state, customer_id, Snooze(customer_id, day, note.strip()))
    print(f"{customer.name} snoozed until {day}: bookings before it are cancelled by the next run")


@app.command("import-contacts")
def import_contacts(
    file: Annotated[Path, typer.Argument(help="Contact history CSV file.")],
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Import contact history (customer_id, kind, at, optional note and source_id) from a CSV
    file; rows that cannot be read are listed with their line, and the exit status is 3."""
    if not file.exists():
        raise UserError(f"{file}: no such file")
    moment = _now(now)
    with _workspace(_config(config)) as ws:
        if ws.config.customers is not None:  # customers first: a fresh install has none yet
            ws.refresh_customers(moment)
        customers = {c.id: c for c in ws.store.customers()}

        def zone_of(customer: Any) -> ZoneInfo:
            return ZoneInfo(customer.timezone or ws.policies.for_customer(customer).timezone)

        history = read_history(file, customers, zone_of, ws.reader, moment)
        added = ws.store.add_contacts(history.contacts) if history.contacts else 0
    for problem in history.problems:
        err.print(str(problem), markup=False)
    known = len(history.contacts) - added + history.repeated
    out.print(f"{added} new, {known} already known, {len(history.problems)} rejected")
    if history.problems:
        raise typer.Exit(PARTIAL)


# ---- run / daemon / report / auth -------------------------------------------------------------


@app.command()
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
    if not once:
        raise UserError("use `cadence run --once` for one cycle, or `cadence daemon` to keep going")
    # The actions and the problems are printed below from the result; the log adds only what
    # the result does not carry, unless asked for everything.
    _logging(level=logging.INFO if verbose else logging.WARNING, skip_reported=not verbose)
    with _workspace(_config(config)) as ws, stop_on_ctrl_c() as stopped:
        with progress_bars(err) as tick:
            ws.progress = tick
            result = ws.run_cycle(_now(now), stop=stopped.is_set)
        zones = {p.email: p.timezone for p in ws.config.salespeople}
        names = {c.id: c.name for c in ws.store.customers()} if result.applied else {}
        for a in result.applied:  # what was done; what could not be done is listed below
            print(action_line(a, zones.get(a.owner, "UTC"), names))
        if result.imported:
            print(result.imported)
        print(result.summary())
        for problem in result.problems:
            err.print(f"problem: {problem}", markup=False)
        for who, why in owner_failures(result.failed_owners):  # one line per cause
            err.print(f"skipped {who}: {why}", markup=False)
        for customer_id, why in sorted(result.skipped_customers.items()):
            err.print(f"skipped customer {customer_id}: {why}", markup=False)
        for line in result.held:
            err.print(f"held: {line}", markup=False)
        if "ics" in {ws.backend_name(p) for p in ws.config.salespeople}:
            folder = ws.config.calendars.get("ics", {}).get("folder", "calendars")
            print(f"calendars: {(ws.config.base_dir / folder).resolve()}/<salesperson>.ics")
    if stopped.is_set():
        err.print("interrupted: stopped after the write in flight; the next run does the rest")
        raise typer.Exit(INTERRUPTED)
    if not result.complete:
        raise typer.Exit(PARTIAL)


@app.command()
def daemon(config: ConfigOption = None) -> None:
    """Run the cycle forever, every `interval` (systemd Type=notify aware)."""
    from cadence.app.daemon import run_daemon

    _logging(level=logging.INFO)
    raise typer.Exit(run_daemon(_config(config)))


@app.command()
def report(
    html: Annotated[
        Path | None, typer.Option(help="Also write a self-contained HTML page.")
    ] = None,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Rhythm health by segment and salesperson."""
    if html is not None and not html.parent.is_dir():
        raise UserError(f"cannot write {html}: there is no folder {html.parent}")
    from cadence.report.figures import build_report
    from cadence.report.html import render_html
    from cadence.report.text import render_text
    from cadence.store.snoozes import NAMESPACE as SNOOZE_NAMESPACE
    from cadence.store.snoozes import read_snoozes

    moment = _now(now)
    with _workspace(_config(config)) as ws, progress_bars(err) as tick:
        ws.progress = tick
        customers = ws.store.customers()
        planned = ws.store.plan() or ws.plan(moment, read_calendars=False).contacts
        result = build_report(
            customers,
            ws.store.contacts_by_customer(),
            planned,
            ws.policies,
            ws.salespeople(customers),
            moment,
            season_parser=ws.season,
            attention=ws.attention(),
            snoozes=read_snoozes(ws.store.state(SNOOZE_NAMESPACE)),
            progress=tick,
        )
    print(render_text(result))
    if html is not None:
        try:
            html.write_text(render_html(result), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {html}: {exc.strerror or exc}") from None
        print(f"wrote {html}")


@auth_app.command("google")
def auth_google(
    email: Annotated[str, typer.Argument(help="The salesperson's Google account.")],
    config: ConfigOption = None,
) -> None:
    """Authorise cadence for one salesperson's Google calendar and mail (OAuth, once)."""
    from connectors.base import BackendContext
    from connectors.google import run_oauth_flow

    cfg = load_config(_config(config))
    section = cfg.calendars.get("google")
    if section is None:
        raise UserError("cadence.toml has no [calendar.google] section")
    context = BackendContext(base_dir=cfg.base_dir, salespeople=cfg.salespeople, env=os.environ)
    path = run_oauth_flow(section, context, email.lower())
    print(f"stored the token for {email} in {path} (readable by this user only)")


def _logging(level: int, *, skip_reported: bool = False) -> None:
    from cadence.app.logsetup import configure

    configure(level, skip_reported=skip_reported)


def main() -> None:
    """Console-script entry point: user errors become one clear message and exit status 1."""
    try:
        app()
    except UserError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
