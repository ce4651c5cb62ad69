"""The customer CSV file: read whole, its rows become :class:`~cadence.values.model.Customer`
values or rejections (one row's reading: :mod:`cadence.inputs.customer_row`).

The columns are those of SPEC section 3. Header names are matched case-insensitively and in any
order (``Customer Since`` and ``customer-since`` both mean ``customer_since``); columns cadence does
not know are kept as the customer's tags. A row that cannot be understood is rejected with its
physical line number (the header is line 1; a quoted field spanning lines counts every line) and
every reason at once, while the other rows are still read. Only problems with the file as a whole
(not UTF-8, a required column missing) raise :class:`~cadence.values.errors.UserError`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cadence.inputs.customer_row import (
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
    RowReader,
    fold_controls,
    shown_id,
)
from cadence.values.dates import DateReader
from cadence.values.errors import Problem, UserError, describe_error
from cadence.values.model import Customer
from cadence.values.seasons import SeasonParser

PROGRESS_EVERY = 1000  # rows between two progress callbacks


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
    seasons: SeasonParser | None = None,
) -> ImportResult:
    """Read the customer CSV at ``path``.

    ``default_timezone`` fills an empty ``timezone`` cell when given. ``progress`` is called with
    the number of rows read so far, every :data:`PROGRESS_EVERY` rows and once at the end.
    ``today`` (the UTC date; the clock is a parameter) enables the check that ``last_contact``
    is not in the future anywhere (not after ``today`` + 1 day, the date east of UTC); without
    it that check is skipped. ``customer_since`` may lie in the future (a
    relationship that starts next month). ``seasons`` parses the busy seasons (a workspace's
    or ``cadence check``'s, shared with what plans them); by default one for this file.

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
    row_reader = RowReader(reader, default_timezone, today, seasons or SeasonParser(reader))
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
        customer_id = shown_id(values.get("id", "").strip())
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


@lru_cache(maxsize=1024)  # the header's names, once per file rather than once per row
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
