"""What one cycle did (:class:`CycleResult`): for the CLI, the logs and the daemon's STATUS line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cadence.sync.reconcile import Action
from cadence.sync.wording import count
from cadence.values.model import Customer


@dataclass
class CycleResult:
    """What one cycle did, for the CLI, the logs and the daemon's STATUS line."""

    created: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    contacts_added: int = 0
    imported: str = ""
    failed_owners: dict[str, str] = field(default_factory=dict)
    skipped_customers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # inputs that could not be used at all
    held: list[str] = field(default_factory=list)  # set aside by a backend, retried later
    # cadence events a calendar holds but cannot read ("owner: uid"), left exactly as they are
    unreadable: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)  # what the plan asked for
    applied: list[Action] = field(default_factory=list)  # what the calendars confirmed
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        """Everything was done: no salesperson, customer or input was skipped."""
        return not (
            self.failed_owners
            or self.skipped_customers
            or self.problems
            or self.held
            or self.unreadable
        )

    def attention(self, customers: Mapping[str, Customer] | None = None) -> list[str]:
        """Everything this cycle skipped, one line each: inputs, salespeople, customers."""
        lines = list(self.problems) + list(self.held)
        lines += [
            f"event {item.partition(': ')[2]} in {item.partition(': ')[0]}'s calendar cannot be "
            "read; left as it is until fixed"
            for item in self.unreadable
        ]
        lines += [f"{who} skipped: {why}" for who, why in owner_failures(self.failed_owners)]
        for customer_id, why in sorted(self.skipped_customers.items()):
            c = (customers or {}).get(customer_id)
            name = f"{c.name} ({customer_id})" if c else customer_id
            lines.append(f"customer {name} skipped: {why}")
        return lines

    def summary(self) -> str:
        text = (
            f"created {self.created}, moved {self.moved}, cancelled {self.cancelled}, "
            f"unchanged {self.unchanged}"
        )
        if self.contacts_added:
            text += f"; {self.contacts_added} new contacts"
        if self.failed_owners:
            text += f"; {count(len(self.failed_owners), 'salesperson', 'salespeople')} skipped"
        if self.skipped_customers:
            text += f"; {count(len(self.skipped_customers), 'customer')} skipped"
        if self.problems:
            text += f"; {count(len(self.problems), 'input problem')}"
        if self.held:
            text += f"; {count(len(self.held), 'message')} held"
        if self.unreadable:
            text += f"; {count(len(self.unreadable), 'unreadable event')} left as they are"
        return text


def owner_failures(failed: Mapping[str, str]) -> list[tuple[str, str]]:
    """Salespeople skipped for the same cause, one entry per cause: ``("salesperson X", why)``,
    or ``("3 salespeople (X, Y, Z)", why)`` when a cause shared by the backend (a service
    account's key refused, a server down) failed several of them; a cause naming the
    salesperson names them as "each of them"."""
    groups: dict[str, list[str]] = {}
    for owner, why in sorted(failed.items()):
        groups.setdefault(why.replace(owner, "{owner}"), []).append(owner)
    found = []
    for cause, owners in groups.items():
        if len(owners) == 1:
            found.append((f"salesperson {owners[0]}", cause.replace("{owner}", owners[0])))
            continue
        shown = ", ".join(owners[:3]) + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")
        who = f"{count(len(owners), 'salesperson', 'salespeople')} ({shown})"
        found.append((who, cause.replace("{owner}", "each of them")))
    return sorted(found, key=lambda item: item[0])
