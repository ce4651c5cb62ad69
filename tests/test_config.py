"""cadence.toml: resolved paths and defaults, salespeople, connector sections, every problem."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

import connectors
from cadence.app.check_customers import check_customers
from cadence.inputs.config import Config, DaemonSettings, load_config
from cadence.inputs.config_schema import masked_url
from cadence.inputs.policy import PolicySet, SegmentPolicy
from cadence.values.durations import Duration
from cadence.values.errors import UserError
from cadence.values.model import Customer, Salesperson
from cadence.values.workweek import WorkingHours
from connectors.base import CalendarBackend, MailSource

TOP_KEYS = (
    "calendar, customers, daemon, database, date_order, forecast, horizon, interval, languages, "
    "mail, policies, salesperson, smtp"
)
# The real default backend, captured before the stand-ins below replace it.
REAL_ICS = connectors.CALENDAR_BACKENDS["ics"]


class FolderBackend(CalendarBackend):
    """A stand-in connector whose section needs ``folder`` (only its validation is used)."""

    name = "folder"
    config_keys: ClassVar[Mapping[str, str]] = {"folder": "where the files go", "invites": "iMIP"}

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().validate_config(section)
        if "folder" not in section:
            problems.append(("folder", "required: the folder holding the .ics files"))
        return problems

    def busy(self, owner, start, end):  # pragma: no cover - never constructed here
        raise NotImplementedError

    def list_owned(self, owner):  # pragma: no cover
        raise NotImplementedError

    def write(self, owner, ops):  # pragma: no cover
        raise NotImplementedError


class AnyBackend(FolderBackend):
    """Accepts an empty section."""

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        return CalendarBackend.validate_config.__func__(cls, section)


class ImapLike(MailSource):
    config_keys: ClassVar[Mapping[str, str]] = {"host": "server", "password_env": "secret"}

    def messages(self, owner, addresses, domains, since):  # pragma: no cover
        raise NotImplementedError


@pytest.fixture(autouse=True)
def stand_in_connectors(monkeypatch):
    """Register stand-in connectors so these tests do not depend on the real ones."""
    monkeypatch.setitem(connectors.CALENDAR_BACKENDS, "ics", f"{__name__}:AnyBackend")
    monkeypatch.setitem(connectors.CALENDAR_BACKENDS, "folder", f"{__name__}:FolderBackend")
    monkeypatch.setitem(connectors.CALENDAR_BACKENDS, "ghost", "connectors.ghost:GhostBackend")
    monkeypatch.setitem(connectors.MAIL_SOURCES, "imap", f"{__name__}:ImapLike")


def write(folder: Path, text: str) -> Path:
    path = folder / "cadence.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert caught.value.message == "cadence.toml has problems"
    return [str(p) for p in caught.value.problems]


# -------------------------------------------------------------------------------------------
# Values


def test_empty_file_gives_every_default(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config == Config(
        path=tmp_path / "cadence.toml",
        base_dir=tmp_path,
        database=f"sqlite:///{tmp_path}/cadence.db",
        policies=tmp_path / "policies",
        customers=None,
        horizon=Duration(days=90, text="90 days"),
        interval=timedelta(minutes=15),
        forecast=Duration(months=12, text="1 year"),
        languages=("en",),
        date_order="DMY",
        calendar_backend="ics",
        calendars={},
        smtp=None,
        mail={},
        daemon=DaemonSettings(),
        salespeople=(),
    )
    assert (config.horizon_days, config.forecast_days) == (90, 365)


def test_relative_paths_resolve_against_the_folder_of_cadence_toml(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    write(
        site,
        """
        database = "sqlite:///data/cadence.db"
        policies = "rules"
        customers = "examples/customers.csv"
        [daemon]
        health_file = "run/health"
        lease_seconds = 90
        """,
    )
    monkeypatch.chdir(tmp_path)  # somewhere else: the working directory must not matter
    config = load_config(Path("site/cadence.toml"))
    assert config.path == site / "cadence.toml"
    assert config.base_dir == site
    assert config.database == f"sqlite:///{site}/data/cadence.db"
    assert config.policies == site / "rules"
    assert config.customers == site / "examples" / "customers.csv"
    assert config.daemon == DaemonSettings(lease_seconds=90.0, health_file=site / "run" / "health")


def test_absolute_sqlite_and_postgresql_urls_are_kept(tmp_path):
    config = load_config(write(tmp_path, 'database = "sqlite:////var/lib/cadence/c.db"'))
    assert config.database == "sqlite:////var/lib/cadence/c.db"
    url = "postgresql+psycopg://cadence@db.internal:5432/cadence"
    assert load_config(write(tmp_path, f'database = "{url}"')).database == url


def test_shipped_cadence_toml_loads(monkeypatch):
    monkeypatch.setitem(connectors.CALENDAR_BACKENDS, "ics", REAL_ICS)
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "cadence.toml")
    assert config.policies == root / "policies"
    assert config.calendar_backend == "ics"
    assert len(config.salespeople) >= 5
    assert len({s.timezone for s in config.salespeople}) >= 3


def test_schedule_and_date_settings(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
            horizon = "3 months"
            interval = "1 hour"
            forecast = "6 months"
            languages = ["en", "hi"]
            date_order = "mdy"
            """,
        )
    )
    assert config.horizon_days == 91
    assert config.interval == timedelta(hours=1)
    assert config.forecast_days == 183
    reader = config.date_reader()
    assert (reader.languages, reader.date_order) == (("en", "hi"), "MDY")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15 minutes", timedelta(minutes=15)),
        ("2 hours", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("PT30M", timedelta(minutes=30)),
    ],
)
def test_interval_accepts_minutes_hours_and_days(tmp_path, text, expected):
    assert load_config(write(tmp_path, f'interval = "{text}"')).interval == expected


def test_salespeople_are_parsed_with_defaults(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
            [[salesperson]]
            email = "Ana@Example.com"
            name = "Ana Silva"
            timezone = "Europe/Lisbon"
            working_hours = "08:30-16:30"
            working_days = "mon-thu"
            country = "pt"
            per_day = 4
            per_week = 12

            [[salesperson]]
            email = "omar@example.com"
            working_days = "sun-thu"
            calendar = "folder"

            [calendar.folder]
            folder = "calendars"
            """,
        )
    )
    assert config.salespeople == (
        Salesperson(
            email="ana@example.com",
            name="Ana Silva",
            timezone="Europe/Lisbon",
            working_hours=WorkingHours(8 * 60 + 30, 16 * 60 + 30),
            working_days=frozenset({0, 1, 2, 3}),
            country="PT",
            per_day=4,
            per_week=12,
        ),
        Salesperson(
            email="omar@example.com",
            timezone="UTC",
            working_hours=WorkingHours(9 * 60, 17 * 60),
            working_days=frozenset({6, 0, 1, 2, 3}),
            calendar="folder",
        ),
    )
    assert config.calendars == {"folder": {"folder": "calendars"}}
    assert config.salesperson("ANA@example.com") is config.salespeople[0]
    assert config.backend_of(config.salespeople[0]) == "ics"
    assert config.backend_of(config.salespeople[1]) == "folder"


def test_smtp_and_mail_sections(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
            [smtp]
            host = "mail.example.com"
            ssl = true
            password_file = "secrets/smtp"
            sender = "cadence@example.com"
            [mail.imap]
            host = "imap.example.com"
            password_env = "IMAP_PASSWORD"
            """,
        )
    )
    assert config.smtp == {
        "host": "mail.example.com",
        "port": 465,
        "starttls": False,
        "ssl": True,
        "username": "",
        "password_env": "",
        "password_file": tmp_path / "secrets" / "smtp",
        "sender": "cadence@example.com",
        "timeout": 30.0,
    }
    assert config.mail == {"imap": {"host": "imap.example.com", "password_env": "IMAP_PASSWORD"}}


# -------------------------------------------------------------------------------------------
# Problems


def test_unknown_key_is_an_error(tmp_path):
    path = write(tmp_path, 'horizn = "90 days"\n')
    assert problems_of(path) == [
        f"{path}:1: horizn: unknown key; did you mean 'horizon'? (allowed: {TOP_KEYS})"
    ]


def test_secrets_in_the_file_are_errors_wherever_they_are(tmp_path):
    path = write(
        tmp_path,
        """
        [smtp]
        sender = "cadence@example.com"
        password = "hunter2"
        [calendar.folder]
        folder = "calendars"
        client_secret = "abc"
        """,
    )
    assert problems_of(path) == [
        f"{path}:3: [smtp] password: secrets never go in cadence.toml: name an environment "
        "variable (password_env) or a file (password_file) that holds it instead",
        f"{path}:6: [calendar.folder] client_secret: secrets never go in cadence.toml: name an "
        "environment variable (client_secret_env) or a file (client_secret_file) that holds it "
        "instead",
    ]


def test_password_in_database_url_is_an_error(tmp_path):
    path = write(tmp_path, 'database = "postgresql+psycopg://cadence:hunter2@db/cadence"')
    assert problems_of(path) == [
        f"{path}:1: database: the database URL holds a password; secrets never go in "
        "cadence.toml: use PGPASSWORD or ~/.pgpass for PostgreSQL"
    ]


def test_unknown_backends_are_errors(tmp_path):
    known = "caldav, folder, ghost, google, ics, memory, outlook"
    path = write(
        tmp_path,
        """
        [calendar]
        backend = "gogle"

        [calendar.outlok]
        tenant = "x"

        [[salesperson]]
        email = "ana@example.com"
        calendar = "icss"
        """,
    )
    assert problems_of(path) == [
        f"{path}:2: [calendar] backend: unknown calendar backend 'gogle' (known: {known})",
        f"{path}:4: [calendar.outlok] unknown calendar backend 'outlok' (known: {known})",
        f"{path}:9: [[salesperson]] calendar: unknown calendar backend 'icss' (known: {known})",
    ]


def test_backend_section_is_validated_by_its_connector(tmp_path):
    path = write(tmp_path, '[calendar.folder]\ninvites = true\nfolderr = "x"\n')
    assert problems_of(path) == [
        f"{path}:1: [calendar.folder] folder: required: the folder holding the .ics files",
        f"{path}:3: [calendar.folder] folderr: unknown key; did you mean 'folder'? "
        "(allowed: folder, invites)",
    ]


def test_backend_used_by_a_salesperson_without_a_section_is_validated_too(tmp_path):
    path = write(
        tmp_path,
        """
        [calendar]
        backend = "folder"
        [[salesperson]]
        email = "ana@example.com"
        """,
    )
    assert problems_of(path) == [
        f"{path}:1: [calendar] folder: required: the folder holding the .ics files"
    ]


def test_backend_missing_from_the_installation(tmp_path):
    path = write(tmp_path, '[calendar.ghost]\nurl = "x"\n')
    assert problems_of(path) == [
        f"{path}:1: [calendar.ghost] calendar backend ghost is not available in this installation"
    ]


def test_backend_whose_dependency_is_missing_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "needy_backend.py").write_text("import cadence_surely_absent_package\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(connectors.CALENDAR_BACKENDS, "google", "needy_backend:GoogleBackend")
    path = write(tmp_path, '[calendar.google]\ntoken_folder = "tokens"\n')
    assert problems_of(path) == [
        f"{path}:1: [calendar.google] calendar backend google needs packages that are not "
        "installed (cadence_surely_absent_package): install cadence[google]"
    ]


def test_salesperson_problems(tmp_path):
    path = write(
        tmp_path,
        """
        [[salesperson]]
        email = "ana@example.com"
        timezone = "Europe/Lisbn"

        [[salesperson]]
        email = "ANA@example.com"

        [[salesperson]]
        name = "No Mail"
        country = "XX"

        [[salesperson]]
        email = "bob"
        per_day = 0
        """,
    )
    assert problems_of(path) == [
        f"{path}:3: [[salesperson]] timezone: unknown time zone 'Europe/Lisbn': use an IANA name "
        "like 'Europe/Lisbon' or 'UTC'",
        f"{path}:6: [[salesperson]] email: salesperson ana@example.com is already listed at line 2",
        f"{path}:8: [[salesperson]] email is required: the salesperson's address",
        f"{path}:10: [[salesperson]] country: unknown country code 'XX': use an ISO 3166 code "
        "like 'PT'",
        f"{path}:13: [[salesperson]] email: 'bob' is not an e-mail address",
        f"{path}:14: [[salesperson]] per_day: must be at least 1, got 0",
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """
        horizon = 90
        interval = "soon"
        languages = ["en", "xx"]
        date_order = "DDMMYY"
        [smtp]
        ssl = true
        starttls = true
        port = 70000
        """,
    )
    assert problems_of(path) == [
        f"{path}:1: horizon: expected a duration like '4 weeks', got integer 90",
        f"{path}:2: interval: cannot read interval 'soon': write e.g. '15 minutes', "
        "'1 hour' or '1 day'",
        f"{path}:3: languages: Unknown language(s): 'xx'; use codes dateparser knows, like "
        "'en', 'hi', 'ar'",
        f"{path}:4: date_order: expected one of DMY, MDY, YMD, got 'DDMMYY'",
        f"{path}:5: [smtp] sender is required: the From address",
        f"{path}:7: [smtp] starttls: use either ssl (implicit TLS) or starttls, not both",
        f"{path}:8: [smtp] port: port 70000 is above 65535",
    ]


def test_toml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, 'database = "sqlite:///x.db"\n[calendar\n')
    assert problems_of(path) == [
        f"{path}:2: TOML syntax error: Expected ']' at the end of a table declaration (column 10)"
    ]


def test_missing_file_is_a_user_error(tmp_path):
    assert problems_of(tmp_path / "cadence.toml") == [
        f"{tmp_path / 'cadence.toml'}: cannot read: No such file or directory"
    ]


# -------------------------------------------------------------------------------------------
# Customers against policies and salespeople (cadence check)


def test_check_customers_warns_about_undefined_segments_and_unlisted_owners(tmp_path):
    csv = tmp_path / "customers.csv"
    config = load_config(
        write(
            tmp_path,
            """
            customers = "customers.csv"
            [[salesperson]]
            email = "ana@example.com"
            """,
        )
    )
    policies = PolicySet(segments={"strategic": SegmentPolicy(name="strategic")})
    customers = [
        Customer(id="1", name="A", owner="ana@example.com", segment="strategic"),
        Customer(id="2", name="B", owner="ana@example.com", segment="gold"),
        Customer(id="3", name="C", owner="bob@example.com", segment="gold", country="ZZ"),
        Customer(id="4", name="D", owner="Ana@example.com", timezone="Mars/Olympus"),
    ]
    assert [str(p) for p in check_customers(customers, policies, config)] == [
        f"{csv}: segment: warning: segment 'gold' is used by 2 customers but not defined in the "
        "policies; they get the default policy",
        f"{csv}: owner: warning: bob@example.com owns 1 customer but is not a [[salesperson]] in "
        "cadence.toml; default working hours, days and time zone apply, in a calendar of its own",
        f"{csv}: country: warning: country code 'ZZ' of 1 customer is unknown to the holidays "
        "package; no public holidays apply on their side",
        f"{csv}: timezone: customer 4 (D): unknown time zone 'Mars/Olympus'",
    ]


def test_check_customers_is_quiet_when_everything_matches(tmp_path):
    config = load_config(write(tmp_path, '[[salesperson]]\nemail = "ana@example.com"'))
    customers = [Customer(id="1", name="A", owner="ana@example.com", country="PT-11")]
    assert check_customers(customers, PolicySet(), config) == []


# -------------------------------------------------------------------------------------------
# Bounds: values `check` used to accept and `run` could not use


def test_horizon_forecast_and_interval_are_bounded(tmp_path):
    path = write(
        tmp_path,
        """
        horizon = "3 years"
        forecast = "4 years"
        interval = "2 days"
        """,
    )
    assert problems_of(path) == [
        f"{path}:1: horizon: horizon '3 years' is longer than 2 years",
        f"{path}:2: forecast: forecast '4 years' is longer than 3 years",
        f"{path}:3: interval: interval '2 days' is longer than 1 day; the daemon runs at least "
        "daily",
    ]


def test_the_longest_horizon_forecast_and_interval_are_accepted(tmp_path):
    config = load_config(
        write(tmp_path, 'horizon = "2 years"\nforecast = "3 years"\ninterval = "24 hours"')
    )
    assert (config.horizon_days, config.forecast_days) == (730, 1096)
    assert config.interval == timedelta(days=1)


def test_an_interval_with_hundreds_of_digits_is_refused(tmp_path):
    path = write(tmp_path, f'interval = "{"9" * 90} seconds"')
    assert problems_of(path) == [
        f"{path}:1: interval: interval {'9' * 40!r} is longer than 1 day; the daemon runs at "
        "least daily"
    ]


def test_timezone_naming_a_tzdata_folder_is_an_error(tmp_path):
    path = write(tmp_path, '[[salesperson]]\nemail = "ana@example.com"\ntimezone = "Europe"')
    assert problems_of(path) == [
        f"{path}:3: [[salesperson]] timezone: unknown time zone 'Europe': that is a region, name "
        "a zone in it like 'Europe/Lisbon'"
    ]


def test_an_unreadable_database_url_never_shows_its_password(tmp_path):
    path = write(tmp_path, 'database = "postgresql://cadence:hunter2@db:port/cadence"')
    assert problems_of(path) == [
        f"{path}:1: database: cannot read database URL 'postgresql://cadence:***@db:port/cadence'"
        ": write e.g. 'sqlite:///cadence.db' or 'postgresql+psycopg://user@host/db'"
    ]


def test_database_port_and_sqlite_path_are_checked(tmp_path):
    path = write(
        tmp_path,
        'database = "postgresql://cadence@db:99999999999999999999/cadence"\n'
        'policies = "~no_such_user_anywhere/policies"\n'
        'customers = "a\\u0000b.csv"\n',
    )
    problems = problems_of(path)
    assert problems[0] == (
        f"{path}:1: database: the database URL's port 99999999999999999999 is not a port number"
    )
    assert problems[1].startswith(f"{path}:2: policies: cannot use path '~no_such_user_anywhere")
    assert problems[2] == f"{path}:3: customers: cannot use path 'a\\x00b.csv': embedded null byte"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("not a url", "not a url"),
    ],
)
def test_masked_url_hides_any_password(text, shown):
    assert masked_url(text) == shown


def test_windows_line_ends_and_a_byte_order_mark_are_read_and_located(tmp_path):
    path = tmp_path / "cadence.toml"
    path.write_bytes(b'\xef\xbb\xbfhorizon = "3 weeks"\r\n\r\ninterval = "soon"\r\n')
    assert problems_of(path) == [
        f"{path}:3: interval: cannot read interval 'soon': write e.g. '15 minutes', '1 hour' or "
        "'1 day'"
    ]


def test_a_lone_carriage_return_is_a_syntax_error_on_its_own_line(tmp_path):
    path = tmp_path / "cadence.toml"
    path.write_bytes(b'horizon = "3 weeks"\ninterval = "1 day"\r# old Mac line end\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2: TOML syntax error:")
