"""The imaplib plumbing of the ``imap`` source: a logged-in connection, and IMAP's answers.

:class:`Login` opens one connection per read (TLS, STARTTLS or, for local tests, plain) and logs
in as the salesperson with the password from ``password_env`` or a private ``password_file``;
the functions below read :mod:`imaplib`'s replies.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Mapping
from typing import Any

from connectors.base import AuthError, BackendContext, BackendError, TransientError
from connectors.imap.names import quote_mailbox
from connectors.imap.settings import SCHEMA
from connectors.localfiles import configured_password, configured_path


class Login:
    """How to reach and log in to the server of ``[mail.imap]`` for any salesperson."""

    def __init__(
        self,
        config: Mapping[str, Any],
        context: BackendContext,
        *,
        security: str,
        port: int,
        timeout: float,
    ) -> None:
        self.config = config
        self.context = context
        self.security = security
        self.port = port
        self.timeout = timeout

    def password(self, owner: str) -> str:
        """``owner``'s password; AuthError when it cannot be had, or others can read its file."""
        password = configured_password(
            self.config,
            self.context.env,
            lambda template: configured_path(fill(template, owner), self.context.base_dir),
            "imap",
        )
        if password is None:  # validate_config requires one of them
            raise AuthError("imap: set password_env or password_file")
        return password

    def tls_context(self) -> ssl.SSLContext:
        """The TLS settings of ``verify_tls``: the system's CAs, a CA bundle, or no checks."""
        verify = self.config.get("verify_tls", SCHEMA.default("verify_tls"))
        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if isinstance(verify, str):
            cafile = configured_path(verify, self.context.base_dir)
            try:
                return ssl.create_default_context(cafile=str(cafile))
            except (OSError, ssl.SSLError) as exc:
                raise BackendError(
                    f"imap: cannot load verify_tls CA bundle {cafile}: {exc}"
                ) from exc
        return ssl.create_default_context()

    def open(self, owner: str) -> imaplib.IMAP4:
        """A connection logged in as ``owner``: TransientError when the server cannot be
        reached, AuthError when the login is refused, BackendError on a TLS failure."""
        host = self.config["host"]
        where = f"imap {host}:{self.port}"
        conn: imaplib.IMAP4 | None = None
        try:
            if self.security == "ssl":
                conn = imaplib.IMAP4_SSL(
                    host, self.port, ssl_context=self.tls_context(), timeout=self.timeout
                )
            else:
                conn = imaplib.IMAP4(host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    conn.starttls(self.tls_context())
        except (OSError, imaplib.IMAP4.error, BackendError) as exc:
            if conn is not None:  # a plain connection whose STARTTLS failed
                with contextlib.suppress(OSError):
                    conn.shutdown()
            if isinstance(exc, ssl.SSLError):  # a certificate problem: retrying will not help
                raise BackendError(f"{where}: TLS failed: {exc}") from exc
            if isinstance(exc, OSError | imaplib.IMAP4.abort):
                raise TransientError(f"{where}: cannot connect: {exc}") from exc
            if isinstance(exc, BackendError):
                raise
            raise BackendError(f"{where}: {exc}") from exc
        username = fill(self.config["username"], owner)
        try:
            conn.login(username, self.password(owner))
        except imaplib.IMAP4.abort as exc:
            raise TransientError(f"{where}: connection lost at login: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            logout(conn)
            raise AuthError(f"{where}: login as {username} refused: {exc}") from exc
        except AuthError:
            logout(conn)
            raise
        return conn


def fill(template: str, owner: str) -> str:
    """A ``{email}``/``{user}`` template filled in for ``owner``."""
    return template.format(email=owner, user=owner.partition("@")[0])


def logout(conn: imaplib.IMAP4) -> None:
    """Log out, whatever state the connection is in."""
    with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):  # already gone
        conn.logout()


def checked(reply: tuple[str, list[Any]], command: str) -> list[Any]:
    """The data of an ``OK`` reply to ``command``; BackendError for any other."""
    status, data = reply
    if status != "OK":
        raise BackendError(f"imap: {command} failed: {reply_text(data)}")
    return data


def reply_text(data: Any) -> str:
    """A reply's data as text, for messages."""
    if isinstance(data, list):
        return " ".join(reply_text(d) for d in data if d is not None)
    return data.decode(errors="replace") if isinstance(data, bytes) else str(data)


_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def uidvalidity(conn: imaplib.IMAP4, folder: str) -> int:
    """The ``UIDVALIDITY`` of the selected ``folder``: from the SELECT answer, else asked."""
    _, values = conn.response("UIDVALIDITY")
    for value in values or ():
        if value:
            return int(value)
    # Not in the SELECT answer (non-conforming server): ask for it.
    status, data = conn.status(quote_mailbox(folder), "(UIDVALIDITY)")
    match = _UIDVALIDITY.search(b" ".join(d for d in data if isinstance(d, bytes)))
    if status != "OK" or not match:
        raise BackendError("imap: the server gave no UIDVALIDITY")
    return int(match.group(1))
