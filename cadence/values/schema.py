"""Config schemas: the keys one table accepts, each with its converter, default and help.

A :class:`Schema` is the single source of what a table of cadence.toml or of the policy folder
accepts (connectors declare theirs with it too): for each key a :class:`Field` (how its value
is checked and converted, its default as written in TOML, whether it is required, a line of
help), and the rules that tie keys together. The loaders and every connector's
``validate_config`` check a table through it, the readers take their defaults from it, and the
key tables of the docs are generated from it (``python -m cadence.inputs.keys``).

:meth:`Schema.check` finds every problem as a ``(key, message)`` pair (key ``""``: the table
itself), listed in the order of the schema's keys, unknown keys first, each with a did-you-mean
from :func:`unknown_key_message`, the one builder of that message. Converters raise
:class:`ValueParseError`; the ``as_*`` converters below are the shared ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePath
from typing import Any

from cadence.values.durations import Duration, parse_meeting_length
from cadence.values.errors import ValueParseError
from cadence.values.workweek import WorkingHours
from cadence.values.zones import zone_problem

Converter = Callable[[Any], Any]
# A rule across keys: (the table as written, its converted values) -> (key, message) pairs.
Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterable[tuple[str, str]]]


class _Unset:
    """The default of a key that has none (absent means absent)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Computed:
    """A default that depends on the table's other values (``port``: 465 with ssl, else 25)."""

    text: str  # how the docs show it
    value: Callable[[Mapping[str, Any]], Any]  # converted values -> the converted default


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Field:
    """One allowed key: its converter, its default as written in TOML, and a line of help.

    ``default`` goes through ``convert`` like a written value (:meth:`Schema.default`);
    ``shown`` replaces it in the docs when the written default is not a value (``the state
    directory``). ``required`` is the problem when the key is absent, reported at the key, or
    at the table when ``required_at_table`` (``sender is required: the From address``).
    """

    convert: Converter = _as_is
    help: str = ""
    default: Any = UNSET
    required: str = ""
    required_at_table: bool = False
    shown: str = ""


@dataclass(frozen=True)
class Checked:
    """What :meth:`Schema.check` found: converted values, problems, and the keys that were bad."""

    values: dict[str, Any]
    problems: list[tuple[str, str]]
    bad: set[str]


@dataclass(frozen=True)
class Schema:
    """The keys of one table (in the order the docs list them) and the rules across them."""

    fields: Mapping[str, Field]
    checks: Sequence[Check] = ()
    about: str = ""  # a line on the table, for the docs

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def help_texts(self) -> dict[str, str]:
        """Key -> help, in the schema's order."""
        return {key: f.help for key, f in self.fields.items()}

    def check(self, section: Mapping[str, Any], *, ignore: Iterable[str] = ()) -> Checked:
        """Convert every key of ``section`` and apply the rules; every problem at once.

        Keys in ``ignore`` are skipped (already reported elsewhere) and count as bad. A value of
        None counts as absent: TOML cannot write one, and a resolved table uses it for "not set".
        """
        skipped = frozenset(ignore)
        order = {key: i for i, key in enumerate(self.fields)}
        end = len(order)
        found: list[tuple[int, str, str]] = []
        values: dict[str, Any] = {}
        bad: set[str] = set()
        for key, raw in section.items():
            if key in skipped:
                bad.add(key)
                continue
            spec = self.fields.get(key)
            if spec is None:
                found.append((-1, key, unknown_key_message(key, self.fields)))
                bad.add(key)
            elif raw is not None:
                try:
                    values[key] = spec.convert(raw)
                except ValueParseError as exc:
                    found.append((order[key], key, str(exc)))
                    bad.add(key)
        for key, spec in self.fields.items():
            if spec.required and section.get(key) is None and key not in skipped:
                found.append((order[key], "" if spec.required_at_table else key, spec.required))
        for rule in self.checks:
            found.extend(
                (order.get(key, end), key, message) for key, message in rule(section, values)
            )
        found.sort(key=lambda item: item[0])  # stable: a key's own problems keep their order
        return Checked(values, [(key, message) for _, key, message in found], bad)

    def problems(self, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Every problem of ``section`` as ``(key, message)`` pairs; none when it is fine."""
        return self.check(section).problems

    def default(self, key: str, values: Mapping[str, Any] | None = None) -> Any:
        """The converted default of ``key`` (None when it has none); ``values``: the table's
        other converted values, for a :class:`Computed` default."""
        spec = self.fields[key]
        if isinstance(spec.default, Computed):
            return spec.default.value(values or {})
        if spec.default is UNSET or spec.default is None:  # None: "not set" (TOML has no null)
            return None
        return spec.convert(spec.default)

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Converted ``values`` with every key that has a default filled in (a
        :class:`Computed` one from the values, plain defaults included)."""
        out = dict(values)
        for key, spec in self.fields.items():
            if (
                key not in out
                and spec.default is not UNSET
                and not isinstance(spec.default, Computed)
            ):
                out[key] = self.default(key)
        for key, spec in self.fields.items():
            if key not in out and isinstance(spec.default, Computed):
                out[key] = spec.default.value(out)
        return out


def unknown_key_message(key: str, allowed: Iterable[str], what: str = "key") -> str:
    """``unknown key; did you mean 'every'? (allowed: ...)``: typos must fail, helpfully."""
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}{hint} (allowed: {', '.join(names) or 'none'})"


# --------------------------------------------------------------------------------------------
# Shared converters

_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
    (datetime, "date-time"),
    (date, "date"),
    (time, "time"),
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def describe(value: Any) -> str:
    """A TOML-flavoured description of a value for messages: ``integer 4``, ``boolean true``."""
    name = next((n for t, n in _TYPE_NAMES if isinstance(value, t)), type(value).__name__)
    if isinstance(value, bool):
        return f"{name} {str(value).lower()}"
    if isinstance(value, dict):
        return name
    text = repr(value) if isinstance(value, str | list) else str(value)
    return f"{name} {text if len(text) <= 40 else text[:37] + '...'}"


def expect(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it has TOML type ``kind``, else a ValueParseError ``expected WHAT, got ...``.

    Booleans are never accepted as numbers (Python's bool is an int; TOML's is not).
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ValueParseError(f"expected {what}, got {describe(value)}")
    if not isinstance(value, kinds):
        raise ValueParseError(f"expected {what}, got {describe(value)}")
    return value


def rule(ok: Callable[[Any], bool], message: str | Callable[[Any], str]) -> Converter:
    """A converter keeping values for which ``ok`` holds, refusing others with ``message``
    (a text, or a function of the value): a connector's checks, each in its own words."""

    def convert(value: Any) -> Any:
        if ok(value):
            return value
        raise ValueParseError(message if isinstance(message, str) else message(value))

    return convert


def is_number(value: Any) -> bool:
    """An integer or a float, not a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_whole(value: Any, low: int, high: int) -> bool:
    """An integer (not a boolean) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_text(value: Any) -> bool:
    """A string that is not blank."""
    return isinstance(value, str) and bool(value.strip())


# Seconds to wait (a connector's ``timeout``): a number above zero.
as_seconds = rule(
    lambda v: is_number(v) and v > 0,
    lambda v: f"must be a positive number of seconds, got {v!r}",
)


def as_str(value: Any) -> str:
    """A string."""
    return expect(value, str, "a string")


def as_bool(value: Any) -> bool:
    """true or false."""
    return expect(value, bool, "true or false")


def as_positive_int(value: Any) -> int:
    """A whole number above zero."""
    number = expect(value, int, "a whole number")
    if number <= 0:
        raise ValueParseError(f"must be at least 1, got {number}")
    return number


def as_positive_number(value: Any) -> float:
    """A number above zero (integer or float)."""
    number = expect(value, (int, float), "a number")
    if number <= 0:
        raise ValueParseError(f"must be above zero, got {number}")
    return float(number)


def as_port(value: Any) -> int:
    """A TCP port number."""
    port = as_positive_int(value)
    if port > 65535:
        raise ValueParseError(f"port {port} is above 65535")
    return port


def as_email(value: Any) -> str:
    """An e-mail address, in lower case."""
    address = expect(value, str, "an e-mail address").strip()
    if not _EMAIL.match(address):
        raise ValueParseError(f"{address!r} is not an e-mail address")
    return address.lower()


def as_duration(value: Any) -> Duration:
    """A calendar duration (``4 weeks``, ``quarter``, ``P6W``)."""
    return Duration.parse(expect(value, str, "a duration like '4 weeks'"))


def as_meeting_length(value: Any) -> timedelta:
    """A meeting length (``30 minutes``, ``1 hour``, ``PT45M``)."""
    return parse_meeting_length(expect(value, str, "a meeting length like '30 minutes'"))


def as_hours(value: Any) -> WorkingHours:
    """A daily span of local time (``09:00-17:00``)."""
    return WorkingHours.parse(expect(value, str, "hours like '09:00-17:00'"))


def as_zone(value: Any) -> str:
    """An IANA time zone name (``Europe/Lisbon``), by the rule of :mod:`cadence.values.zones`."""
    name = expect(value, str, "an IANA time zone like 'Europe/Lisbon'")
    problem = zone_problem(name)
    if problem is not None:
        raise ValueParseError(problem)
    return name


def as_list(item: Converter, what: str) -> Converter:
    """A converter for an array whose items go through ``item``; every bad item is named."""

    def convert(value: Any) -> list[Any]:
        items = expect(value, list, f"a list of {what}")
        out, errors = [], []
        for raw in items:
            try:
                out.append(item(raw))
            except ValueParseError as exc:
                errors.append(str(exc))
        if errors:
            raise ValueParseError("; ".join(errors))
        return out

    return convert


def as_path(base_dir: Path) -> Converter:
    """A converter to an absolute path (``~`` expanded, relative to ``base_dir``); a path
    given as such (a table resolved before) is taken as it is."""

    def convert(value: Any) -> Path:
        if isinstance(value, PurePath):
            return resolved_path(base_dir, str(value))
        text = expect(value, str, "a path")
        if not text.strip():
            raise ValueParseError("expected a path, got an empty string")
        return resolved_path(base_dir, text)

    return convert


def resolved_path(base_dir: Path, text: str) -> Path:
    """``text`` as an absolute path (``~`` expanded, relative to ``base_dir``)."""
    try:
        return (base_dir / Path(text).expanduser()).resolve()
    except (ValueError, RuntimeError, OSError) as exc:
        # ValueError: a NUL in the path; RuntimeError: ~user of an unknown user.
        raise ValueParseError(f"cannot use path {text[:80]!r}: {exc}") from None
