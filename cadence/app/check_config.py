"""``cadence check``: cadence.toml against the policies: each salesperson's country and closures,
the calendars that can read mail without a ``[mail.NAME]`` table, and video links asked for
from a calendar that cannot make them."""

from __future__ import annotations

from cadence.inputs.config import Config
from cadence.inputs.policy import PolicySet
from cadence.inputs.tomlfile import LocatedToml, TablePath, TomlFileError
from cadence.values.daycal import subdivision_warning
from cadence.values.errors import Problem
from cadence.values.seasons import SeasonParser, free_day_problem


def check_salespeople(
    config: Config, policies: PolicySet | None, seasons: SeasonParser | None = None
) -> list[Problem]:
    """Each salesperson's calendar against the policies, located in cadence.toml.

    Warnings: a plain country code where holidays differ by subdivision (naming the codes).
    Errors: closures (the company's with their own) that leave no day free in some year.
    """
    try:
        doc = LocatedToml(config.path)
    except TomlFileError:
        return []  # load_config read it a moment ago; nothing to locate against
    seasons = seasons or SeasonParser(config.date_reader())
    company = policies.closures if policies is not None else ()
    problems: list[Problem] = []
    for index, person in enumerate(config.salespeople):
        table: TablePath = ("salesperson", index)
        if warning := subdivision_warning(person.country):
            problems.append(doc.problem(table, "country", warning, severity="warning"))
        own = tuple(seasons(text) for text in person.closures)
        if own and free_day_problem(company + own) is not None:
            problems.append(
                doc.problem(
                    table,
                    "closures",
                    f"{person.email}'s closures with the company's [closures] leave no day "
                    "free in some year: nothing could ever be booked for them",
                )
            )
    return problems


# Calendar backends whose connection reads mail too (same credentials, same section's keys).
MAIL_READING_BACKENDS = {"google": "Gmail", "outlook": "Microsoft 365 mail"}


def check_mail_sources(config: Config) -> list[Problem]:
    """A warning for each calendar backend in use that can read mail (google, outlook) without
    its ``[mail.NAME]`` table: contacts by mail are then never seen, and check-ins can land the
    day after a salesperson mailed the customer."""
    used = {config.calendar_backend} | {config.backend_of(p) for p in config.salespeople}
    problems = []
    for name in sorted(used & set(MAIL_READING_BACKENDS) - set(config.mail)):
        try:
            line = LocatedToml(config.path).line(("calendar", name), None)
        except TomlFileError:
            line = 0
        problems.append(
            Problem(
                file=str(config.path),
                line=line,
                table=f"calendar.{name}",
                message=f"{MAIL_READING_BACKENDS[name]} is not read for contacts: add an empty "
                f"[mail.{name}] table (it uses these keys) or see docs/{name}.md",
                severity="warning",
            )
        )
    return problems


# Which calendar backend makes the meeting of each provider-made video link.
VIDEO_BACKENDS = {"meet": "google", "teams": "outlook"}


def check_video(config: Config, policies: PolicySet) -> list[Problem]:
    """A warning when policies ask for Google Meet or Teams while some salespeople book into a
    calendar that cannot make that meeting: their bookings get no video link at all."""
    tables: dict[str, list[str]] = {}
    named = {"defaults": policies.defaults}
    named.update({f"segment.{n}": p for n, p in policies.segments.items()})
    for table, policy in sorted(named.items()):
        if policy.video in VIDEO_BACKENDS:
            tables.setdefault(policy.video, []).append(table)
    problems = []
    for video, where in sorted(tables.items()):
        needed = VIDEO_BACKENDS[video]
        elsewhere = sorted(p.email for p in config.salespeople if config.backend_of(p) != needed)
        if not elsewhere:
            continue
        shown = ", ".join(elsewhere[:3])
        if len(elsewhere) > 3:
            shown += f" and {len(elsewhere) - 3} more"
        problems.append(
            Problem(
                file=str(config.policies),
                key="video",
                message=f"video = {video!r} ([{'], ['.join(where)}]) needs the {needed} calendar "
                f"backend; {shown} book elsewhere and get no video link (give them "
                'video = "url" with a video_url)',
                severity="warning",
            )
        )
    return problems
