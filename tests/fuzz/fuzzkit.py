"""What the fuzz targets share: the active profile, nasty text, byte mutations, bounds.

The property of every target: a parser given any input returns a correct value or raises one of
cadence's own errors (:data:`CLEAN_ERRORS`), within the profile's deadline and, where an input
could make it allocate without end, within a memory bound (:func:`peak_memory_below`).
"""

from __future__ import annotations

import json
import os
import re
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st

from cadence.values.errors import UserError, ValueParseError
from connectors.base import BackendError

CI_EXAMPLES = 50  # per target at weight 1; the slow targets take a fraction of it
FUZZ_EXAMPLES = 2000
PROFILES = ("ci", "fuzz")
# The errors cadence raises on purpose for bad input; anything else escaping is a crash.
CLEAN_ERRORS: tuple[type[Exception], ...] = (ValueParseError, UserError, BackendError)

T = TypeVar("T")


def profile_name() -> str:
    """``ci`` unless ``HYPOTHESIS_PROFILE`` names another profile of the harness."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    return name if name in PROFILES else "ci"


def fuzz(weight: float = 1.0, **overrides: Any) -> settings:
    """The active profile's settings, with ``weight`` times its number of examples.

    Slow targets (dateparser, whole files) take a weight below 1 so that the ``ci`` run stays
    short; the ``fuzz`` profile scales them the same way.
    """
    parent = settings.get_profile(profile_name())
    examples = max(5, round(parent.max_examples * weight))
    return settings(parent, max_examples=examples, **overrides)


def outcome(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | Exception:
    """``fn``'s value, or the clean error it raised; any other exception propagates."""
    try:
        return fn(*args, **kwargs)
    except CLEAN_ERRORS as exc:
        return exc


@contextmanager
def peak_memory_below(megabytes: float) -> Iterator[None]:
    """Fail when the block's peak of Python allocations passes ``megabytes``.

    tracemalloc only measures; a runaway allocation is also stopped while it happens, by a cap
    on the process's address space (a MemoryError, so the test fails instead of the shared
    machine swapping), where the platform has one.
    """
    with _address_space_cap(extra_megabytes=1024 + 4 * megabytes):
        tracemalloc.start()
        try:
            yield
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < megabytes * 1_000_000, f"peak allocation {peak / 1e6:.1f} MB"


@contextmanager
def _address_space_cap(extra_megabytes: float) -> Iterator[None]:
    """Limit the address space to what is mapped now plus ``extra_megabytes`` (Linux)."""
    try:
        import resource

        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        yield
        return
    cap = mapped + int(extra_megabytes * 1_000_000)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# Characters that broke something once or are known troublemakers for parsers and headers.
CONTROL = "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f\x7f\x85\x9b\u2028\u2029"
NASTY_TOKENS = (
    *CONTROL,
    "\r\n",
    "\ufeff",
    "\u200b",
    "\ud7ff",
    "\U0001f600",
    "٣",  # an Arabic-Indic digit: \d matches it, int() reads it
    "²",
    "9" * 20,
    "9" * 400,
    "0",
    "00",
    "-1",
    "1e309",
    "nan",
    "inf",
    "9999",
    "0000",
    "10000",
    "1799",
    "2201",
    "P",
    "T",
    "..",
    " - ",
    " to ",
    "–",
    ";",
    ",",
    '"',
    "'",
    "\\",
    "=",
    "[",
    "]",
    "{",
    "}",
    "#",
    "@",
    "<",
    ">",
    "/",
    "../",
    "America",
    "Europe/Lisbon",
    "UTC",
    "Feb 29",
    "Dec 31",
    "Jan 1",
    "December",
    "business days",
    "years",
    "weeks",
    "a" * 300,
)


def nasty_text(max_parts: int = 8) -> st.SearchStrategy[str]:
    """Short strings assembled from troublemaking tokens and arbitrary characters."""
    part = st.one_of(st.sampled_from(NASTY_TOKENS), st.text(max_size=6))
    return st.lists(part, max_size=max_parts).map("".join)


# Byte-level mutation: a list of operations applied one after the other.
_MUTATION = st.tuples(
    st.sampled_from(("insert", "delete", "replace", "duplicate", "truncate", "flip", "token")),
    st.integers(min_value=0, max_value=1 << 30),
    st.integers(min_value=1, max_value=64),
    st.binary(min_size=1, max_size=8),
    st.sampled_from([t.encode("utf-8") for t in NASTY_TOKENS[:40]]),
)


def mutations(max_ops: int = 6) -> st.SearchStrategy[list[tuple[str, int, int, bytes, bytes]]]:
    """Edit scripts for :func:`mutate`."""
    return st.lists(_MUTATION, min_size=1, max_size=max_ops)


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes, bytes]]) -> bytes:
    """``data`` with each edit applied at its position modulo the current length."""
    out = bytearray(data)
    for op, position, length, payload, token in ops:
        at = position % (len(out) + 1)
        match op:
            case "insert":
                out[at:at] = payload
            case "delete":
                del out[at : at + length]
            case "replace":
                out[at : at + len(payload)] = payload
            case "duplicate":
                out[at:at] = out[at : at + length]
            case "truncate":
                del out[at:]
            case "flip":
                if out:
                    out[at % len(out)] ^= 1 << (length % 8)
            case _:
                out[at:at] = token
    return bytes(out)


def mutate_lines(text: str, ops: list[tuple[str, int, int, bytes, bytes]]) -> str:
    """``text`` with line-level edits: lines dropped, doubled, swapped or with a token added.

    Keeps most mutated files valid enough to reach the validation behind the parser.
    """
    lines = text.split("\n")
    for op, position, length, _payload, token in ops:
        if not lines:
            break
        at = position % len(lines)
        other = (at + length) % len(lines)
        match op:
            case "delete" | "truncate":
                del lines[at]
            case "duplicate":
                lines.insert(at, lines[at])
            case "flip":
                lines[at], lines[other] = lines[other], lines[at]
            case _:
                cut = length % (len(lines[at]) + 1)
                lines[at] = lines[at][:cut] + token.decode("utf-8") + lines[at][cut:]
    return "\n".join(lines)


# TOML values that once got past `check` or crashed it, and their neighbours.
TROUBLE_VALUES = (
    '"10000 years"',
    '"100000000 business days"',
    f'"{"9" * 309} days"',
    '"P0D"',
    '"P0W"',
    '"P0Y0M"',
    '"0 days"',
    '"10 years"',
    '"P10Y"',
    '"2609 business days"',
    '"Europe"',
    '"America"',
    f'"{"A" * 300}"',
    '"Europe/Lisbon"',
    '"../etc/passwd"',
    '["Jan 1 - Dec 31"]',
    '["Dec 1 - Nov 30"]',
    '["Jan 1 - Jun 30", "Jul 1 - Dec 31"]',
    '["2027-01-01 - 9999-12-31"]',
    '["Mar 1 - Feb 28"]',
    '"9999 hours"',
    '"PT0M"',
    "true",
    "0",
    "-1",
    "1e309",
    "inf",
    "nan",
    "[]",
    "{}",
    '["meeting", 3]',
    "1979-05-27",
    '"yearly"',
)
ASSIGNMENT = re.compile(r"^(\s*[A-Za-z0-9_\"'.-]+\s*=\s*)(.*)$")


def replace_values(text: str, picks: list[tuple[int, str]]) -> str:
    """``text`` with the values of some ``key = value`` lines replaced."""
    lines = text.split("\n")
    assignments = [i for i, line in enumerate(lines) if ASSIGNMENT.match(line)]
    for position, value in picks:
        if not assignments:
            break
        i = assignments[position % len(assignments)]
        match = ASSIGNMENT.match(lines[i])
        assert match is not None
        lines[i] = match.group(1) + value
    return "\n".join(lines)


def value_edits(values: list[str] | tuple[str, ...]) -> st.SearchStrategy[list[tuple[int, str]]]:
    """One to four (position, TOML value) edits: a known troublesome value or any text quoted
    as a TOML string, for a mutation test to put at ``position`` modulo its number of values."""
    return st.lists(
        st.tuples(
            st.integers(0, 1000),
            st.one_of(
                st.sampled_from(values),
                nasty_text().map(lambda t: json.dumps(t, ensure_ascii=False)),
            ),
        ),
        min_size=1,
        max_size=4,
    )
