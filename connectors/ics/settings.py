"""``[calendar.ics]``: its schema (keys, defaults, help, checks)."""

from __future__ import annotations

from cadence.values.schema import Field, Schema, rule

_folder = rule(
    lambda v: isinstance(v, str) and bool(v), lambda v: f"expected a folder path, got {v!r}"
)

SCHEMA = Schema(
    {
        "folder": Field(
            _folder,
            "folder of the <email>.ics files (relative to cadence.toml)",
            default="calendars",
        ),
        "invites": Field(
            rule(lambda v: isinstance(v, bool), lambda v: f"expected true or false, got {v!r}"),
            "also e-mail iMIP invitations through [smtp]",
            default=False,
        ),
        "busy_folder": Field(
            _folder, "folder of exported <email>.ics files whose events count as busy"
        ),
    },
    about="calendars as iCalendar files in a folder (the default backend)",
)
DEFAULT_FOLDER: str = SCHEMA.default("folder")
