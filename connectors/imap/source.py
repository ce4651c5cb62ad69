"""The ``imap`` mail source: contacts with customers recognised in any IMAP mailbox.

Reads INBOX and the sent folder (found by its RFC 6154 ``\\Sent`` special-use flag, else by a
well-known name) or the folders named in ``[mail.imap] folders``, with the standard library's
:mod:`imaplib` over TLS by default. Only header fields are fetched
(``BODY.PEEK[HEADER.FIELDS (...)]``, which leaves messages unread; :mod:`connectors.imap.headers`).

Reads are by what the folder has not shown cadence before: per folder, the ``UIDVALIDITY`` and
the highest UID read are kept in the :class:`StateStore`, and the next read asks for the UIDs
above it, whatever the messages' dates (a Sent message uploaded late by an offline client, a
delayed relay). A changed ``UIDVALIDITY`` (the server renumbered the folder), lost state or a
changed set of customer addresses means a full re-read of that folder: the messages that
arrived (INTERNALDATE) since ``since``. The folders' new marks are kept only once every folder
was read, so a read that fails half-way returns nothing and loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import json
import logging
import re
import ssl
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from cadence.values.matching import CustomerMatcher
from cadence.values.schema import Schema
from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    MailMessage,
    MailSource,
    TransientError,
)
from connectors.common.validation import require_aware
from connectors.imap.headers import HEADER_FIELDS, fetched, read_message
from connectors.imap.names import (
    display_mailbox,
    encode_mailbox,
    find_sent,
    parse_list,
    quote_mailbox,
)
from connectors.imap.settings import SCHEMA
from connectors.localfiles import secret_file_problem

log = logging.getLogger("connectors.imap")

FETCH_BATCH = 500  # UIDs per FETCH command, to keep command lines short


class ImapSource(MailSource):
    """Contacts from an IMAP mailbox per salesperson; see the module docstring."""

    name: ClassVar[str] = "imap"
    config_schema: ClassVar[Schema] = SCHEMA
    config_keys: ClassVar[Mapping[str, str]] = SCHEMA.help_texts()

    @classmethod
    def check_local(
        cls, section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """Problems with the local files ``[mail.imap]`` names, for ``cadence check``:

        * ``password_file`` without a placeholder: missing, unreadable, not a regular file or
          readable by group or others (:func:`connectors.localfiles.secret_file_problem`);
        * ``password_file`` with ``{email}``/``{user}``: one file per salesperson, and this
          check is not told who they are: the folder before the first placeholder must exist;
          each file is checked (and refused the same way) when it is used, at login;
        * ``verify_tls`` naming a CA bundle that is not a file.

        ``password_env`` is not checked: the variable is often set only for the daemon.
        """
        problems: list[tuple[str, str]] = []
        template = section.get("password_file")
        if isinstance(template, str) and template:
            if "{" not in template:
                problem = secret_file_problem(_secret_path(template, base_dir))
                if problem:
                    problems.append(("password_file", problem))
            else:
                fixed = template.split("{", 1)[0].rpartition("/")[0] or "."
                folder = _secret_path(fixed, base_dir)
                if not folder.is_dir():
                    problems.append(
                        ("password_file", f"{folder} (the folder of {template!r}) does not exist")
                    )
        verify = section.get("verify_tls")
        if isinstance(verify, str) and verify:
            bundle = _secret_path(verify, base_dir)
            if not bundle.is_file():
                problems.append(("verify_tls", f"CA bundle {bundle} does not exist"))
        return problems

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self._wire: dict[str, str] = {}  # Unicode folder name -> as the server spells it
        settings = SCHEMA.resolve(self.config)  # the defaults of [mail.imap]
        self._security = settings["security"]
        self._port = int(settings["port"])
        self._timeout = float(settings["timeout"])

    # -- connection --------------------------------------------------------------------------

    def _password(self, owner: str) -> str:
        if "password_env" in self.config:
            name = self.config["password_env"]
            password = self.context.env.get(name)
            if password is None:
                raise AuthError(f"imap: environment variable {name} (password_env) is not set")
            return password
        path = _secret_path(_fill(self.config["password_file"], owner), self.context.base_dir)
        # Refused here too, not only by `cadence check`: a secret others can read is not used.
        problem = secret_file_problem(path)
        if problem is not None:
            raise AuthError(f"imap: password_file: {problem}")
        try:
            return path.read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise AuthError(f"imap: cannot read password_file {path}: {reason}") from None

    def _tls_context(self) -> ssl.SSLContext:
        verify = self.config.get("verify_tls", SCHEMA.default("verify_tls"))
        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if isinstance(verify, str):
            path = Path(verify).expanduser()
            cafile = path if path.is_absolute() else self.context.base_dir / path
            try:
                return ssl.create_default_context(cafile=str(cafile))
            except (OSError, ssl.SSLError) as exc:
                raise BackendError(
                    f"imap: cannot load verify_tls CA bundle {cafile}: {exc}"
                ) from exc
        return ssl.create_default_context()

    def _connect(self, owner: str) -> imaplib.IMAP4:
        host = self.config["host"]
        where = f"imap {host}:{self._port}"
        conn: imaplib.IMAP4 | None = None
        try:
            if self._security == "ssl":
                conn = imaplib.IMAP4_SSL(
                    host, self._port, ssl_context=self._tls_context(), timeout=self._timeout
                )
            else:
                conn = imaplib.IMAP4(host, self._port, timeout=self._timeout)
                if self._security == "starttls":
                    conn.starttls(self._tls_context())
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
        username = _fill(self.config["username"], owner)
        try:
            conn.login(username, self._password(owner))
        except imaplib.IMAP4.abort as exc:
            raise TransientError(f"{where}: connection lost at login: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            _logout(conn)
            raise AuthError(f"{where}: login as {username} refused: {exc}") from exc
        except AuthError:
            _logout(conn)
            raise
        return conn

    # -- reading -----------------------------------------------------------------------------

    def folders(self, conn: imaplib.IMAP4) -> list[tuple[str, bool]]:
        """``(folder, is_sent)`` to read, Unicode names: the configured folders, or INBOX and
        the sent one.
        """
        listed = parse_list(_ok(conn.list(), "LIST"))
        self._wire = {f.name: f.wire for f in listed}
        configured_sent = self.config.get("sent_folder")
        sent = display_mailbox(configured_sent) if configured_sent else find_sent(listed)
        configured = self.config.get("folders")
        names = [display_mailbox(n) for n in configured] if configured else ["INBOX"]
        if not configured and sent:
            names.append(sent)
        return [(name, name == sent) for name in names]

    def _wire_name(self, folder: str) -> str:
        """``folder`` as the server spells it: as LIST gave it, else encoded."""
        return self._wire.get(folder) or encode_mailbox(folder)

    def messages(
        self, owner: str, addresses: Iterable[str], domains: Iterable[str], since: datetime
    ) -> list[MailMessage]:
        """Messages with customer addresses/domains this source has not returned before (see
        the module docs); ``since`` bounds full reads only."""
        require_aware(since, "imap: since")
        matcher = CustomerMatcher.for_lists(addresses, domains)
        # A new customer address needs the older mail re-read: the state remembers for which
        # addresses it was read.
        fingerprint = hashlib.sha256(json.dumps(matcher.fingerprint()).encode()).hexdigest()[:16]
        conn = self._connect(owner)
        try:
            found: dict[tuple[str, bool], MailMessage] = {}
            marks: list[tuple[str, str]] = []
            for folder, is_sent in self.folders(conn):
                messages, mark = self._read_folder(
                    conn, owner, folder, is_sent, matcher, since, fingerprint
                )
                marks.append(mark)
                for message in messages:
                    found.setdefault((message.message_id, message.outgoing), message)
        except imaplib.IMAP4.abort as exc:
            raise TransientError(f"imap: connection lost: {exc}") from exc
        except (OSError, EOFError) as exc:
            raise TransientError(f"imap: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise BackendError(f"imap: {exc}") from exc
        finally:
            _logout(conn)
        for key, value in marks:
            self.context.state.set(key, value)
        return sorted(found.values(), key=lambda m: (m.at, m.message_id))

    def _read_folder(
        self,
        conn: imaplib.IMAP4,
        owner: str,
        folder: str,
        is_sent: bool,
        matcher: CustomerMatcher,
        since: datetime,
        fingerprint: str,
    ) -> tuple[list[MailMessage], tuple[str, str]]:
        """The customers' messages in ``folder`` not read before, and the folder's new mark
        ``(state key, value)`` for the caller to keep once every folder was read."""
        wire = self._wire_name(folder)
        status, data = conn.select(quote_mailbox(wire), readonly=True)
        if status != "OK":
            raise BackendError(f"imap: cannot open folder {folder!r}: {_text(data)}")
        validity = _uidvalidity(conn, wire)
        # Keyed by the name on the wire: the same key as before names were decoded.
        key = f"imap:{owner.lower()}:{wire}"
        saved = json.loads(self.context.state.get(key) or "{}")
        incremental = (
            saved.get("uidvalidity") == validity
            and saved.get("fingerprint") == fingerprint
            and datetime.fromisoformat(saved.get("since", since.isoformat())) <= since
        )
        last_uid = int(saved.get("last_uid", 0)) if incremental else 0
        read_since = datetime.fromisoformat(saved["since"]) if incremental else since
        if last_uid:  # whatever the messages' dates: what arrived since the last read
            criteria = f"UID {last_uid + 1}:*"
        else:  # IMAP dates have no time and the server's zone: SINCE the day before
            criteria = f"SINCE {(since - timedelta(days=1)).astimezone(UTC).strftime('%d-%b-%Y')}"
        uids = [int(u) for u in _ok(conn.uid("SEARCH", criteria), "SEARCH")[0].split()]
        uids = sorted(u for u in uids if u > last_uid)  # "n:*" always matches the last message
        out = []
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(str(u) for u in uids[start : start + FETCH_BATCH])
            answer = _ok(
                conn.uid(
                    "FETCH", batch, f"(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
                ),
                "FETCH",
            )
            for uid, internal, header in fetched(answer):
                try:
                    message = read_message(owner, wire, validity, uid, internal, header, is_sent)
                except BackendError as exc:
                    # Skipped and reported; the read goes on (and past it: the mark moves on,
                    # so the same message is not reported again on every read).
                    log.warning("%s (mailbox of %s); skipped", exc, owner)
                    continue
                if message is None or not matcher.any_match(message.addresses):
                    continue
                if not last_uid and (internal or message.at) < since:
                    continue  # a full read: only what arrived since ``since`` (exactly)
                out.append(message)
        mark = {
            "uidvalidity": validity,
            "last_uid": max([last_uid, *uids]),
            "fingerprint": fingerprint,
            "since": read_since.isoformat(),
        }
        return out, (key, json.dumps(mark))

    def close(self) -> None:
        """Nothing stays open between calls (one connection per read). Idempotent."""


# --------------------------------------------------------------------------------------------
# imaplib plumbing


def _secret_path(value: str, base_dir: Path) -> Path:
    """A configured path: ``~`` expanded, a relative one taken from cadence.toml's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _fill(template: str, owner: str) -> str:
    return template.format(email=owner, user=owner.partition("@")[0])


def _logout(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):  # already gone
        conn.logout()


def _ok(reply: tuple[str, list[Any]], command: str) -> list[Any]:
    status, data = reply
    if status != "OK":
        raise BackendError(f"imap: {command} failed: {_text(data)}")
    return data


def _text(data: Any) -> str:
    if isinstance(data, list):
        return " ".join(_text(d) for d in data if d is not None)
    return data.decode(errors="replace") if isinstance(data, bytes) else str(data)


_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def _uidvalidity(conn: imaplib.IMAP4, folder: str) -> int:
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
