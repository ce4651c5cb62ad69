"""``cadence check``: every problem ``run`` would meet, found first (:func:`check_all`).

Besides each file's own validation, the checks across inputs that are each valid alone:
customers against policies and cadence.toml (a segment nobody defined or an owner nobody
listed still plans with the defaults, so those are warnings; a zone that does not exist or
seasons that leave no free day cannot be planned, so those are errors), a dry plan of the
customer file as ``run`` would make it, customers whose hours never meet their owner's (or
not for part of the year: warnings naming the fix), and the local files each connector names.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import connectors
from cadence.inputs.config import Config, load_config
from cadence.inputs.customers import read_customers
from cadence.inputs.policy import PolicySet, rhythm_problem
from cadence.inputs.policy_load import load_policies
from cadence.inputs.tomlfile import LocatedToml, TablePath, TomlFileError
from cadence.planner import PlanInput, plan
from cadence.planner.overlap import unbookable
from cadence.sync.event_text import event_spec
from cadence.values.dates import DateReader
from cadence.values.daycal import is_known_country, subdivision_warning
from cadence.values.errors import Problem, UserError, ValueParseError, describe_error
from cadence.values.model import Customer, Salesperson
from cadence.values.progress import Tick, every
from cadence.values.seasons import Season, free_day_problem, parse_season
from cadence.values.zones import is_zone
from connectors.localfiles import writable_problem

DEFAULT_SEGMENT = "default"


def check_customers(
    customers: Sequence[Customer], policies: PolicySet, config: Config
) -> list[Problem]:
    """Problems that only show when customers meet the policies and the salespeople.

    Warnings: a segment used by customers but not defined (they get the default policy), an
    owner who is not a ``[[salesperson]]`` (default hours, days and zone), a country code the
    holidays package does not know (no public holidays). Errors: an unknown customer time zone.
    Problems are named after the customer file when cadence.toml names one.
    """
    file = str(config.customers) if config.customers else ""
    reader = config.date_reader()
    problems: list[Problem] = []

    segments = Counter(c.segment for c in customers if c.segment)
    for name, count in sorted(segments.items()):
        if name != DEFAULT_SEGMENT and name not in policies.segments:
            problems.append(
                Problem(
                    file=file,
                    key="segment",
                    message=f"segment {name!r} is used by {_customers(count)} but not defined "
                    "in the policies; they get the default policy",
                    severity="warning",
                )
            )

    listed = sorted(s.email.lower() for s in config.salespeople)
    owners = Counter(c.owner.lower() for c in customers)
    for owner, count in sorted(owners.items()):
        if owner not in listed:
            close = _near_miss(owner, listed)
            hint = f"did you mean {close}? " if close else ""
            problems.append(
                Problem(
                    file=file,
                    key="owner",
                    message=f"{owner} owns {_customers(count)} but is not a [[salesperson]] in "
                    f"{config.path.name}; {hint}default working hours, days and time zone "
                    "apply, in a calendar of its own",
                    severity="warning",
                )
            )

    countries = Counter(c.country.upper() for c in customers if c.country)
    for code, count in sorted(countries.items()):
        if not is_known_country(code):
            problems.append(
                Problem(
                    file=file,
                    key="country",
                    message=f"country code {code!r} of {_customers(count)} is unknown to the "
                    "holidays package; no public holidays apply on their side",
                    severity="warning",
                )
            )
        elif warning := subdivision_warning(code):
            problems.append(
                Problem(
                    file=file,
                    key="country",
                    message=f"country {code!r} of {_customers(count)}: {warning}",
                    severity="warning",
                )
            )

    for customer in customers:
        seasons = _seasons_of(customer, policies, reader)
        problem = free_day_problem(seasons) if seasons else None
        if problem:
            problems.append(
                Problem(
                    file=file,
                    key=customer.id,
                    message=f"busy_seasons: {problem} (with the seasons of industry "
                    f"{customer.industry!r})"
                    if customer.industry and policies.industry_seasons(customer.industry)
                    else f"busy_seasons: {problem}",
                )
            )
        if customer.timezone and not is_zone(customer.timezone):
            problems.append(
                Problem(
                    file=file,
                    key="timezone",
                    message=f"customer {customer.id} ({customer.name}): unknown time zone "
                    f"{customer.timezone!r}",
                )
            )
        own = (customer.every, customer.min_gap, customer.max_gap)
        if any(own) and (problem := rhythm_problem(policies.for_customer(customer))):
            problems.append(
                Problem(
                    file=file,
                    key=customer.id,
                    message=f"customer {customer.name!r}: its own every/min_gap/max_gap with "
                    f"segment {customer.segment!r}: {problem}; run would skip this customer",
                )
            )
    return problems


def _near_miss(address: str, listed: Sequence[str]) -> str | None:
    """The listed address ``address`` is most likely a typo of: the same name at a domain one
    slip away (``ben@exmaple.com``), or a name one slip away at the same domain."""
    name, _, domain = address.partition("@")
    best: tuple[float, str] | None = None
    for candidate in listed:
        other_name, _, other_domain = candidate.partition("@")
        if name == other_name:
            score = difflib.SequenceMatcher(None, domain, other_domain).ratio()
        elif domain == other_domain:
            score = difflib.SequenceMatcher(None, name, other_name).ratio()
        else:
            continue
        if score >= 0.8 and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


def _seasons_of(customer: Customer, policies: PolicySet, reader: DateReader) -> list[Season]:
    seasons = list(policies.industry_seasons(customer.industry))
    for text in customer.busy_seasons:
        with contextlib.suppress(ValueParseError):  # the file reader rejected that row
            seasons.append(parse_season(text, reader))
    return seasons


def _customers(count: int) -> str:
    return f"{count} customer{'s' if count != 1 else ''}"


def check_local_files(config: Config, env: Mapping[str, str]) -> list[Problem]:
    """Files and secrets the configuration names that ``run`` could not use: the database's
    folder, the health file, and each connector's own (secret files readable by others or not
    at all, token caches that cannot be written, missing CA bundles), located in cadence.toml.
    """
    try:
        doc: LocatedToml | None = LocatedToml(config.path)
    except TomlFileError:
        doc = None
    problems: list[Problem] = []

    said: set[str] = set()

    def add(table: TablePath, key: str | None, message: str, severity: str = "error") -> None:
        # A mail source of a calendar backend shares its section's files: say it once.
        if message in said:
            return
        said.add(message)
        if doc is not None:
            problems.append(doc.problem(table, key, message, severity=severity))
        else:
            problems.append(
                Problem(file=str(config.path), key=key or "", message=message, severity=severity)
            )

    database = _sqlite_file(config.database)
    if database is not None:
        why = writable_problem(database)
        if why:
            add((), "database", why)
    if config.daemon.health_file is not None:
        why = writable_problem(config.daemon.health_file)
        if why:
            add(("daemon",), "health_file", why)
    used = {config.backend_of(p) for p in config.salespeople} | {config.calendar_backend}
    for name in sorted(used | set(config.calendars)):
        section = config.calendars.get(name, {})
        for key, message in _connector_local(connectors.load_backend, name, section, config, env):
            add(("calendar", name), key or None, message)
    for name, section in sorted(config.mail.items()):
        for key, message in _connector_local(
            connectors.load_mail_source, name, section, config, env
        ):
            add(("mail", name), key or None, message)
    if config.smtp is not None:
        from connectors.smtp import check_smtp_local

        for key, message in check_smtp_local(config.smtp, config.base_dir, env):
            add(("smtp",), key or None, message)
    for table, key, message in _unset_secret_variables(config, env):
        add(table, key, message, "warning")
    return problems


def _unset_secret_variables(
    config: Config, env: Mapping[str, str]
) -> list[tuple[TablePath, str, str]]:
    """Each ``*_env`` key (a secret's environment variable) of a section in use whose variable
    is not set here. A warning, not an error: `check` may run without the service's environment
    file, but a variable that is missing there too fails every salesperson on that backend."""
    used = {config.backend_of(p) for p in config.salespeople} | {config.calendar_backend}
    sections: list[tuple[TablePath, Mapping[str, Any]]] = [
        (("calendar", name), section) for name, section in config.calendars.items() if name in used
    ]
    sections += [(("mail", name), section) for name, section in config.mail.items()]
    if config.smtp is not None and config.smtp.get("username"):  # no login, no password
        sections.append((("smtp",), config.smtp))
    found = []
    for table, section in sections:
        for key, variable in sorted(section.items()):
            secret = key.endswith("_env") and isinstance(variable, str) and bool(variable)
            if secret and not env.get(variable):
                message = (
                    f"environment variable {variable} is not set here; the service needs it "
                    "(e.g. in /etc/cadence/env, see deploy/README.md)"
                )
                found.append((table, key, message))
    return found


def _connector_local(
    load: Any, name: str, section: Mapping[str, Any], config: Config, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    try:
        cls = load(name)
    except (ImportError, LookupError, AttributeError):
        return []  # load_config reported it already
    found: list[tuple[str, str]] = cls.check_local(section, config.base_dir, env)
    return found


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])


def check_all(
    config_path: Path | str, today: datetime, *, progress: Tick | None = None
) -> list[Problem]:
    """Every problem in cadence.toml, the policies and the customer file, at once
    (``progress`` is told how far reading and planning the customer file have got)."""
    try:
        config = load_config(config_path)
    except UserError as exc:
        return exc.problems or [Problem(message=exc.message)]
    problems: list[Problem] = []
    policies, policy_problems = load_policies(config.policies, config.date_reader())
    problems.extend(policy_problems)
    problems.extend(check_salespeople(config, policies))
    problems.extend(check_mail_sources(config))
    if policies is not None:
        problems.extend(check_video(config, policies))
    if config.customers is not None:
        try:
            imported = read_customers(
                config.customers,
                config.date_reader(),
                today=today.date(),
                default_timezone=policies.defaults.timezone if policies else None,
                progress=every(progress, "reading customers", None, 1000),
            )
        except UserError as exc:
            problems.extend(
                exc.problems or [Problem(file=str(config.customers), message=exc.message)]
            )
        else:
            problems.extend(r.as_problem(str(config.customers)) for r in imported.rejected)
            if policies is not None:
                found = check_customers(imported.customers, policies, config)
                problems.extend(found)
                said = {p.key for p in found if p.is_error}  # a customer's problem, once
                rest = [c for c in imported.customers if c.id not in said]
                problems.extend(_check_plannable(rest, policies, config, today, progress))
                problems.extend(check_hours_meet(rest, policies, config, today))
    problems.extend(check_local_files(config, os.environ))
    return problems


def check_salespeople(config: Config, policies: PolicySet | None) -> list[Problem]:
    """Each salesperson's calendar against the policies, located in cadence.toml.

    Warnings: a plain country code where holidays differ by subdivision (naming the codes).
    Errors: closures (the company's with their own) that leave no day free in some year.
    """
    try:
        doc = LocatedToml(config.path)
    except TomlFileError:
        return []  # load_config read it a moment ago; nothing to locate against
    reader = config.date_reader()
    company = policies.closures if policies is not None else ()
    problems: list[Problem] = []
    for index, person in enumerate(config.salespeople):
        table: TablePath = ("salesperson", index)
        if warning := subdivision_warning(person.country):
            problems.append(doc.problem(table, "country", warning, severity="warning"))
        own = tuple(parse_season(text, reader) for text in person.closures)
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


def check_hours_meet(
    customers: Sequence[Customer], policies: PolicySet, config: Config, now: datetime
) -> list[Problem]:
    """A warning for each customer whose hours never meet their owner's working hours, or
    not for part of the coming year (daylight saving time), naming the customer and the fix:
    nothing can be booked for them then (:mod:`cadence.planner.overlap`)."""
    file = str(config.customers or "")
    people = {p.email: p for p in config.salespeople}
    by_id = {c.id: c for c in customers}
    return [
        Problem(
            file=file,
            key=reach.customer_id,
            message=f"customer {by_id[reach.customer_id].name!r} {reach.describe()}",
            severity="warning",
        )
        for reach in unbookable(customers, policies, people, now.date())
    ]


def _check_plannable(
    customers: Sequence[Customer],
    policies: PolicySet,
    config: Config,
    now: datetime,
    progress: Tick | None = None,
) -> list[Problem]:
    """Plan the customer file as ``run`` would (without calendars) and build each event: a
    customer ``run`` would have to skip is an error here, named with the cause."""
    file = str(config.customers or "")
    people = {p.email: p for p in config.salespeople}
    for c in customers:
        people.setdefault(c.owner, Salesperson(email=c.owner, timezone=policies.defaults.timezone))
    reader = config.date_reader()
    result = plan(
        PlanInput(
            policies=policies,
            customers=customers,
            salespeople=people,
            now=now,
            horizon_days=config.horizon_days,
            season_parser=lambda text: parse_season(text, reader),
            progress=progress,
        )
    )
    skipped = dict(result.skipped)
    by_id = {c.id: c for c in customers}
    for p in result.booked():
        if p.customer_id in skipped:
            continue
        customer = by_id[p.customer_id]
        try:
            event_spec(p, customer, people[p.owner], policies.for_customer(customer), None)
        except Exception as exc:
            skipped[p.customer_id] = describe_error(exc)
    return [
        Problem(
            file=file,
            key=customer_id,
            message=f"customer {by_id[customer_id].name!r} cannot be planned: {why}; "
            "run would skip this customer",
        )
        for customer_id, why in sorted(skipped.items())
    ]
