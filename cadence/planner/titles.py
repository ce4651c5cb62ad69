"""Event titles, as SPEC 6 spells them, and anniversary arithmetic."""

from __future__ import annotations

from cadence.values.model import BookingKind


def anniversary_months(policy_anniversary: str | None) -> int | None:
    """Months between anniversaries: 12 for yearly, 6 for half-yearly, None when off."""
    return {"yearly": 12, "half-yearly": 6}.get(policy_anniversary or "")


def is_milestone(months: int) -> bool:
    """1, 5, 10, 15... years."""
    return months % 12 == 0 and (months == 12 or (months // 12) % 5 == 0)


def age_text(months: int) -> str:
    """``6 months``, ``1 year``, ``1.5 years``, ``5 years``."""
    if months < 12:
        return f"{months} months"
    years = months / 12
    if years == 1:
        return "1 year"
    return f"{years:g} years"


def title(kind: BookingKind, name: str, months: int = 0, step: int = 0, steps: int = 0) -> str:
    """The calendar title of a booking."""
    if kind is BookingKind.CHECK_IN:
        return f"Check-in: {name}"
    if kind is BookingKind.ANNIVERSARY:
        if is_milestone(months):
            return f"Anniversary check-in: {age_text(months)} with {name}"
        return f"Anniversary check-in: {name}"
    if kind is BookingKind.ANNIVERSARY_REMINDER:
        return f"Anniversary: {name} ({age_text(months)})"
    if kind is BookingKind.ONBOARDING:
        return f"Onboarding check-in: {name}" + (f" ({step} of {steps})" if steps > 1 else "")
    return f"Win-back call: {name}"
