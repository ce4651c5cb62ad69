"""The docs' key tables, generated from the schemas: ``python -m cadence.inputs.keys``.

Every table of cadence.toml (connectors included) and of the policy folder has one
:class:`~cadence.values.schema.Schema`; this module renders them as Markdown tables (key,
default, meaning), so what the docs say is what the loaders do.

- ``--markdown`` prints every table;
- ``--write`` rewrites docs/config-keys.md and every block of README.md and docs/*.md written
  between ``<!-- keys: TABLE... -->`` and ``<!-- /keys -->``;
- ``--check`` writes nothing and exits 1 naming each file that is not as generated
  (tests/test_config_keys.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.config_schema import (
    CALENDAR_TABLE,
    daemon_schema,
    salesperson_schema,
    top_schema,
)
from cadence.inputs.policy_schema import (
    CAPACITY,
    SEGMENT,
    WEEKENDS_ABOUT,
    WINBACK,
    closure_schema,
    industry_schema,
)
from cadence.values.dates import DateReader
from cadence.values.schema import UNSET, Computed, Field, Schema
from connectors.smtp import smtp_schema

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path("docs/config-keys.md")
_BLOCK = re.compile(r"(<!-- keys: ([^>]*?) -->\n)(.*?)(<!-- /keys -->)", re.S)
_LONG = 48  # a longer default text is cut in the tables


def schemas() -> dict[str, Schema]:
    """Every table's schema by its id (``smtp``, ``calendar.google``, ``winback``...).

    Connectors are taken from the registry, so a new backend's table appears by itself.
    """
    here = Path(".")
    reader = DateReader()
    found: dict[str, Schema] = {"top": top_schema(here), "calendar": CALENDAR_TABLE}
    calendars: dict[str, Schema] = {}
    for name in sorted(connectors.CALENDAR_BACKENDS):
        calendars[name] = _schema_of(connectors.load_backend(name))
        found[f"calendar.{name}"] = calendars[name]
    for name in sorted(connectors.MAIL_SOURCES):
        schema = _schema_of(connectors.load_mail_source(name))
        if schema is not calendars.get(name):  # Gmail and Graph mail share their calendar's
            found[f"mail.{name}"] = schema
    found.update(
        {
            "smtp": smtp_schema(here),
            "daemon": daemon_schema(here),
            "salesperson": salesperson_schema(reader),
            "defaults": SEGMENT,
            "industry": industry_schema(reader),
            "winback": WINBACK,
            "capacity": CAPACITY,
            "closures": closure_schema(reader),
            # Its keys are country codes, checked by the loader itself.
            "weekends": Schema(
                {"CODE": Field(help="weekend days of country or subdivision CODE, e.g. 'fri-sat'")},
                about=WEEKENDS_ABOUT,
            ),
        }
    )
    return found


def _schema_of(cls: type) -> Schema:
    schema = getattr(cls, "config_schema", None)
    if schema is None:
        raise LookupError(f"{cls.__module__}.{cls.__name__} declares no config_schema")
    return schema


def default_text(field: Field) -> str:
    """How the tables show a key's default: as written in TOML, or the schema's words."""
    if field.required:
        return "required"
    if field.shown:
        return field.shown
    if isinstance(field.default, Computed):
        return field.default.text
    if field.default is UNSET or field.default is None:
        return ""
    text = _toml(field.default)
    if len(text) > _LONG:
        text = text[: _LONG - 4].rstrip() + '..."'
    return f"`{text}`"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(schema: Schema) -> str:
    """One schema as a Markdown table (key, default, meaning), in the schema's key order."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in schema.fields.items():
        meaning, default = (text.replace("|", "\\|") for text in (field.help, default_text(field)))
        lines.append(f"| `{key}` | {default} | {meaning} |")
    if not schema.fields:
        lines.append("| (none) | | |")
    return "\n".join(lines) + "\n"


def title(name: str) -> str:
    """How a table is named in the docs, as it is written in its file: ``smtp`` -> ``[smtp]``."""
    return TITLES.get(name, f"`[{name}]`")


TITLES = {
    "top": "The top level",
    "salesperson": "`[[salesperson]]`",
    "defaults": "`[defaults]` and `[segment.NAME]`",
    "industry": "`[industry.NAME]`",
}


def block(ids: Sequence[str], found: dict[str, Schema]) -> str:
    """The text of a marked block: one table as it is, several each under its name."""
    for name in ids:
        if name not in found:
            raise LookupError(f"no table {name!r} (known: {', '.join(found)})")
    if len(ids) == 1:
        return table(found[ids[0]])
    return "\n".join(f"{title(n)}: {found[n].about}.\n\n{table(found[n])}" for n in ids)


def reference(found: dict[str, Schema]) -> str:
    """docs/config-keys.md: every table, under its name."""
    head = (
        "# Every key, with its default\n\n"
        "Generated from the schemas by `python -m cadence.inputs.keys --write`: do not edit "
        "by hand. An unknown key is an error (with a did-you-mean); secrets never go in "
        "cadence.toml (name an `..._env` variable or a `..._file` instead).\n"
    )
    policy_ids = ("defaults", "industry", "winback", "capacity", "closures", "weekends")
    parts = [head, "## cadence.toml\n"]
    for name in [n for n in found if n not in policy_ids] + ["", *policy_ids]:
        if not name:
            parts.append("## The policy folder\n")
            continue
        schema = found[name]
        parts.append(f"### {title(name)}\n\n{schema.about[:1].upper()}{schema.about[1:]}.\n")
        parts.append(table(schema))
    return "\n".join(parts)


def rewritten(text: str, found: dict[str, Schema]) -> str:
    """``text`` with every marked block regenerated."""
    return _BLOCK.sub(lambda m: m[1] + block(m[2].split(), found) + m[4], text)


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file or file with marked blocks, as it should read."""
    found = schemas()
    out = {root / REFERENCE: reference(found)}
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        if path == root / REFERENCE:
            continue
        text = path.read_text(encoding="utf-8")
        if _BLOCK.search(text):
            out[path] = rewritten(text, found)
    return out


def stale_files(root: Path = ROOT) -> list[Path]:
    """The files whose key tables are not as the schemas generate them."""
    return [
        path
        for path, text in expected_files(root).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module docs."""
    parser = argparse.ArgumentParser(prog="python -m cadence.inputs.keys", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--markdown", action="store_true", help="print every table")
    mode.add_argument("--write", action="store_true", help="rewrite the docs' tables")
    mode.add_argument("--check", action="store_true", help="exit 1 if a doc is not as generated")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(reference(schemas()))
        return 0
    if args.write:
        for path, text in expected_files().items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = stale_files()
    for path in stale:
        print(
            f"{path.relative_to(ROOT)}: key tables differ from the schemas; run "
            "python -m cadence.inputs.keys --write",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
