"""Fuzz: cadence.toml, the shipped example mutated byte by byte, line by line, value by value.

Whatever the file says, :func:`load_config` returns a :class:`Config` or raises
:class:`UserError` with located one-line problems, and never shows a password it was given.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import event, given

from cadence.inputs.config import load_config
from cadence.inputs.config_schema import MAX_FORECAST_DAYS, MAX_HORIZON_DAYS, MAX_INTERVAL
from cadence.values.errors import UserError
from cadence.values.zones import is_zone
from tests.fuzz.fuzzkit import (
    TROUBLE_VALUES,
    fuzz,
    mutate,
    mutate_lines,
    mutations,
    replace_values,
    value_edits,
)

SHIPPED = (Path(__file__).resolve().parents[2] / "cadence.toml").read_bytes()
SECRET = "hunter2secret"
CONFIG_VALUES = (
    *TROUBLE_VALUES,
    '"3 years"',
    '"2 years"',
    '"2 days"',
    '"24 hours"',
    f'"{"9" * 90} seconds"',
    f'"{"9" * 400} minutes"',
    '"0 seconds"',
    '"PT0M"',
    f'"postgresql://cadence:{SECRET}@db:notaport/cadence"',
    f'"postgresql://cadence:{SECRET}@db/cadence"',
    '"postgresql://cadence@db:99999999999999999999/cadence"',
    '"sqlite:///\\u0000.db"',
    '"~nosuchuser/policies"',
    '"a\\u0000b"',
    '"sqlite://"',
    '"ics"',
    '"nosuch"',
    '["en", "xx"]',
    '"YDM"',
    '"99:00-17:00"',
    '"sun-sat"',
)


def _check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cadence.toml"
        path.write_bytes(data)
        lines = data.count(b"\n") + 1
        try:
            config = load_config(path)
        except UserError as exc:
            event("refused")
            assert exc.problems
            # A URL with a password in `database` is refused without showing it (the same
            # text under another key is just a wrong value, shown as written).
            assert not any(SECRET in str(p) for p in exc.problems if p.key == "database")
            for problem in exc.problems:
                assert problem.message
                assert "\n" not in str(problem) and "\r" not in str(problem)
                assert 0 <= problem.line <= lines
            return
    event("loaded")
    assert 1 <= config.horizon_days <= MAX_HORIZON_DAYS
    assert 1 <= config.forecast_days <= MAX_FORECAST_DAYS
    assert timedelta(seconds=1) <= config.interval <= MAX_INTERVAL
    assert SECRET not in config.database
    for person in config.salespeople:
        assert not person.timezone or is_zone(person.timezone)


@fuzz(weight=0.5)
@given(mutations())
def test_cadence_toml_with_bytes_mutated(ops):
    _check(mutate(SHIPPED, ops))


@fuzz(weight=0.5)
@given(mutations())
def test_cadence_toml_with_lines_mutated(ops):
    _check(mutate_lines(SHIPPED.decode("utf-8"), ops).encode("utf-8"))


@fuzz(weight=0.5)
@given(value_edits(CONFIG_VALUES))
def test_cadence_toml_with_values_replaced(picks):
    _check(replace_values(SHIPPED.decode("utf-8"), picks).encode("utf-8"))
