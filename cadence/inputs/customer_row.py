"""One row of the customer file: the columns it may have, and how their values become a
:class:`~cadence.values.model.Customer` or every reason why not (:class:`RowReader`).

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
and date texts (seasons through the :class:`~cadence.values.seasons.SeasonParser` given).
"""

from __future__ import annotations

import email.utils
import itertools
import re
from datetime import date, timedelta

from cadence.values.dates import DateReader, check_supported_date
from cadence.values.daycal import canonical_region
from cadence.values.durations import Duration
from cadence.values.errors import ValueParseError
from cadence.values.model import Customer, CustomerStatus
from cadence.values.seasons import SeasonParser, free_day_problem
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

# "Looks like an e-mail": one @, no spaces, a dot in the domain. Deliverability is not our concern.
_EMAIL = re.compile(r"^[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>.]+$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A bare address no parser could read otherwise (no names, quotes, comments or spaces): the
# customer file's usual case, read without email.utils (0.05 ms a row).
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.ASCII
)
_STATUS_ALIASES = {s.value: s for s in CustomerStatus}
# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FOLD = re.compile(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029][\x00-\x1f\x7f-\x9f\u2028\u2029\s]*")
# Free text, or lists whose items are stripped: control characters there become one space.
FOLDED_COLUMNS = frozenset({"name", "emails", "domains", "busy_seasons"})
# The longest value each column takes; a longer one rejects the row.
MAX_LENGTHS = {"id": 200, "name": 300, "owner": 254, "segment": 100, "industry": 100}


class RowReader:
    """Turns one row's values into a Customer, remembering parsed dates by text (and seasons,
    through ``seasons``)."""

    def __init__(
        self,
        reader: DateReader,
        default_timezone: str | None,
        today: date | None,
        seasons: SeasonParser,
    ):
        self.reader = reader
        self.default_timezone = default_timezone or ""
        self.today = today
        self.seasons = seasons
        self._dates: dict[str, date | str] = {}  # text -> date, or the error message

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
            try:
                seasons.append(self.seasons(item))
            except ValueParseError as exc:
                reasons.append(f"busy_seasons: {exc}")
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


def shown_id(text: str) -> str:
    """An id as rejections show it: control characters escaped, cut to its maximum length."""
    escaped = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    limit = MAX_LENGTHS["id"]
    return escaped if len(escaped) <= limit else f"{escaped[:limit]}..."


def _items(text: str) -> list[str]:
    """The non-empty ``;``-separated items of a cell."""
    return [part.strip() for part in text.split(";") if part.strip()]


def _is_domain(domain: str) -> bool:
    """A host name with at least two labels; international names are checked in IDNA form."""
    if domain.isascii():  # the IDNA codec leaves ASCII as it is, checking only label lengths
        ascii_name = domain
    else:
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
    if _PLAIN_ADDRESS.fullmatch(item):  # what getaddresses answers for it (tests hold it so)
        return "", item.lower()
    return _parsed_address(item)


def _parsed_address(item: str) -> tuple[str, str]:
    """:func:`named_address` by :func:`email.utils.getaddresses`."""
    found = email.utils.getaddresses([item])
    if len(found) != 1 or not found[0][1] or item.count("<") != item.count(">"):
        return "", item.strip().lower()
    name, address = found[0]
    return " ".join(name.split()), address.strip().lower()
