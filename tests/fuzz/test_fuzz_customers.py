"""Fuzz: the customer CSV, generated rows and byte-level mutations of ``examples/customers.csv``.

Whatever the file holds, :func:`read_customers` raises :class:`UserError` for the file as a whole
or returns customers and rejected rows; a customer it returns is safe for every later step
(names fit in a mail header, zones load, dates are in range, seasons leave days free).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from cadence.inputs.customer_row import KNOWN_COLUMNS, MAX_LENGTHS
from cadence.inputs.customers import ImportResult, read_customers
from cadence.values.dates import EARLIEST, LATEST, DateReader
from cadence.values.errors import UserError
from cadence.values.seasons import free_day_problem, parse_season
from cadence.values.zones import is_zone
from tests.fuzz.fuzzkit import fuzz, mutate, mutations, nasty_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers.csv"
EXAMPLE_LINES = EXAMPLE.read_bytes().split(b"\n")
READER = DateReader(("en", "es", "de", "hi", "ar"), "DMY")
TODAY = date(2026, 11, 23)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

column_values = {
    "id": st.one_of(st.from_regex(r"C-[0-9]{1,4}", fullmatch=True), nasty_text(4)),
    "name": st.one_of(
        st.sampled_from(["ACME Ltd", "ACME\r\nLtd", "Beta\x00", "N" * 301]), nasty_text()
    ),
    "owner": st.one_of(st.sampled_from(["ana@example.com", "a\x00@x.com", "x"]), nasty_text(3)),
    "segment": st.one_of(st.sampled_from(["strategic", "", "gold\x1b"]), nasty_text(3)),
    "emails": st.one_of(
        st.sampled_from(
            [
                "a@acme.com; b@acme.com",
                "a@acme.com\nb@acme.com",
                'Jane "J" Doe <a@acme.com>',
                '"Doe; Jane" <a@acme.com>',
                "Jané <a@acme.com>; <b@acme.com>",
                "=?utf-8?q?x?= <a@a.com>",
            ]
        ),
        nasty_text(3),
    ),
    "domains": st.one_of(
        st.sampled_from(["acme.com", "xn--bcher-kva.example", "ü.com"]), nasty_text(3)
    ),
    "industry": st.one_of(st.sampled_from(["retail", "Retail", ""]), nasty_text(3)),
    "country": st.one_of(
        st.sampled_from(["PT", "GB-ENG", "US-CA", "ZZ", "pt", "__CLASS__", "GB-"]), nasty_text(2)
    ),
    "timezone": st.one_of(
        st.sampled_from(["Europe/Lisbon", "America", "Europe", "z" * 300, "posixrules", "../x"]),
        nasty_text(3),
    ),
    "customer_since": st.one_of(
        st.sampled_from(["2019-03-15", "9999-12-31", "0001-01-01", "15 March 2019", "March 2019"]),
        st.dates().map(date.isoformat),
        nasty_text(3),
    ),
    "status": st.sampled_from(["active", "cancelled", "do_not_contact", "Do Not Contact", "x", ""]),
    "cancelled_on": st.one_of(
        st.sampled_from(["", "2026-03-15", "31/12/9999"]), st.dates().map(date.isoformat)
    ),
    "busy_seasons": st.one_of(
        st.sampled_from(
            ["Nov 15 - Jan 5; December", "Jan 1 - Dec 31", "2027-01-01 - 9999-12-31", ""]
        ),
        nasty_text(3),
    ),
    "last_contact": st.one_of(
        st.sampled_from(["", "2026-11-02", "2026-12-31"]), st.dates().map(date.isoformat)
    ),
    "notes": st.one_of(st.just(""), nasty_text(4)),
}
rows = st.fixed_dictionaries({k: v for k, v in column_values.items()})


def _read(data: bytes) -> tuple[ImportResult | None, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        path.write_bytes(data)
        try:
            result = read_customers(path, READER, default_timezone="Europe/London", today=TODAY)
        except UserError as exc:
            assert exc.problems or exc.message
            return None, 0
    return result, len(re.split(rb"\r\n|\r|\n", data))


def _check(result: ImportResult | None, lines: int) -> None:
    """What every customer and rejection read from any file satisfies."""
    event("file refused" if result is None else "file read")
    if result is None:
        return
    for customer in result.customers:
        for text in (
            customer.id,
            customer.name,
            customer.owner,
            customer.segment,
            customer.industry,
            *(name for _, name in customer.email_names),
        ):
            assert not _CONTROL.search(text), text
        # a named address is one of the customer's addresses, named once, never with an empty name
        named = [address for address, name in customer.email_names if name]
        assert named == [a for a, _ in customer.email_names] and len(set(named)) == len(named)
        assert set(named) <= set(customer.emails)
        assert customer.id and customer.name and customer.owner
        assert len(customer.id) <= MAX_LENGTHS["id"] and len(customer.name) <= MAX_LENGTHS["name"]
        assert customer.name == customer.name.strip()
        assert not customer.timezone or is_zone(customer.timezone)
        for day in (customer.customer_since, customer.cancelled_on, customer.last_contact):
            assert day is None or EARLIEST <= day <= LATEST
        for key, value in customer.tags.items():
            assert not _CONTROL.search(key) and not _CONTROL.search(value)
        # parse_season raises if the row let a bad season through.
        seasons = [parse_season(season, READER) for season in customer.busy_seasons]
        assert free_day_problem(seasons) is None
    ids = [c.id for c in result.customers]
    assert len(ids) == len(set(ids))
    for rejection in result.rejected:
        assert 2 <= rejection.line <= lines
        assert rejection.reason
        # read_customers contains what no check foresaw ("cannot be read: Type: ..."), so the
        # file goes on; for the harness that is still a crash to find and fix.
        assert not rejection.reason.startswith("cannot be read:"), rejection.reason
        assert not _CONTROL.search(rejection.reason), rejection.reason
        assert not _CONTROL.search(rejection.customer_id)
    event(f"{min(len(result.customers), 3)}+ customers, {min(len(result.rejected), 3)}+ rejected")


@fuzz(weight=0.5)
@given(st.lists(rows, min_size=1, max_size=6), st.sampled_from([",", ";"]))
def test_generated_rows(generated, delimiter):
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=[*KNOWN_COLUMNS, "notes"], delimiter=delimiter)
    writer.writeheader()
    writer.writerows(generated)
    _check(*_read(out.getvalue().encode("utf-8")))


@fuzz(weight=0.5)
@given(
    st.lists(st.integers(1, len(EXAMPLE_LINES) - 2), min_size=1, max_size=8),
    mutations(max_ops=8),
)
def test_example_file_with_bytes_mutated(picks, ops):
    data = b"\n".join([EXAMPLE_LINES[0], *(EXAMPLE_LINES[i] for i in picks)]) + b"\n"
    _check(*_read(mutate(data, ops)))


EXAMPLE_ROWS = list(csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8"), newline="")))


@fuzz(weight=0.5)
@given(
    st.lists(
        st.tuples(
            st.integers(1, len(EXAMPLE_ROWS) - 1),
            st.lists(
                st.tuples(
                    st.sampled_from(sorted(column_values)),
                    st.data(),
                ),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_example_rows_with_fields_replaced(edits):
    header = EXAMPLE_ROWS[0]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    for index, changes in edits:
        row = dict(zip(header, EXAMPLE_ROWS[index], strict=True))
        for column, data in changes:
            row[column if column in row else "account_tier"] = data.draw(column_values[column])
        writer.writerow([row[c] for c in header])
    _check(*_read(out.getvalue().encode("utf-8")))
