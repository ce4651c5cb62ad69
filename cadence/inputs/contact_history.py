"""The contact history file: contacts from before cadence, read by ``cadence import-contacts``.

A CSV with a header row; columns (any order, header names case-insensitive):

* ``customer_id`` (or ``id``): the customer's id, as in the customer file (required);
* ``kind``: ``meeting``, ``call``, ``email_out``, ``email_in`` or ``note`` (required;
  ``email out`` and ``Email-Out`` too);
* ``at`` (or ``date``, ``when``): ``2024-03-15 14:30``, ``2024-03-15T14:30+01:00`` or
  ``15 March 2024 2pm``, in the customer's zone unless an offset is given; a date alone is noon
  that day (required);
* ``note``: free text kept with the contact (optional);
* ``source_id``: the contact's id in the system it came from, a CRM's activity id (optional).

A row that cannot be used is rejected with its line number and every reason (an unknown
customer, kind or date, a date in the future); the other rows are read. The same contact twice
(same customer and ``source_id``, or without one the same customer, kind and moment) is one
contact, in the file and against what an earlier import stored: importing a file again adds
nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from pathlib import Path

from cadence.values.dates import DateReader
from cadence.values.errors import Problem, ValueParseError
from cadence.values.model import Contact, ContactKind, Customer

SOURCE = "import"  # Contact.source of imported history
_ALIASES = {
    "customer_id": ("customer_id", "customer", "id"),
    "kind": ("kind", "type"),
    "at": ("at", "date", "when", "datetime"),
    "note": ("note", "notes"),
    "source_id": ("source_id",),
}
_KINDS = {kind.value: kind for kind in ContactKind}
NOON = time(12, 0)


@dataclass
class History:
    """What a history file holds: the contacts, the rows rejected, and repeats within it."""

    contacts: list[Contact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    repeated: int = 0


def read_history(
    path: Path,
    customers: Mapping[str, Customer],
    zone_of: Callable[[Customer], tzinfo],
    reader: DateReader,
    now: datetime,
) -> History:
    """The contacts in the history file at ``path`` (see the module docs). A file that cannot
    be read at all, or has no ``customer_id``/``kind``/``at`` column, gives one problem and no
    contacts."""
    history = History()
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None:
                history.problems.append(Problem(name, 1, message="the file is empty"))
                return history
            columns = _columns(header)
            missing = [c for c in ("customer_id", "kind", "at") if c not in columns]
            if missing:
                message = f"missing column(s) {', '.join(missing)} (header: {', '.join(header)})"
                history.problems.append(Problem(name, 1, message=message))
                return history
            seen: set[tuple[str, str]] = set()
            for row in rows:
                line = rows.line_num
                if not any(cell.strip() for cell in row):
                    continue
                values = {key: row[i].strip() if i < len(row) else "" for key, i in columns.items()}
                contact, reasons = _contact(values, customers, zone_of, reader, now)
                if contact is None:
                    history.problems.append(Problem(name, line, message="; ".join(reasons)))
                    continue
                key = (contact.customer_id, contact.source_id)
                if key in seen:
                    history.repeated += 1
                    continue
                seen.add(key)
                history.contacts.append(contact)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        history.problems.append(Problem(name, 0, message=f"cannot read the file: {reason}"))
        history.contacts.clear()
    return history


def _columns(header: list[str]) -> dict[str, int]:
    by_name = {cell.strip().lower().replace(" ", "_"): i for i, cell in enumerate(header)}
    found = {}
    for key, names in _ALIASES.items():
        for alias in names:
            if alias in by_name:
                found[key] = by_name[alias]
                break
    return found


def _contact(
    values: Mapping[str, str],
    customers: Mapping[str, Customer],
    zone_of: Callable[[Customer], tzinfo],
    reader: DateReader,
    now: datetime,
) -> tuple[Contact | None, list[str]]:
    reasons = []
    customer = customers.get(values["customer_id"])
    if not values["customer_id"]:
        reasons.append("customer_id is empty")
    elif customer is None:
        reasons.append(f"no customer with id {values['customer_id']!r}")
    kind = _KINDS.get(values["kind"].lower().replace(" ", "_").replace("-", "_"))
    if kind is None:
        reasons.append(f"kind {values['kind']!r} is not one of {', '.join(_KINDS)}")
    at = None
    if not values["at"]:
        reasons.append("at (the date) is empty")
    elif customer is not None:
        try:
            at = _moment(values["at"], zone_of(customer), reader, now)
        except ValueParseError as exc:
            reasons.append(str(exc))
    if reasons or customer is None or kind is None or at is None:
        return None, reasons
    source_id = values.get("source_id") or f"{kind.value}:{at.isoformat()}"
    return Contact(customer.id, kind, at, SOURCE, source_id, values.get("note", "")), []


def _moment(text: str, zone: tzinfo, reader: DateReader, now: datetime) -> datetime:
    """An ISO 8601 moment (an offset wins over ``zone``), an ISO date (noon in ``zone``), or
    whatever ``reader`` understands, in ``zone``; never in the future."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return reader.moment(text, zone, now)
    if len(text) <= 10:  # a date alone: noon, so no zone moves it to another day
        parsed = datetime.combine(parsed.date(), NOON)
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    if aware > now:
        raise ValueParseError(f"{text!r} is in the future")
    return aware


__all__ = ["SOURCE", "History", "read_history"]
