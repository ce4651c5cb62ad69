"""Where log lines go, and how they look: a terminal gets timestamps; journald does not.

Under systemd, stderr is connected to the journal and ``JOURNAL_STREAM`` names that stream
(``device:inode``, see systemd.exec(5)). The journal stamps every line itself, so cadence's own
timestamp would be said twice; instead each line starts with its syslog priority (``<3>``), which
journald reads as the entry's level. When the ``systemd`` Python package is installed, records
go to the journal directly with structured fields (``CADENCE_LOGGER``, and the owner or
customer when a record carries one), searchable with ``journalctl CADENCE_OWNER=...``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

# Python level -> syslog priority (sd-daemon(3) prefixes).
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class _PriorityFormatter(logging.Formatter):
    """``<4>cadence: message``: the journal reads the priority and stamps the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def under_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Is ``stream`` the journal stream systemd named in ``JOURNAL_STREAM``?"""
    named = env.get("JOURNAL_STREAM", "")
    device, _, inode = named.partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def handler_for(stream: TextIO, env: Mapping[str, str]) -> logging.Handler:
    """The handler for cadence's log: journal, journal stream, or plain text with times."""
    if under_journal(stream, env):
        journal = _journal_handler()
        if journal is not None:
            return journal
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(_PriorityFormatter("%(name)s: %(message)s"))
        return handler
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _journal_handler() -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER="cadence")
    handler.addFilter(_structured_fields)
    return handler


def _structured_fields(record: logging.LogRecord) -> bool:
    """Give the journal the logger's name and, when the record has them, the salesperson and
    the customer, as fields (JournalHandler sends upper-case record attributes as fields)."""
    fields: dict[str, Any] = {"CADENCE_LOGGER": record.name}
    for attribute, field in (("owner", "CADENCE_OWNER"), ("customer_id", "CADENCE_CUSTOMER")):
        value = getattr(record, attribute, None)
        if value:
            fields[field] = str(value)
    for key, value in fields.items():
        setattr(record, key, value)
    return True


def configure(
    level: int, *, skip_reported: bool = False, env: Mapping[str, str] | None = None
) -> None:
    """Log to stderr (or the journal) at ``level``; with ``skip_reported``, leave out records of
    problems the command prints from the cycle's result itself (tagged ``in_result``)."""
    root = logging.getLogger()
    if root.handlers:  # a host configured logging already (as logging.basicConfig respects)
        return
    handler = handler_for(sys.stderr, os.environ if env is None else env)
    if skip_reported:
        handler.addFilter(lambda record: not getattr(record, "in_result", False))
    root.addHandler(handler)
    root.setLevel(level)
