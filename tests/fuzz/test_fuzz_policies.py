"""Fuzz: the policy folder, from the shipped ``policies/`` files mutated and from generated tables.

Whatever the files say, :func:`load_policies` returns the policy set or None with located,
one-line problems; a policy set it returns holds only values the planner can use.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from cadence.inputs.policy import PolicySet
from cadence.inputs.policy_load import load_policies
from cadence.inputs.policy_schema import SEGMENT, WINBACK
from cadence.values.dates import DateReader
from cadence.values.errors import Problem
from cadence.values.seasons import free_day_problem
from cadence.values.zones import is_zone
from tests.fuzz.fuzzkit import (
    TROUBLE_VALUES,
    fuzz,
    mutate,
    mutate_lines,
    mutations,
    nasty_text,
    replace_values,
    value_edits,
)

SHIPPED = Path(__file__).resolve().parents[2] / "policies"
FILES = {p.name: p.read_bytes() for p in sorted(SHIPPED.glob("*.toml"))}
READER = DateReader(("en",), "DMY")


def _load(files: dict[str, bytes]) -> tuple[PolicySet | None, list[Problem], dict[str, int]]:
    with tempfile.TemporaryDirectory() as folder:
        lines = {}
        for name, data in files.items():
            path = Path(folder) / name
            path.write_bytes(data)
            lines[str(path)] = data.count(b"\n") + 1
        policies, problems = load_policies(Path(folder), READER)
    return policies, problems, lines


def _check(policies: PolicySet | None, problems: list[Problem], lines: dict[str, int]) -> None:
    """The invariants of any load: located one-line problems, and a usable policy set."""
    errors = [p for p in problems if p.is_error]
    assert (policies is None) == bool(errors)
    for problem in problems:
        assert problem.message
        assert "\n" not in str(problem) and "\r" not in str(problem)
        if problem.file in lines:
            assert 0 <= problem.line <= lines[problem.file]
    event("loaded" if policies is not None else "refused")
    if policies is None:
        return
    for policy in (policies.defaults, *policies.segments.values()):
        assert policy.min_gap.approx_days <= policy.every.approx_days
        assert policy.every.approx_days <= policy.max_gap.approx_days
        assert is_zone(policy.timezone)
    for seasons in policies.industries.values():
        assert free_day_problem(seasons) is None


@fuzz(weight=0.5)
@given(st.sampled_from(sorted(FILES)), mutations())
def test_shipped_policies_with_bytes_mutated(name, ops):
    files = dict(FILES, **{name: mutate(FILES[name], ops)})
    _check(*_load(files))


@fuzz(weight=0.5)
@given(st.sampled_from(sorted(FILES)), mutations())
def test_shipped_policies_with_lines_mutated(name, ops):
    text = FILES[name].decode("utf-8")
    files = dict(FILES, **{name: mutate_lines(text, ops).encode("utf-8")})
    _check(*_load(files))


@fuzz(weight=0.5)
@given(
    st.sampled_from(sorted(FILES)),
    value_edits(TROUBLE_VALUES),
)
def test_shipped_policies_with_values_replaced(name, picks):
    text = FILES[name].decode("utf-8")
    files = dict(FILES, **{name: replace_values(text, picks).encode("utf-8")})
    _check(*_load(files))


def _toml(value: Any) -> str:
    """A TOML rendering of a generated value (strings as JSON strings, which TOML reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


scalar = st.one_of(
    st.sampled_from(TROUBLE_VALUES),
    nasty_text().map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.integers().map(str),
    st.booleans().map(_toml),
    st.lists(nasty_text(max_parts=3), max_size=3).map(_toml),
)
keys = st.one_of(
    st.sampled_from(sorted({*SEGMENT.fields, *WINBACK.fields, "busy_seasons", "per_day"})),
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
)
tables = st.one_of(
    st.sampled_from(["defaults", "winback", "capacity", "weekends", "closures"]),
    st.builds(
        lambda kind, name: f"{kind}.{name}",
        st.sampled_from(["segment", "industry"]),
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    ),
)
generated_files = st.lists(
    st.tuples(tables, st.lists(st.tuples(keys, scalar), max_size=6)),
    min_size=1,
    max_size=5,
).map(
    lambda sections: "\n".join(
        f"[{table}]\n" + "".join(f"{key} = {value}\n" for key, value in dict(entries).items())
        for table, entries in sections
    )
)


@fuzz(weight=0.5)
@given(st.lists(generated_files, min_size=1, max_size=3))
def test_generated_policy_files(texts):
    files = {f"p{i}.toml": text.encode("utf-8") for i, text in enumerate(texts)}
    _check(*_load(files))
