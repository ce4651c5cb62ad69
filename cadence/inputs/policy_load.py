"""Loading the policy folder: every ``*.toml`` file merged, validated and resolved.

Each table's schema (:mod:`cadence.inputs.policy_schema`) is the single list of what it accepts,
with the defaults and the help of each key. Loading never stops at the first
problem: every file is read and every key checked, and each problem is located as
``FILE:LINE: [table] key: message``. A table may be defined in one file only; the same table in
two files is an error naming both. The result is a :class:`~cadence.inputs.policy.PolicySet` of
plain, fully-defaulted values, or None when anything was wrong (the daemon then keeps its last
good set).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.inputs.policy import Capacity, PolicySet, SegmentPolicy, WinbackPolicy
from cadence.inputs.policy_schema import (
    CAPACITY,
    SEGMENT,
    SEGMENT_ATTRIBUTE,
    TABLES,
    WINBACK,
    closure_schema,
    industry_schema,
)
from cadence.inputs.tomlfile import LocatedToml, TablePath, TomlFileError, check_table
from cadence.values.dates import DateReader
from cadence.values.daycal import canonical_region
from cadence.values.errors import Problem, ValueParseError
from cadence.values.schema import describe, expect, unknown_key_message
from cadence.values.seasons import Season, free_day_problem
from cadence.values.workweek import parse_working_days

# --------------------------------------------------------------------------------------------
# Loading


def policy_files(folder: Path) -> list[Path]:
    """The policy files of ``folder``, sorted by name (hidden files, e.g. editor locks, skipped)."""
    return sorted(p for p in folder.glob("*.toml") if p.is_file() and not p.name.startswith("."))


def load_policies(folder: Path, reader: DateReader) -> tuple[PolicySet | None, list[Problem]]:
    """Read, merge and validate every policy file in ``folder``.

    Returns the resolved :class:`PolicySet` (None if there is any error) and every problem found.
    ``reader`` reads the dates of busy seasons (languages and date order from cadence.toml).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None, [Problem(file=str(folder), message="policy folder not found")]
    files = policy_files(folder)
    if not files:
        return None, [Problem(file=str(folder), message="no policy files (*.toml) in this folder")]
    builder = _Builder(reader)
    for path in files:
        try:
            doc = LocatedToml(path)
        except TomlFileError as exc:
            builder.problems.append(exc.problem)
            continue
        builder.add(doc)
    policies = builder.build()
    problems = sorted(builder.problems)  # by file and line, as a reader goes through them
    if any(p.is_error for p in problems):
        return None, problems
    return policies, problems


@dataclass
class _Section:
    """One validated table: where it is, its converted values, and the keys that were bad."""

    doc: LocatedToml
    path: TablePath
    values: dict[str, Any]
    bad: set[str] = field(default_factory=set)


class _Builder:
    """Collects tables from every file, then resolves them into a PolicySet."""

    def __init__(self, reader: DateReader) -> None:
        self.reader = reader
        self.problems: list[Problem] = []
        self.owners: dict[tuple[str, ...], tuple[LocatedToml, TablePath]] = {}
        self.defaults: _Section | None = None
        self.segments: dict[str, _Section] = {}
        self.industries: dict[str, tuple[Season, ...]] = {}
        self.winback: _Section | None = None
        self.capacity: _Section | None = None
        self.weekends: dict[str, frozenset[int]] = {}
        self.closures: tuple[Season, ...] = ()

    # -- reading one file

    def add(self, doc: LocatedToml) -> None:
        """Validate every table of one file and keep those defined for the first time."""
        for name, value in doc.data.items():
            if name not in TABLES:
                what = "table" if isinstance(value, dict) else "key"
                message = unknown_key_message(name, TABLES, what)
                if what == "key":
                    message += "; policy values go in a table such as [defaults] or [segment.NAME]"
                self.problems.append(doc.problem((), name, message))
                continue
            if not isinstance(value, dict):
                self.problems.append(
                    doc.problem((), name, f"expected a table [{name}], got {describe(value)}")
                )
                continue
            if not TABLES[name]:
                self._table(doc, (name,), (name,), value)
                continue
            for sub, subvalue in value.items():
                if isinstance(subvalue, dict):
                    identity = (name, sub.lower() if name == "industry" else sub)
                    self._table(doc, (name, sub), identity, subvalue)
                else:
                    self.problems.append(
                        doc.problem(
                            (name,),
                            sub,
                            f"expected a named table [{name}.NAME], got {describe(subvalue)}",
                        )
                    )

    def _table(
        self, doc: LocatedToml, path: TablePath, identity: tuple[str, ...], data: Mapping
    ) -> None:
        first = self._claim(doc, path, identity)
        kind = path[0]
        if kind == "industry":
            seasons = self._industry(doc, path, data)
            if first and seasons is not None:
                self.industries[identity[1]] = seasons
            return
        if kind == "weekends":
            weekends = self._weekends(doc, path, data)
            if first:
                self.weekends.update(weekends)
            return
        if kind == "closures":
            values, _ = check_table(doc, path, data, closure_schema(self.reader), self.problems)
            if first:
                self.closures = values.get("dates", ())
            return
        schema = {
            "defaults": SEGMENT,
            "segment": SEGMENT,
            "winback": WINBACK,
            "capacity": CAPACITY,
        }[str(kind)]
        values, bad = check_table(doc, path, data, schema, self.problems)
        if not first:
            return
        section = _Section(doc, path, values, bad)
        match kind:
            case "defaults":
                self.defaults = section
            case "segment":
                self.segments[str(path[1])] = section
            case "winback":
                self.winback = section
            case "capacity":
                self.capacity = section

    def _claim(self, doc: LocatedToml, path: TablePath, identity: tuple[str, ...]) -> bool:
        """Is this the first definition of the table? If not, report it naming both places."""
        if identity not in self.owners:
            self.owners[identity] = (doc, path)
            return True
        other, other_path = self.owners[identity]
        where = f"line {other.line(other_path)}"
        if other.name != doc.name:
            where = f"{other.name}:{other.line(other_path)}"
        self.problems.append(
            doc.problem(
                path,
                None,
                f"table already defined in {where}; each table may be defined in one file only",
            )
        )
        return False

    def _industry(
        self, doc: LocatedToml, path: TablePath, data: Mapping
    ) -> tuple[Season, ...] | None:
        values, bad = check_table(doc, path, data, industry_schema(self.reader), self.problems)
        if bad:
            return None
        seasons = tuple(values.get("busy_seasons", ()))
        # Each season leaves a day free (parse_season checks that); together they must too.
        problem = free_day_problem(seasons)
        if problem is not None:
            self.problems.append(doc.problem(path, "busy_seasons", problem))
            return None
        return seasons

    def _weekends(self, doc: LocatedToml, path: TablePath, data: Mapping) -> dict:
        out: dict[str, frozenset[int]] = {}
        for code, value in data.items():
            try:
                region = canonical_region(code)
            except ValueParseError as exc:
                self.problems.append(doc.problem(path, code, str(exc)))
                continue
            try:
                text = expect(value, str, "weekend days like 'fri-sat'")
                days = parse_working_days(text, "weekend days")
            except ValueParseError as exc:
                self.problems.append(doc.problem(path, code, str(exc)))
                continue
            if len(days) == 7:
                self.problems.append(doc.problem(path, code, "a weekend cannot be the whole week"))
                continue
            out[region.upper()] = days
        return out

    # -- resolving

    def build(self) -> PolicySet:
        """Resolve the collected tables (also checking each segment's gaps) into a PolicySet."""
        winback = WinbackPolicy(**self.winback.values) if self.winback else WinbackPolicy()
        base = SegmentPolicy(name="default", winback_agenda=winback.agenda)
        own_defaults = self.defaults.values if self.defaults else {}
        defaults = _apply(base, own_defaults)
        if self.defaults is not None:
            self._check_gaps(self.defaults, defaults, {})
            self._check_video(self.defaults, defaults)
        segments = {}
        for name, section in self.segments.items():
            policy = _apply(dataclasses.replace(defaults, name=name), section.values)
            inherited_bad = self.defaults.bad if self.defaults else set()
            self._check_gaps(section, policy, own_defaults, inherited_bad)
            self._check_video(section, policy)
            segments[name] = policy
        capacity = Capacity(**self.capacity.values) if self.capacity else Capacity()
        return PolicySet(
            defaults=defaults,
            segments=segments,
            industries=dict(self.industries),
            winback=winback,
            capacity=capacity,
            weekends=dict(self.weekends),
            closures=self.closures,
        )

    def _check_video(self, section: _Section, policy: SegmentPolicy) -> None:
        """``video = "url"`` needs a ``video_url``: said where ``video`` is set."""
        if policy.video == "url" and not policy.video_url and "video" in section.values:
            self.problems.append(
                section.doc.problem(
                    section.path,
                    "video",
                    "video = 'url' needs video_url, a link like "
                    "'https://video.example.com/{booking}'",
                )
            )

    def _check_gaps(
        self,
        section: _Section,
        policy: SegmentPolicy,
        parent: Mapping[str, Any],
        parent_bad: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Enforce ``min_gap <= every <= max_gap`` on the effective values of one table.

        The problem points at the key of this table that breaks the order; when both values are
        inherited, the violation is reported where they are defined instead (once).
        """
        gap_keys = ("min_gap", "every", "max_gap")
        if (section.bad | set(parent_bad)) & set(gap_keys):
            return  # an unreadable value was reported already; comparing it would only confuse
        own = section.values

        def shown(key: str) -> str:
            text = f"{key} {str(getattr(policy, key))!r}"
            if key in own:
                return text
            return f"{text} ({'from [defaults]' if key in parent else 'built-in default'})"

        for low, high in (("min_gap", "every"), ("every", "max_gap")):
            if getattr(policy, low).approx_days <= getattr(policy, high).approx_days:
                continue
            bound = "min_gap" if low == "min_gap" else "max_gap"
            culprit = bound if bound in own else next((k for k in (low, high) if k in own), None)
            if culprit is None:
                continue
            self.problems.append(
                section.doc.problem(
                    section.path,
                    culprit,
                    f"{shown(low)} is longer than {shown(high)}; need min_gap <= every <= max_gap",
                )
            )


def _apply(policy: SegmentPolicy, values: Mapping[str, Any]) -> SegmentPolicy:
    """``policy`` with the converted table ``values`` laid over it."""
    changes = {SEGMENT_ATTRIBUTE.get(k, k): v for k, v in values.items()}
    return dataclasses.replace(policy, **changes)
