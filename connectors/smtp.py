"""``[smtp]``: its one schema, the settings read through it, and the sender.

Sending goes through :mod:`smtplib`. Failures are mapped onto the backend errors: connection
trouble and 4xx replies are :class:`TransientError`, a refused login is :class:`AuthError`,
anything else :class:`BackendError`. The password is read at send time from the environment
variable named by ``password_env`` or from ``password_file``; it never appears in a message, an
exception or a log line.

:func:`smtp_schema` is the single list of the keys, their defaults and checks: cadence.toml's
loader checks ``[smtp]`` with it (locating each problem), and :meth:`SmtpSettings.from_mapping`
reads a section (a resolved one from the loader, or one written by hand) with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadence.values.errors import Problem, UserError, ValueParseError
from cadence.values.schema import (
    Computed,
    Field,
    Schema,
    as_bool,
    as_email,
    as_path,
    as_port,
    as_positive_number,
    as_str,
)
from connectors.base import AuthError, BackendError, TransientError

if TYPE_CHECKING:  # smtplib, ssl and the secret files' checks are imported to send or check
    import smtplib
    from email.message import EmailMessage


def _one_tls(section: Mapping[str, Any], values: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    if values.get("ssl") and values.get("starttls"):
        yield "starttls", "use either ssl (implicit TLS) or starttls, not both"


def _login_has_password(
    section: Mapping[str, Any], values: Mapping[str, Any]
) -> Iterable[tuple[str, str]]:
    if values.get("username") and not (values.get("password_env") or values.get("password_file")):
        yield "username", "a login needs password_env or password_file"


def smtp_schema(base_dir: Path) -> Schema:
    """The keys of ``[smtp]``; ``password_file`` resolves against ``base_dir`` (the folder
    holding cadence.toml)."""
    return Schema(
        {
            "host": Field(as_str, "SMTP server name", default="localhost"),
            "port": Field(
                as_port,
                "SMTP port",
                default=Computed("465 with ssl = true, else 25", _default_port),
            ),
            "ssl": Field(as_bool, "connect with TLS from the start (SMTPS)", default=False),
            "starttls": Field(as_bool, "upgrade the connection with STARTTLS", default=False),
            "username": Field(as_str, "login name; empty means no login", default=""),
            "password_env": Field(
                as_str, "name of the environment variable holding the password", default=""
            ),
            "password_file": Field(
                as_path(base_dir),
                "file holding the password (relative to cadence.toml's folder)",
                default=None,
            ),
            "sender": Field(
                as_email,
                "From address of the invitations (the envelope sender the relay accepts)",
                required="sender is required: the From address",
                required_at_table=True,
            ),
            "timeout": Field(as_positive_number, "seconds to wait for the server", default=30),
        },
        checks=(_one_tls, _login_has_password),
        about="the mail server that sends iMIP invitations (`invites = true`)",
    )


def _default_port(values: Mapping[str, Any]) -> int:
    return 465 if values.get("ssl") else 25


def validate_smtp_config(
    section: Mapping[str, Any], base_dir: Path = Path(".")
) -> list[tuple[str, str]]:
    """Problems in an ``[smtp]`` section as ``(key, message)`` pairs; none when it is fine."""
    return smtp_schema(base_dir).problems(section)


def check_smtp_local(
    section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Problems with the local files ``[smtp]`` names, as ``(key, message)`` pairs, for
    ``cadence check``: a ``password_file`` that is missing, unreadable, not a regular file or
    readable by group or others (:func:`connectors.localfiles.secret_file_problem`).

    ``env`` is accepted for symmetry with ``check_local``; ``password_env`` is not checked, as
    the variable is often set only in the daemon's environment (systemd ``EnvironmentFile``).
    Only the file's path and mode are named, never its contents.
    """
    value = section.get("password_file")
    if value is None or value == "":
        return []
    try:
        path = smtp_schema(base_dir).fields["password_file"].convert(value)
    except ValueParseError:
        return []  # the wrong type: validate_smtp_config reports that
    from connectors.localfiles import secret_file_problem

    problem = secret_file_problem(path)
    return [("password_file", problem)] if problem else []


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The ``[smtp]`` section, checked. Holds where the password is, never the password."""

    sender: str
    host: str
    port: int
    starttls: bool
    ssl: bool
    username: str
    password_env: str
    password_file: Path | None
    timeout: float

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any], base_dir: Path) -> SmtpSettings:
        """Read ``[smtp]`` (defaults from :func:`smtp_schema`); :class:`UserError` listing every
        problem when it is not valid."""
        schema = smtp_schema(base_dir)
        checked = schema.check(section)
        if checked.problems:
            raise UserError(
                "the [smtp] section is not valid",
                [Problem(table="smtp", key=key, message=msg) for key, msg in checked.problems],
            )
        return cls(**schema.resolve(checked.values))

    def password(self, env: Mapping[str, str]) -> str | None:
        """The login password (None without a login); :class:`AuthError` when it is missing."""
        if not self.username:
            return None
        where: dict[str, Any] = {}
        if self.password_env:
            where["password_env"] = self.password_env
        elif self.password_file is not None:
            where["password_file"] = self.password_file
        # The reader every connector uses: a secret file others can read is refused at send
        # time too, not only by `cadence check` (it may have been re-created loosely since).
        from connectors.localfiles import configured_password

        found = configured_password(where, env, Path, "SMTP password")
        if found is None:
            raise AuthError("SMTP login configured without password_env or password_file")
        if not found:
            raise AuthError("SMTP password: it is empty")
        return found


class SmtpSender:
    """Sends messages through one SMTP server, one connection per :meth:`send`."""

    def __init__(self, settings: SmtpSettings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> None:
        """Deliver ``message`` to ``recipients`` (the envelope; headers are the message's).

        Raises :class:`TransientError` (server unreachable, timed out, 4xx reply),
        :class:`AuthError` (login refused, password missing) or :class:`BackendError`.
        """
        import smtplib
        import ssl

        s = self.settings
        where = f"SMTP {s.host}:{s.port}"
        password = s.password(self.env)
        try:
            client: smtplib.SMTP
            if s.ssl:
                context = ssl.create_default_context()
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if password is not None:
                    client.login(s.username, password)
                client.send_message(message, from_addr=s.sender, to_addrs=list(recipients))
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthError(f"{where}: login as {s.username} refused ({_reply(exc)})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            refused = ", ".join(sorted(exc.recipients))
            error = TransientError if all(400 <= c < 500 for c in codes) else BackendError
            raise error(f"{where}: recipients refused: {refused}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientError(f"{where}: server busy ({_reply(exc)})") from None
            if exc.smtp_code in (530, 534, 535):
                raise AuthError(f"{where}: authentication required ({_reply(exc)})") from None
            raise BackendError(f"{where}: refused ({_reply(exc)})") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise BackendError(f"{where}: {exc}") from None
        except ssl.SSLError as exc:
            # A certificate or protocol problem will not go away by retrying.
            raise BackendError(f"{where}: TLS failed: {exc.reason or exc}") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientError(f"{where}: connection lost: {_describe(exc)}") from None
        except smtplib.SMTPException as exc:  # before OSError: SMTPException subclasses it
            raise BackendError(f"{where}: {exc}") from None
        except OSError as exc:  # refused, unreachable, timed out
            raise TransientError(f"{where}: cannot deliver: {_describe(exc)}") from None


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}".strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
