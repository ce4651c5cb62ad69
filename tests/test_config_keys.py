"""One schema per config table: the docs' key tables, defaults, help and did-you-mean."""

from __future__ import annotations

import shutil

import pytest

from cadence.inputs import keys
from cadence.inputs.config_schema import salesperson_schema
from cadence.values.dates import DateReader
from cadence.values.model import Salesperson
from cadence.values.schema import UNSET, Computed

SCHEMAS = keys.schemas()


def test_the_docs_key_tables_are_the_schemas():
    """README.md, docs/config-keys.md and the marked tables of docs/*.md list exactly each
    schema's keys with its defaults and help; `python -m cadence.inputs.keys --write` fixes
    them after a schema changes."""
    assert keys.stale_files() == []


def test_a_key_table_edited_by_hand_is_found(tmp_path):
    shutil.copy(keys.ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(keys.ROOT / "docs", tmp_path / "docs")
    google = tmp_path / "docs" / "google.md"
    text = google.read_text(encoding="utf-8")
    assert "| `batch_size` | `50` |" in text
    google.write_text(text.replace("| `batch_size` | `50` |", "| `batch_size` | `40` |"))
    (tmp_path / "docs" / "config-keys.md").unlink()
    assert keys.stale_files(tmp_path) == [tmp_path / "docs" / "config-keys.md", google]


def test_every_table_of_every_connector_is_documented():
    assert set(SCHEMAS) == {
        "top", "calendar", "calendar.caldav", "calendar.google", "calendar.ics",
        "calendar.memory", "calendar.outlook", "mail.imap", "smtp", "daemon", "salesperson",
        "defaults", "industry", "winback", "capacity", "closures", "weekends",
    }  # fmt: skip
    reference = (keys.ROOT / keys.REFERENCE).read_text(encoding="utf-8")
    for name, schema in SCHEMAS.items():
        assert f"### {keys.title(name)}\n" in reference
        for key in schema.fields:
            assert f"| `{key}` |" in reference


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_key_has_help_and_a_valid_default(name):
    schema = SCHEMAS[name]
    assert schema.about
    for key, field in schema.fields.items():
        assert field.help, f"[{name}] {key} has no help text"
        if field.default not in (UNSET, None) and not isinstance(field.default, Computed):
            checked = schema.check({key: field.default})
            assert [p for p in checked.problems if p[0] == key] == [], (name, key)
    schema.resolve({})  # every default, computed ones included, can be filled in


@pytest.mark.parametrize("name", sorted(n for n in SCHEMAS if n != "weekends"))
def test_a_typo_in_any_table_gets_a_did_you_mean(name):
    schema = SCHEMAS[name]
    for key in schema.fields:
        [message] = [m for k, m in schema.problems({key + "x": 1}) if k == key + "x"]
        assert message.startswith(f"unknown key; did you mean {key!r}? (allowed: ")


def test_a_salesperson_s_defaults_are_the_schema_s():
    """Salesperson (a value the planner reads) keeps defaults for code that builds one; the ones
    cadence.toml documents must be the same."""
    schema = salesperson_schema(DateReader())
    resolved = schema.resolve(schema.check({"email": "ana@example.com"}).values)
    assert Salesperson(**resolved) == Salesperson(email="ana@example.com")


def test_the_command_line_checks_and_prints(capsys):
    assert keys.main(["--check"]) == 0
    assert keys.main(["--markdown"]) == 0
    assert capsys.readouterr().out == (keys.ROOT / keys.REFERENCE).read_text(encoding="utf-8")
