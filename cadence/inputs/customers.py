"""The customer CSV reader: rows become :class:`~cadence.values.model.Customer` values or
rejections.

The columns are those of SPEC section 3. Header names are matched case-insensitively and in any
order (``Customer Since`` and ``customer-since`` both mean ``customer_since``); columns cadence does
not know are kept as the customer's tags. A row that cannot be understood is rejected with its
physical line number (the header is line 1; a quoted field spanning lines counts every line) and
every reason at once, while the other rows are still read. Only problems with the file as a whole
(not UTF-8, a required column missing) raise :class:`~cadence.values.errors.UserError`.

Text is cleaned on the way in, since names end up in calendar titles and mail headers and every
value in the database: control characters (CR, LF, tab, NUL, ESC, the rest of C0 and C1, U+2028
and U+2029) in ``name``, in tags and in the list columns (``emails``, ``domains``,
``busy_seasons``) are folded to single spaces (a CRM export may wrap "ACME\nLtd" over two lines
inside quotes: it is imported as "ACME Ltd"); in any other column they reject the row, as does an
over-long value (:data:`MAX_LENGTHS`). Dates must lie in the supported years
(:data:`cadence.values.dates.FIRST_YEAR` to :data:`cadence.values.dates.LAST_YEAR`) and time zones
must be IANA keys (:func:`cadence.values.zones.is_zone`).

Dates are read by the configured :class:`~cadence.values.dates.DateReader` (dateparser:
``15 March 2019``, ``March 2019``, ``15 मार्च 2019``, ``03/04/2027`` in the configured order).
ISO dates take a fast path, and every distinct non-ISO text is parsed once per file, because
dateparser costs about half a millisecond per call and a customer file repeats the same few season
and date texts.
"""

from __future__ import annotations

import csv
import email.utils
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cadence.values.dates import DateReader, check_supported_date
from cadence.values.daycal import canonical_region
from cadence.values.durations import Duration
from cadence.values.errors import Problem, UserError, ValueParseError, describe_error
from cadence.values.model import Customer, CustomerStatus
from cadence.values.seasons import Season, free_day_problem, parse_season
from cadence.values.zones import zone_problem

REQUIRED_COLUMNS = ("id", "name", "owner")
# The customer's own rhythm, overriding the segment's (PolicySet.for_customer).
RHYTHM_COLUMNS = ("every", "min_gap", "max_gap")
KNOWN_COLUMNS = (
    *REQUIRED_COLUMNS,
    "segment",
    "emails",
    "domains",
    "industry",
    "country",
    "timezone",
    "customer_since",
    "status",
    "cancelled_on",
    "busy_seasons",
    "last_contact",
    *RHYTHM_COLUMNS,
)
DEFAULT_SEGMENT = "default"
PROGRESS_EVERY = 1000  # rows between two progress callbacks

# "Looks like an e-mail": one @, no spaces, a dot in the domain. Deliverability is not our concern.
_EMAIL = re.compile(r"^[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>.]+$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_STATUS_ALIASES = {s.value: s for s in CustomerStatus}
# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FOLD = re.compile(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029][\x00-\x1f\x7f-\x9f\u2028\u2029\s]*")
# Free text, or lists whose items are stripped: control characters there become one space.
FOLDED_COLUMNS = frozenset({"name", "emails", "domains", "busy_seasons"})
# The longest value each column takes; a longer one rejects the row.
MAX_LENGTHS = {"id": 200, "name": 300, "owner": 254, "segment": 100, "industry": 100}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not imported: its physical line, the id it gave (maybe empty), and why."""

    line: int
    customer_id: str
    reason: str

    def as_problem(self, file: str) -> Problem:
        """The rejection as a located :class:`Problem` (``FILE:LINE: ID: reason``)."""
        return Problem(file=file, line=self.line, key=self.customer_id, message=self.reason)


@dataclass(slots=True)
class ImportResult:
    """What a customer file gave: the customers read, in file order, and the rejected rows."""

    customers: list[Customer] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def read_customers(
    path: Path,
    reader: DateReader,
    *,
    default_timezone: str | None = None,
    progress: Callable[[int], None] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Read the customer CSV at ``path``.

    ``default_timezone`` fills an empty ``timezone`` cell when given. ``progress`` is called with
    the number of rows read so far, every :data:`PROGRESS_EVERY` rows and once at the end.
    ``today`` (the UTC date; the clock is a parameter) enables the check that ``last_contact``
    is not in the future anywhere (not after ``today`` + 1 day, the date east of UTC); without
    it that check is skipped. ``customer_since`` may lie in the future (a
    relationship that starts next month).

    Raises :class:`UserError` when the file cannot be read as a whole: not UTF-8, an empty file,
    a required column missing, a column named twice.
    """
    path = Path(path)
    text = _decode(path)
    lines = io.StringIO(text, newline="")  # keep \r\n inside quoted fields intact
    header_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    if not header_line.strip():
        raise _file_error(path, 1, "the file is empty: expected a header")
    rows = csv.reader(lines, delimiter=_delimiter(header_line), strict=True)
    try:
        header = next(rows)
    except csv.Error as exc:
        raise _file_error(path, 1, f"the header is not valid CSV: {exc}") from None
    columns = _columns(header, str(path))
    row_reader = _RowReader(reader, default_timezone, today)
    result = ImportResult()
    first_line_of: dict[str, int] = {}
    count = 0
    for line, cells, csv_error in _records(rows):
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        if cells is None:
            if csv_error == "unexpected end of data":
                # Everything after the open quote was swallowed: refusing the file is the
                # only way not to drop those rows silently.
                message = f"a quoted field opened on this row is never closed ({csv_error})"
                raise _file_error(path, line, message)
            result.rejected.append(Rejection(line, "", f"not valid CSV: {csv_error}"))
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line
        values, tags, shape_error = _split_row(cells, header, columns)
        customer_id = _shown_id(values.get("id", "").strip())
        if shape_error:
            result.rejected.append(Rejection(line, customer_id, shape_error))
            continue
        if customer_id and customer_id in first_line_of:
            reason = f"duplicate id {customer_id!r} (first on line {first_line_of[customer_id]})"
            result.rejected.append(Rejection(line, customer_id, reason))
            continue
        if customer_id:
            first_line_of[customer_id] = line
        try:
            customer, reasons = row_reader.read(values, tags)
        except Exception as exc:  # a value no check foresaw: this row only, never the file
            customer, reasons = None, [f"cannot be read: {describe_error(exc)}"]
        if reasons:
            result.rejected.append(Rejection(line, customer_id, "; ".join(reasons)))
        else:
            assert customer is not None
            result.customers.append(customer)
    if progress is not None:
        progress(count)
    return result


# ---------------------------------------------------------------------------------------------
# The file as a whole


def _file_error(path: Path, line: int, message: str) -> UserError:
    return UserError(
        f"cannot read customer file {path}", [Problem(file=str(path), line=line, message=message)]
    )


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read customer file {path}: {exc.strerror or exc}") from None
    try:
        # utf-8-sig reads plain UTF-8 too and drops the BOM spreadsheet programs write.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as CSV UTF-8 and import it again"
        )
        raise _file_error(path, line, message) from None


def _delimiter(header_line: str) -> str:
    """``;`` when the header has more semicolons than commas (European spreadsheets), else ``,``.

    csv.Sniffer is not used: it prefers ``,`` whenever both occur on a line, and the header is
    the only line whose shape we know.
    """
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _columns(header: list[str], file: str) -> dict[str, int]:
    """Map each known column name to its index; unknown columns become tags later."""
    problems = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _normalise(raw)
        if not name:
            continue
        if name in seen:
            problems.append(
                Problem(file=file, line=1, key=raw.strip(), message="column appears twice")
            )
        seen[name] = index
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            problems.append(
                Problem(
                    file=file,
                    line=1,
                    key=required,
                    message=f"required column missing (the header has: {', '.join(header)})",
                )
            )
    if problems:
        raise UserError(f"cannot read customer file {file}", problems)
    return seen


def _records(rows: Any) -> Iterator[tuple[int, list[str] | None, str]]:
    """Each record with the physical line it starts on, or None and why it is not CSV.

    ``csv.reader.line_num`` is the line a record *ends* on; a record starts right after the
    previous one ended, which stays right when a quoted field spans several lines. The reader
    is strict (a lenient one silently glues a stray quote's whole tail into one field) and
    carries on with the next line after a malformed record.
    """
    previous_end = rows.line_num
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous_end + 1, None, str(exc)
        else:
            yield previous_end + 1, cells, ""
        previous_end = rows.line_num


def _split_row(
    cells: list[str], header: list[str], columns: dict[str, int]
) -> tuple[dict[str, str], dict[str, str], str]:
    """Known values by column, unknown non-empty values as tags, and a shape error if any."""
    values = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
    if len(cells) != len(header):
        return values, {}, f"the row has {len(cells)} fields but the header has {len(header)}"
    tags = {}
    for index, raw in enumerate(header):
        name = _normalise(raw)
        if name and name not in KNOWN_COLUMNS and cells[index].strip():
            tags[fold_controls(raw)] = fold_controls(cells[index])
    return values, tags, ""


# ---------------------------------------------------------------------------------------------
# One row


class _RowReader:
    """Turns one row's values into a Customer, remembering parsed dates and seasons by text."""

    def __init__(self, reader: DateReader, default_timezone: str | None, today: date | None):
        self.reader = reader
        self.default_timezone = default_timezone or ""
        self.today = today
        self._dates: dict[str, date | str] = {}  # text -> date, or the error message
        self._seasons: dict[str, Season | str] = {}  # text -> the season, or the error message

    def read(
        self, values: dict[str, str], tags: dict[str, str]
    ) -> tuple[Customer | None, list[str]]:
        """The customer, or None and every reason the row cannot be imported."""
        reasons: list[str] = []
        cleaned, unusable = _cleaned(values, reasons)

        def get(column: str) -> str:
            return cleaned.get(column, "")

        customer_id, name = get("id"), get("name")
        if not customer_id and "id" not in unusable:
            reasons.append("id: missing")
        if not name and "name" not in unusable:
            reasons.append("name: missing")
        owner = get("owner").lower()
        if not owner:
            if "owner" not in unusable:
                reasons.append("owner: missing")
        elif not _EMAIL.match(owner):
            reasons.append(f"owner: {owner!r} is not an e-mail address")
        emails, email_names = self._emails(get("emails"), reasons)
        domains = self._domains(get("domains"), reasons)
        country = get("country")
        if country:  # ISO 3166-1 alpha-2, or an ISO 3166-2 subdivision (GB-ENG, US-CA)
            try:
                country = canonical_region(country)
            except ValueParseError as exc:
                reasons.append(f"country: {exc}")
        timezone = get("timezone") or self.default_timezone
        zone_trouble = zone_problem(timezone) if timezone else None
        if zone_trouble is not None:
            reasons.append(f"timezone: {zone_trouble}")
        customer_since = self._date("customer_since", get("customer_since"), reasons)
        cancelled_on = self._date("cancelled_on", get("cancelled_on"), reasons)
        last_contact = self._date("last_contact", get("last_contact"), reasons)
        # ``today`` is the UTC date; east of UTC (up to UTC+14) it is already the next day, and
        # a contact made today there is not in the future.
        if last_contact and self.today and last_contact > self.today + timedelta(days=1):
            reasons.append(f"last_contact: {last_contact.isoformat()} is in the future")
        if cancelled_on and customer_since and cancelled_on < customer_since:
            reasons.append(
                f"cancelled_on: {cancelled_on.isoformat()} is before customer_since "
                f"{customer_since.isoformat()}"
            )
        status = self._status(get("status"), reasons)
        if status is CustomerStatus.CANCELLED and not values.get("cancelled_on", "").strip():
            reasons.append("cancelled_on: required when status is cancelled")
        seasons = self._busy_seasons(get("busy_seasons"), reasons)
        rhythm = self._rhythm(cleaned, reasons)
        if reasons:
            return None, reasons
        return (
            Customer(
                id=customer_id,
                name=name,
                owner=owner,
                segment=get("segment") or DEFAULT_SEGMENT,
                emails=emails,
                email_names=email_names,
                domains=domains,
                industry=get("industry").lower(),
                country=country,
                timezone=timezone,
                customer_since=customer_since,
                status=status or CustomerStatus.ACTIVE,
                cancelled_on=cancelled_on,
                busy_seasons=seasons,
                last_contact=last_contact,
                tags=tags,
                **rhythm,
            ),
            [],
        )

    @staticmethod
    def _rhythm(cleaned: dict[str, str], reasons: list[str]) -> dict[str, Duration]:
        """The row's own ``every`` / ``min_gap`` / ``max_gap``, in order among themselves
        (against the segment's values: ``cadence check`` and the planner)."""
        found: dict[str, Duration] = {}
        for column in RHYTHM_COLUMNS:
            text = cleaned.get(column, "")
            if text:
                try:
                    found[column] = Duration.parse(text)
                except ValueParseError as exc:
                    reasons.append(f"{column}: {exc}")
        ordered = [c for c in ("min_gap", "every", "max_gap") if c in found]
        for low, high in itertools.pairwise(ordered):
            if found[low].approx_days > found[high].approx_days:
                reasons.append(
                    f"{low}: {found[low]} is longer than {high} {found[high]}; "
                    "need min_gap <= every <= max_gap"
                )
        return found

    @staticmethod
    def _emails(
        text: str, reasons: list[str]
    ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """The addresses, and the display names given as ``Jane Doe <jane@acme.com>``."""
        found: list[str] = []
        names: list[tuple[str, str]] = []
        for item in _items(text):
            name, address = named_address(item)
            if not _EMAIL.match(address):
                reasons.append(f"emails: {item!r} is not an e-mail address")
            elif address not in found:
                found.append(address)
                if name:
                    names.append((address, name))
        return tuple(found), tuple(names)

    @staticmethod
    def _domains(text: str, reasons: list[str]) -> tuple[str, ...]:
        found: list[str] = []
        for item in _items(text):
            domain = item.lower().removeprefix("@").rstrip(".")
            if not _is_domain(domain):
                reasons.append(f"domains: {item!r} is not a mail domain")
            elif domain not in found:
                found.append(domain)
        return tuple(found)

    def _date(self, column: str, text: str, reasons: list[str]) -> date | None:
        if not text:
            return None
        found = self._dates.get(text)
        if found is None:
            try:
                found = check_supported_date(date.fromisoformat(text), text)
            except ValueParseError as exc:
                found = str(exc)
            except ValueError:
                try:
                    found = self.reader.calendar_date(text)
                except ValueParseError as exc:
                    found = str(exc)
            self._dates[text] = found
        if isinstance(found, str):
            reasons.append(f"{column}: {found}")
            return None
        return found

    @staticmethod
    def _status(text: str, reasons: list[str]) -> CustomerStatus | None:
        if not text:
            return CustomerStatus.ACTIVE
        key = re.sub(r"[\s\-]+", "_", text.lower())
        status = _STATUS_ALIASES.get(key)
        if status is None:
            reasons.append(
                f"status: unknown status {text!r} (use active, cancelled or do_not_contact)"
            )
        return status

    def _busy_seasons(self, text: str, reasons: list[str]) -> tuple[str, ...]:
        texts, seasons = [], []
        for item in _items(text):
            if item not in self._seasons:
                try:
                    self._seasons[item] = parse_season(item, self.reader)
                except ValueParseError as exc:
                    self._seasons[item] = str(exc)
            found = self._seasons[item]
            if isinstance(found, str):
                reasons.append(f"busy_seasons: {found}")
            else:
                seasons.append(found)
            texts.append(item)
        # Each season leaves a day free; the row's own seasons together must too (the
        # industry's are added when the policies are known: cadence check and the planner).
        problem = free_day_problem(seasons) if len(seasons) > 1 else None
        if problem is not None:
            reasons.append(f"busy_seasons: {problem}")
        return tuple(texts)


def fold_controls(text: str) -> str:
    """``text`` stripped, each run of control characters (and the spaces around it) one space."""
    return _FOLD.sub(" ", text).strip()


def _cleaned(values: dict[str, str], reasons: list[str]) -> tuple[dict[str, str], set[str]]:
    """Every known column's value stripped, and folded (:data:`FOLDED_COLUMNS`) or checked.

    A control character outside the folded columns, or a value over its length
    (:data:`MAX_LENGTHS`), adds a reason; such a column's value is returned empty and its name
    is in the returned set, so that it is not also reported as missing.
    """
    out: dict[str, str] = {}
    unusable: set[str] = set()
    for column, raw in values.items():
        if column not in KNOWN_COLUMNS:
            continue  # a tag: folded when the row is split
        value = fold_controls(raw) if column in FOLDED_COLUMNS else raw.strip()
        control = _CONTROL.search(value)
        limit = MAX_LENGTHS.get(column)
        if control is not None:
            reasons.append(f"{column}: contains the control character U+{ord(control.group()):04X}")
        elif limit is not None and len(value) > limit:
            reasons.append(f"{column}: {len(value)} characters long, at most {limit} allowed")
        else:
            out[column] = value
            continue
        unusable.add(column)
        out[column] = ""  # reported; other checks on it would only add noise
    return out, unusable


def _shown_id(text: str) -> str:
    """An id as rejections show it: control characters escaped, cut to its maximum length."""
    escaped = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    limit = MAX_LENGTHS["id"]
    return escaped if len(escaped) <= limit else f"{escaped[:limit]}..."


def _items(text: str) -> list[str]:
    """The non-empty ``;``-separated items of a cell."""
    return [part.strip() for part in text.split(";") if part.strip()]


def _is_domain(domain: str) -> bool:
    """A host name with at least two labels; international names are checked in IDNA form."""
    try:
        ascii_name = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_name.split(".")
    return len(labels) >= 2 and all(_DOMAIN_LABEL.match(label) for label in labels)


def named_address(item: str) -> tuple[str, str]:
    """``("Jane Doe", "jane@acme.com")`` from ``Jane Doe <jane@acme.com>`` (RFC 5322, quotes
    allowed), ``("", address)`` from a bare address: the address lower-case, the name on one
    line. What is not exactly one address comes back whole, to fail the address check."""
    found = email.utils.getaddresses([item])
    if len(found) != 1 or not found[0][1] or item.count("<") != item.count(">"):
        return "", item.strip().lower()
    name, address = found[0]
    return " ".join(name.split()), address.strip().lower()
