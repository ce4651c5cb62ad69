"""TOML files with line numbers, and the schema helpers both loaders share.

:class:`LocatedToml` parses a file with :mod:`tomllib` (the parser) and remembers, with a small
line scanner, the line of every table header and every key, so a problem found while validating
the parsed data can be reported as ``FILE:LINE: [table] key: message``. The scanner relies on the
text being valid TOML (it runs only after tomllib accepted it, and only once a line is asked
for: a file without problems is never scanned); it tracks ``[[array]]`` tables with their
index, dotted keys, and values that span lines (multi-line strings and arrays).

Table paths are tuples of keys; an element of an array of tables is addressed by its index:
``("salesperson", 1)`` is the second ``[[salesperson]]``.

:func:`check_table` checks a parsed table against its :class:`~cadence.values.schema.Schema`
(the keys, converters, defaults and help of every table live there), locating each problem.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cadence.values.errors import Problem, UserError
from cadence.values.schema import Schema

TablePath = tuple[str | int, ...]
_LineKey = tuple[TablePath, str | None]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_BARE_DOTTED = re.compile(r"[A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+)*")
# tomllib (Python < 3.14) puts the position only into the message text.
_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_END = re.compile(r"\s*\(at end of document\)$")


class TomlFileError(UserError):
    """A file that cannot be read or is not valid TOML; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__("", [problem])
        self.problem = problem


class LocatedToml:
    """A parsed TOML file that knows the line of each table and key.

    ``name`` is how the file is named in problems (default: the path as given). Raises
    :class:`TomlFileError` when the file cannot be read or is not valid TOML.
    """

    def __init__(self, path: Path | str, *, name: str | None = None, text: str | None = None):
        self.path = Path(path)
        self.name = str(path) if name is None else name
        if text is None:
            try:
                # Bytes, not read_text: its universal newlines would turn a lone CR (invalid
                # in TOML) into a line break, and every later line number would be off by one.
                # utf-8-sig: a byte order mark (Windows Notepad writes one) is not content.
                text = self.path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise TomlFileError(
                    Problem(file=self.name, message=f"cannot read: not UTF-8 text ({exc.reason})")
                ) from None
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise TomlFileError(
                    Problem(file=self.name, message=f"cannot read: {reason}")
                ) from None
        try:
            self.data: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TomlFileError(_syntax_problem(self.name, text, exc)) from None
        self._text = text
        self._scanned: dict[_LineKey, int] | None = None

    @property
    def _lines(self) -> dict[_LineKey, int]:
        """Every table's and key's line, scanned when a line is first asked for (a file
        without problems never needs one)."""
        if self._scanned is None:
            self._scanned = _scan(self._text)
        return self._scanned

    def line(self, table: TablePath, key: str | None = None) -> int:
        """The line of ``key`` in ``table`` (or of the table itself); 0 when unknown.

        Keys the scanner does not see on their own line (inside inline tables, or tables
        created implicitly) fall back to the nearest enclosing thing that has a line.
        """
        table = tuple(table)
        if key is not None:
            if (table, key) in self._lines:
                return self._lines[(table, key)]
            # A key that is only ever a table prefix (``[segments.x]`` seen from the top).
            under = self._first_line_under((*table, key))
            if under:
                return under
        while table:
            if (table, None) in self._lines:
                return self._lines[(table, None)]
            parent, last = table[:-1], table[-1]
            if isinstance(last, str) and (parent, last) in self._lines:
                return self._lines[(parent, last)]
            table = parent
        return 0

    def _first_line_under(self, prefix: TablePath) -> int:
        n = len(prefix)
        found = [line for (path, _), line in self._lines.items() if path[:n] == prefix]
        return min(found, default=0)

    def problem(
        self, table: TablePath, key: str | None, message: str, *, severity: str = "error"
    ) -> Problem:
        """A :class:`Problem` located at ``key`` of ``table`` in this file."""
        return Problem(
            file=self.name,
            line=self.line(table, key),
            table=format_table(table),
            key=key or "",
            message=message,
            severity=severity,
        )


def format_table(table: TablePath) -> str:
    """``("segment", "strategic")`` -> ``segment.strategic``; an array element -> ``[name]``.

    :class:`Problem` wraps the table in brackets, so an array element prints as
    ``[[salesperson]]``, as it is written in the file.
    """
    names = [_key_text(p) for p in table if isinstance(p, str)]
    text = ".".join(names)
    if table and isinstance(table[-1], int):
        return f"[{text}]"
    return text


def _key_text(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _syntax_problem(name: str, text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    message = getattr(exc, "msg", None) or str(exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    if line is None:
        m = _POSITION.search(message)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
        elif _END.search(message):
            line = text.count("\n") + 1
    message = _END.sub("", _POSITION.sub("", message))
    where = f" (column {column})" if column else ""
    return Problem(file=name, line=line or 0, message=f"TOML syntax error: {message}{where}")


# --------------------------------------------------------------------------------------------
# The line scanner


def _scan(text: str) -> dict[_LineKey, int]:
    """Map (table path, key) -> line and (table path, None) -> line of the table header."""
    lines: dict[_LineKey, int] = {}
    table: TablePath = ()
    arrays: dict[
        TablePath, int
    ] = {}  # array of tables (resolved path) -> index of its last element
    pending: tuple[str, int] | None = None  # a value continues on the next line
    # TOML breaks lines at \n only (str.splitlines would also split at \x85, \u2028...).
    for number, raw in enumerate(text.split("\n"), 1):
        if pending is not None:
            pending = _scan_value(raw, 0, *pending)
            continue
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            is_array = line.startswith("[[")
            start = 2 if is_array else 1
            parts = _decode_key(line[start : _find_unquoted(line, "]", start)])
            if is_array:
                path = (*_resolve(parts[:-1], arrays), parts[-1])
                index = arrays.get(path, -1) + 1
                arrays[path] = index
                lines.setdefault((path, None), number)
                table = (*path, index)
            else:
                table = _resolve(parts, arrays)
            lines[(table, None)] = number
            continue
        equals = _find_unquoted(line, "=", 0)
        parts = _decode_key(line[:equals])
        for k in range(1, len(parts)):  # a dotted key creates its intermediate tables here
            lines.setdefault(((*table, *parts[:k]), None), number)
        lines[((*table, *parts[:-1]), parts[-1])] = number
        pending = _scan_value(line, equals + 1, "", 0)
    return lines


def _resolve(parts: tuple[str, ...], arrays: dict[TablePath, int]) -> TablePath:
    """Insert the current element index after every part that names an array of tables."""
    out: TablePath = ()
    for part in parts:
        out = (*out, part)
        if out in arrays:
            out = (*out, arrays[out])
    return out


def _decode_key(text: str) -> tuple[str, ...]:
    """The parts of a (dotted, possibly quoted) key, decoded by tomllib itself.

    A key of bare parts (``email``, ``segment.smb``) is split here: what tomllib answers for
    it (tests/test_policy_load.py holds the two to each other), without a parse per key.
    """
    key = text.strip()
    if _BARE_DOTTED.fullmatch(key):
        return tuple(part.strip(" \t") for part in key.split("."))
    node: Any = tomllib.loads(f"{key} = 0")
    parts: list[str] = []
    while isinstance(node, dict):
        (key, node), *_ = node.items()
        parts.append(key)
    return tuple(parts)


def _find_unquoted(line: str, char: str, start: int) -> int:
    """Index of the first ``char`` outside quoted strings (the text is valid TOML)."""
    quote = ""
    i = start
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == char:
            return i
        i += 1
    return len(line)


def _scan_value(line: str, i: int, mode: str, depth: int) -> tuple[str, int] | None:
    """Scan a value from ``line[i:]``; return the state to continue with, or None when done.

    ``mode`` is the open string delimiter (a single or triple quote of either kind; single-line
    strings close on their line) and ``depth`` the number of open arrays or inline tables.
    """
    n = len(line)
    while i < n:
        ch = line[i]
        if mode in ('"""', "'''"):
            if ch == "\\" and mode == '"""':
                i += 2
            elif line.startswith(mode, i):
                i += 3
                while i < n and line[i] == mode[0]:  # up to two quotes may end the content
                    i += 1
                mode = ""
            else:
                i += 1
            continue
        if mode:
            if ch == "\\" and mode == '"':
                i += 1
            elif ch == mode:
                mode = ""
            i += 1
            continue
        if line.startswith('"""', i) or line.startswith("'''", i):
            mode = line[i : i + 3]
            i += 3
            continue
        if ch in "\"'":
            mode = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "#":
            break
        i += 1
    if mode in ('"""', "'''") or depth > 0:
        return mode, depth
    return None


# --------------------------------------------------------------------------------------------
# Schemas, located


def check_table(
    doc: LocatedToml,
    table: TablePath,
    data: Mapping[str, Any],
    schema: Schema,
    problems: list[Problem],
    *,
    ignore: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], set[str]]:
    """Convert every key of ``data`` through ``schema`` (:meth:`Schema.check`).

    Returns the converted values and the set of keys that were present but bad; each problem
    is added to ``problems``, located in ``doc``. Keys in ``ignore`` are skipped (already
    reported).
    """
    checked = schema.check(data, ignore=ignore)
    problems.extend(doc.problem(table, key or None, message) for key, message in checked.problems)
    return checked.values, checked.bad
