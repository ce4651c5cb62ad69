"""Small text helpers every layer may use (no imports of its own)."""

from __future__ import annotations


def count(n: int, one: str, many: str = "") -> str:
    """``1 error``, ``2 errors``, ``3 salespeople``: never ``error(s)``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
