"""The planning commands, dry runs that write nothing: ``cadence plan`` (what would be booked,
and why; ``--changes``: the writes the next run makes) and ``cadence explain`` (one customer's
history, policy and windows), with the JSON and table shapes they print."""

from __future__ import annotations

import difflib
import json
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from cadence.app import cli_common
from cadence.app.cli_common import ConfigOption, NowOption, config_path, open_workspace, parse_now
from cadence.app.terminal import progress_bars
from cadence.values.errors import UserError
from cadence.values.model import PlanStatus

# ZoneInfo's own cache keeps only the last eight zones alive: a listing for 500 salespeople
# loaded their zone files again and again.
_zone = cache(ZoneInfo)

if TYPE_CHECKING:  # the cycle's and planner's modules are imported by the commands that run
    from cadence.sync.reconcile import Action
    from cadence.sync.workspace import Workspace
    from cadence.values.bookings import BookingRecord
    from cadence.values.model import Customer, PlannedContact


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
    from cadence.sync.reconcile import ActionKind

    moment = parse_now(now)
    with (
        open_workspace(config_path(config)) as ws,
        progress_bars(cli_common.err, not json_out) as tick,
    ):
        ws.progress = tick
        # Only the salespeople asked about are planned (they share neither time nor capacity,
        # so their part of the plan is the same), unless --changes lists every change.
        customers, owners, quiet_kept = _scope(ws, moment, customer, owner, changes)
        records: list[BookingRecord] | None = None
        if changes:  # read once, for the plan and the decision alike
            records = (
                ws.store.bookings() if owners is None else ws.store.bookings_planned_with(owners)
            )
        # With a changed customer file, the plan of some salespeople routes bookings by it.
        routed = owners is not None and ws.customer_file_changed()
        result = ws.plan(
            moment,
            forecast=forecast,
            customers=customers,
            owners=owners,
            records=None if routed else records,
        )
        zones = {p.email: p.timezone for p in ws.config.salespeople}
        if changes:
            theirs = customers if owners is None else [c for c in customers if c.owner in owners]
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


def _scope(
    ws: Workspace, moment: datetime, customer: str | None, owner: str | None, changes: bool
) -> tuple[list[Customer], set[str] | None, int]:
    """The customers to plan, the salespeople planned (None: everyone) and the bookings kept by
    the salespeople left alone. Only the customers of the salespeople planned are read when the
    store can tell who they are (the customer file as last imported)."""
    if customer is not None or owner is not None:
        asked = _asked(ws, customer, owner)
        if asked is not None:
            return ws.customers_as_run_sees_them(moment, asked), asked, 0
        customers = ws.customers_as_run_sees_them(moment)
        _known(customers, customer, owner)
        if customer is not None:
            return customers, {c.owner for c in customers if c.id == customer}, 0
        assert owner is not None
        return customers, {owner.lower()}, 0
    if changes and ws.incremental and not ws.customer_file_changed():
        from cadence.sync.incremental import Tracker

        if not ws.store.has_customers():
            _known([], None, None)
        # The salespeople whose inputs are as when their last cycle did nothing keep every
        # booking (cadence.sync.incremental): only the others are planned (a policy edit: the
        # salespeople with customers in the edited segment).
        busy, quiet = Tracker(ws, moment).split(ws.owners_known())
        if quiet:
            owners = set(busy)
            return ws.store.customers(owners), owners, sum(q.kept for q in quiet.values())
        # No one is left alone: the whole book, as the cycle then plans it.
        return ws.store.customers(), None, 0
    customers = ws.customers_as_run_sees_them(moment)
    _known(customers, customer, owner)
    return customers, None, 0


def _asked(ws: Workspace, customer: str | None, owner: str | None) -> set[str] | None:
    """The salesperson ``--customer`` / ``--owner`` name, from the store alone; None when the
    customer file changed since its import or a name is not known (every customer is read
    then: the next run's owners, or the closest name for the error)."""
    if ws.customer_file_changed():
        return None
    if owner is not None and not ws.store.has_customers(owner.lower()):
        return None
    if customer is not None:
        found = ws.store.customer(customer)
        return None if found is None else {found.owner}
    assert owner is not None
    return {owner.lower()}


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
        return value.astimezone(_zone(zone)).isoformat()
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
    return f"{c.start.astimezone(_zone(zone)):%a %Y-%m-%d %H:%M}"


def _print_plan(contacts: list[PlannedContact], zones: dict[str, str]) -> None:
    if not contacts:
        cli_common.out.print("nothing planned")
        return
    if not cli_common.out.is_terminal:
        for c in contacts:
            flag = " [forced]" if c.forced else ""
            print(
                f"{_when(c, zones.get(c.owner, 'UTC'))}  {c.owner}  {c.title}  "
                f"({c.status.value}{flag}): {'; '.join(c.reasons)}"
            )
        return
    from rich.table import Table

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
    cli_common.out.print(table)
    cli_common.out.print(f"{len(contacts)} contacts")


def _print_changes(
    actions: list[Action],
    zones: dict[str, str],
    names: dict[str, str],
    as_json: bool,
    kept: int,
) -> None:
    from cadence.sync.wording import action_line

    if as_json:
        rows = [action_json(a, zones, names) for a in actions]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for a in actions:
        print(action_line(a, zones.get(a.owner, "UTC"), names))
    still = f"{kept} booking{'s' if kept != 1 else ''} kept as they are (still in their window)"
    if not actions:
        print(f"no changes: the calendars already hold the plan; {still}")
        return
    print(f"{len(actions)} change{'s' if len(actions) != 1 else ''}; {still}")


def action_json(a: Action, zones: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    """One calendar write, as `plan --changes --json` shows it (times in the owner's zone)."""
    from cadence.sync.reconcile import ActionKind
    from cadence.sync.wording import action_title

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


def explain(
    customer_id: Annotated[str, typer.Argument(metavar="ID", help="Customer id.")],
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """A customer's history, policy, windows, and why the next contact is when it is."""
    from cadence.sync.wording import when

    moment = parse_now(now)
    with open_workspace(config_path(config)) as ws:
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
