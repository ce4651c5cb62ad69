"""The small exception tree that separates the kinds of failure.

- :class:`UserError` — the user can fix it (a bad file, a bad argument). Printed as one clear
  message (or a list of problems), never with a traceback; the command exits 1.
- Backend failures (authentication, transient trouble) live in :mod:`connectors.base` and
  subclass :class:`CadenceError` too.
"""

from __future__ import annotations

from dataclasses import dataclass


class CadenceError(Exception):
    """Base class of every error cadence raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can.

    Rendered as ``FILE:LINE: [table] key: message``; parts that are unknown are left out.
    ``severity`` is ``"error"`` or ``"warning"``; warnings never make a command fail.
    """

    file: str = ""
    line: int = 0
    table: str = ""
    key: str = ""
    message: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.file and self.line:
            where = f"{self.file}:{self.line}"
        parts = []
        if where:
            parts.append(f"{where}:")
        if self.table:
            parts.append(f"[{self.table}]")
        if self.key:
            parts.append(f"{self.key}:")
        prefix = " ".join(parts)
        text = self.message if self.severity == "error" else f"warning: {self.message}"
        return f"{prefix} {text}" if prefix else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class UserError(CadenceError):
    """Something the user can fix. Carries one message or a list of :class:`Problem`."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] if self.message else []
        lines.extend(str(p) for p in self.problems)
        return "\n".join(lines)


class ValueParseError(ValueError):
    """A single value (duration, season, hours...) could not be understood.

    Raised by the value parsers; the loaders turn it into a located :class:`Problem`.
    """


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """One line an operator can act on: cadence's own errors by their message (they say what
    and where), anything else as ``Type: message``; clipped to ``limit`` characters."""
    own = isinstance(exc, CadenceError | ValueParseError) and str(exc)
    text = str(exc) if own else (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
