"""The ``imap`` mail source: contacts with customers recognised in any IMAP mailbox.

Reads INBOX and the sent folder (found by its RFC 6154 ``\\Sent`` special-use flag, else by a
well-known name) or the folders named in ``[mail.imap] folders``, with the standard library's
:mod:`imaplib` over TLS by default. Only header fields are fetched
(``BODY.PEEK[HEADER.FIELDS (...)]``, which leaves messages unread) and parsed with :mod:`email`.

Reads are incremental: per folder, the ``UIDVALIDITY`` and the highest UID seen are kept in the
:class:`StateStore`. A changed ``UIDVALIDITY`` (the server renumbered the folder), lost state or a
changed set of customer addresses means a full re-read of that folder back to ``since``.

Folder names are Unicode everywhere cadence shows or takes them (``sent_folder = "Éléments
envoyés"``, logs, errors); on the wire they are in IMAP's modified UTF-7 (RFC 3501 5.1.3,
:mod:`imapclient.imap_utf7`): encoded for SELECT and STATUS, decoded from LIST. A configured
name that is already valid modified UTF-7 with a shift sequence (``&AMk-l&AOk-ments``, how it
had to be written before) is taken as it is, so such configurations keep working.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.header
import email.policy
import email.utils
import hashlib
import imaplib
import json
import logging
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, ClassVar

from imapclient import imap_utf7

from connectors.base import (
    AuthError,
    BackendContext,
    BackendError,
    MailMessage,
    MailSource,
    TransientError,
)
from connectors.localfiles import secret_file_problem

log = logging.getLogger(__name__)

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
DEFAULT_TIMEOUT = 30.0
HEADER_FIELDS = "FROM TO CC DATE MESSAGE-ID SUBJECT"
FETCH_BATCH = 500  # UIDs per FETCH command, to keep command lines short
# Sent folders of servers that do not advertise SPECIAL-USE, in order of preference.
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "INBOX/Sent")

_LIST_LINE = re.compile(
    rb'^\((?P<flags>[^)]*)\)\s+(?P<delim>"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.*)$'
)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


# --------------------------------------------------------------------------------------------
# Pure helpers


def decode_mailbox(raw: bytes | str) -> str:
    """A mailbox name as a server sends it (modified UTF-7, RFC 3501 5.1.3) in Unicode.

    A name that is not valid modified UTF-7 is kept as it is (8-bit bytes read as UTF-8, as
    servers with ``UTF8=ACCEPT`` send them), never refused: it is shown, and sent back, as is.
    """
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if not data.isascii():
        return data.decode("utf-8", "replace")
    text = data.decode("ascii")
    try:
        decoded = imap_utf7.decode(data)
    except (UnicodeError, ValueError):  # a bad base64 run: not modified UTF-7 after all
        return text
    # Python's UTF-7 decoder forgives some mistakes; only a name that encodes back to exactly
    # what the server sent is taken as decoded, so that it can be sent back exactly.
    return decoded if imap_utf7.encode(decoded) == data else text


def encode_mailbox(name: str) -> str:
    """``name`` as IMAP sends it: modified UTF-7 (ASCII only). A name that already is valid
    modified UTF-7 with a shift sequence is returned as it is (see the module docs).
    """
    if name.isascii() and "&" in name and _is_modified_utf7(name):
        return name
    return imap_utf7.encode(name).decode("ascii")


def _is_modified_utf7(name: str) -> bool:
    return decode_mailbox(name) != name


def display_mailbox(name: str) -> str:
    """A configured or listed name as people read it (hand-encoded names decoded)."""
    return decode_mailbox(encode_mailbox(name))


@dataclass(frozen=True, slots=True)
class Folder:
    """A mailbox as LIST names it: the Unicode name, its attribute flags, and the name as the
    server spells it (modified UTF-7; by default, ``name`` encoded).
    """

    name: str
    flags: frozenset[str]
    wire: str = ""

    def __post_init__(self) -> None:
        if not self.wire:
            object.__setattr__(self, "wire", encode_mailbox(self.name))


def parse_list(lines: Sequence[bytes | tuple[bytes, bytes] | None]) -> list[Folder]:
    """Folders from the lines of an IMAP ``LIST`` response (quoted, atom or literal names)."""
    folders = []
    for line in lines:
        if line is None:
            continue
        literal = None
        if isinstance(line, tuple):  # imaplib gives a literal name as (b'(...) "/" {9}', b'Name')
            line, literal = line
        match = _LIST_LINE.match(line)
        if not match:
            continue
        flags = frozenset(f.lower() for f in match.group("flags").decode(errors="replace").split())
        if literal is not None:
            wire = literal.decode("utf-8", "replace")
        else:
            raw = match.group("name").decode("utf-8", "replace").strip()
            wire = _unquote(raw) if raw.startswith('"') else raw
        folders.append(Folder(decode_mailbox(wire), flags, wire))
    return folders


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def quote_mailbox(name: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def find_sent(folders: Sequence[Folder]) -> str | None:
    """The sent folder: the one flagged ``\\Sent`` (RFC 6154), else a well-known name."""
    for folder in folders:
        if "\\sent" in folder.flags:
            return folder.name
    by_lower = {f.name.lower(): f.name for f in folders if "\\noselect" not in f.flags}
    for name in SENT_NAMES:
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


def addresses_of(values: Iterable[str | None]) -> tuple[str, ...]:
    """Lower-case e-mail addresses in address header values, in order, without repeats."""
    found: dict[str, None] = {}
    for _, address in email.utils.getaddresses([v for v in values if v]):
        address = address.strip().lower()
        if "@" in address:
            found.setdefault(address, None)
    return tuple(found)


def matches_customers(
    candidates: Iterable[str], addresses: frozenset[str], domains: frozenset[str]
) -> bool:
    """Whether any address is a customer address or in a customer domain (or its subdomain)."""
    for address in candidates:
        if address in addresses:
            return True
        domain = address.rpartition("@")[2]
        parts = domain.split(".")
        if any(".".join(parts[i:]) in domains for i in range(len(parts) - 1)):
            return True
    return False


def message_date(header: str | None, internal: datetime | None) -> datetime | None:
    """The message's aware time: its Date header, else the server's INTERNALDATE.

    A Date without a usable zone (``-0000``, or none) is read as UTC (RFC 5322 3.3).
    """
    if header:
        try:
            parsed = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return internal


# --------------------------------------------------------------------------------------------
# The source


class ImapSource(MailSource):
    """Contacts from an IMAP mailbox per salesperson; see the module docstring."""

    name: ClassVar[str] = "imap"
    config_keys: ClassVar[Mapping[str, str]] = {
        "host": "IMAP server host name",
        "port": "IMAP port (default 993 for ssl, 143 for starttls and none)",
        "security": '"ssl" (default), "starttls", or "none" (local tests only)',
        "username": 'login name; template allowed, e.g. "{email}" or "{user}"',
        "password_env": "environment variable holding the password",
        "password_file": "file holding the password (relative to cadence.toml; template allowed)",
        "folders": "folders to read (default: INBOX and the folder flagged \\Sent)",
        "sent_folder": "the sent folder, when the server flags none as \\Sent",
        "verify_tls": "check the server's certificate: true (default), false, or a CA bundle path",
        "timeout": "seconds to wait for the server (default 30)",
    }

    @classmethod
    def validate_config(cls, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Unknown keys and bad values, every one of them."""
        problems = super().validate_config(section)
        host = section.get("host")
        if not isinstance(host, str) or not host.strip():
            problems.append(("host", "must name the IMAP server"))
        security = section.get("security", "ssl")
        if security not in SECURITY:
            problems.append(("security", f"must be one of ssl, starttls, none; got {security!r}"))
        port = section.get("port", 993)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            problems.append(("port", f"must be a port number, got {port!r}"))
        for key in ("username", "password_env", "password_file", "sent_folder"):
            if key in section and (not isinstance(section[key], str) or not section[key]):
                problems.append((key, "must be a non-empty string"))
        for key in ("username", "password_file"):
            value = section.get(key)
            if isinstance(value, str) and value:
                try:
                    value.format(email="a@b", user="a")
                except (KeyError, IndexError, ValueError) as exc:
                    problems.append(
                        (key, f"bad template {value!r} (use {{email}}, {{user}}): {exc}")
                    )
        if "username" not in section:
            problems.append(("username", 'required (template allowed, e.g. "{email}")'))
        if "password_env" not in section and "password_file" not in section:
            problems.append(("password_env", "set password_env or password_file"))
        if "password_env" in section and "password_file" in section:
            problems.append(("password_file", "set password_env or password_file, not both"))
        folders = section.get("folders", ["INBOX"])
        if (
            not isinstance(folders, list)
            or not folders
            or not all(isinstance(f, str) and f for f in folders)
        ):
            problems.append(("folders", 'must be a list of folder names, e.g. ["INBOX", "Sent"]'))
        timeout = section.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(("timeout", f"must be a positive number of seconds, got {timeout!r}"))
        if not isinstance(section.get("verify_tls", True), bool | str):
            problems.append(("verify_tls", "must be true, false or a CA bundle path"))
        return problems

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
        self._security = self.config.get("security", "ssl")
        self._port = int(self.config.get("port", DEFAULT_PORTS[self._security]))
        self._timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))

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
        verify = self.config.get("verify_tls", True)
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
        """Messages to or from customer addresses/domains since ``since`` not returned before."""
        if since.tzinfo is None or since.utcoffset() is None:
            raise BackendError(f"imap: since must be timezone-aware, got naive {since!r}")
        wanted = frozenset(a.strip().lower() for a in addresses)
        wanted_domains = frozenset(d.strip().lower().lstrip("@") for d in domains)
        # A new customer address needs the older mail re-read: the state remembers for which
        # addresses it was read.
        fingerprint = hashlib.sha256(
            json.dumps([sorted(wanted), sorted(wanted_domains)]).encode()
        ).hexdigest()[:16]
        conn = self._connect(owner)
        try:
            found: dict[tuple[str, bool], MailMessage] = {}
            for folder, is_sent in self.folders(conn):
                for message in self._read_folder(
                    conn, owner, folder, is_sent, wanted, wanted_domains, since, fingerprint
                ):
                    found.setdefault((message.message_id, message.outgoing), message)
            return sorted(found.values(), key=lambda m: (m.at, m.message_id))
        except imaplib.IMAP4.abort as exc:
            raise TransientError(f"imap: connection lost: {exc}") from exc
        except (OSError, EOFError) as exc:
            raise TransientError(f"imap: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise BackendError(f"imap: {exc}") from exc
        finally:
            _logout(conn)

    def _read_folder(
        self,
        conn: imaplib.IMAP4,
        owner: str,
        folder: str,
        is_sent: bool,
        addresses: frozenset[str],
        domains: frozenset[str],
        since: datetime,
        fingerprint: str,
    ) -> Iterator[MailMessage]:
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
        # IMAP dates have no time and the server's zone: SINCE the day before, then exact.
        criteria = f"SINCE {(since - timedelta(days=1)).astimezone(UTC).strftime('%d-%b-%Y')}"
        if last_uid:
            criteria = f"UID {last_uid + 1}:* {criteria}"
        uids = [int(u) for u in _ok(conn.uid("SEARCH", criteria), "SEARCH")[0].split()]
        uids = sorted(u for u in uids if u > last_uid)  # "n:*" always matches the last message
        newest = max([last_uid, *uids])
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(str(u) for u in uids[start : start + FETCH_BATCH])
            fetched = _ok(
                conn.uid(
                    "FETCH", batch, f"(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
                ),
                "FETCH",
            )
            for uid, internal, header in _fetched(fetched):
                try:
                    message = _message(owner, wire, validity, uid, internal, header, is_sent)
                except BackendError as exc:
                    # Skipped and reported; the read goes on (and past it: the state moves on,
                    # so the same message is not reported again on every read).
                    log.warning("%s (mailbox of %s); skipped", exc, owner)
                    continue
                if message is None or message.at < since:
                    continue
                if matches_customers(message.addresses, addresses, domains):
                    yield message
        self.context.state.set(
            key,
            json.dumps(
                {
                    "uidvalidity": validity,
                    "last_uid": newest,
                    "fingerprint": fingerprint,
                    "since": read_since.isoformat(),
                }
            ),
        )

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


def _fetched(data: Sequence[Any]) -> Iterator[tuple[int, datetime | None, bytes]]:
    """``(uid, internal date, header bytes)`` from a UID FETCH answer."""
    for item in data:
        if not isinstance(item, tuple):
            continue  # the closing b')' of each message
        head, body = item
        uid = _FETCH_UID.search(head)
        if uid is None:
            continue
        internal = None
        found = _INTERNALDATE.search(head)
        if found:
            parsed = imaplib.Internaldate2tuple(b'INTERNALDATE "' + found.group(1) + b'"')
            if parsed is not None:
                internal = datetime(*parsed[:6], tzinfo=UTC)  # Internaldate2tuple gives UTC
        yield int(uid.group(1)), internal, body


def _message(
    owner: str,
    folder: str,
    validity: int,
    uid: int,
    internal: datetime | None,
    header: bytes,
    is_sent: bool,
) -> MailMessage | None:
    """The message with these header fields, None when it has no usable date;
    :class:`BackendError` naming it when its headers cannot be read at all.
    """
    try:
        return _read_message(owner, folder, validity, uid, internal, header, is_sent)
    except Exception as exc:  # whatever the mail library trips on: this message only
        raise BackendError(
            f"imap: message UID {uid} in {decode_mailbox(folder)!r} cannot be read: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _read_message(
    owner: str,
    folder: str,
    validity: int,
    uid: int,
    internal: datetime | None,
    header: bytes,
    is_sent: bool,
) -> MailMessage | None:
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(header)
    at = message_date(_field(headers, "Date"), internal)
    if at is None:
        return None
    senders = addresses_of(_fields(headers, "From"))
    outgoing = is_sent or owner.lower() in senders
    if outgoing:
        counterparts = addresses_of([*_fields(headers, "To"), *_fields(headers, "Cc")])
    else:
        counterparts = senders
    counterparts = tuple(a for a in counterparts if a != owner.lower())
    # Control characters have no place in a Message-ID; NUL cannot be stored in PostgreSQL.
    message_id = re.sub(r"[\x00-\x1f\x7f]", "", _field(headers, "Message-ID") or "").strip()
    return MailMessage(
        message_id=message_id or f"imap:{folder}:{validity}:{uid}",
        at=at.astimezone(UTC),
        outgoing=outgoing,
        addresses=counterparts,
        subject=_subject(_field(headers, "Subject") or ""),
    )


def _text_of(value: Any) -> str:
    """A header value as text. With 8-bit bytes in it, compat32 hands back a ``Header``
    holding them as surrogates: read those as UTF-8, what such mail nearly always is.
    """
    text = str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _field(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else _text_of(value)


def _fields(headers: Any, name: str) -> list[str]:
    return [_text_of(v) for v in headers.get_all(name, [])]


def _subject(raw: str) -> str:
    """The Subject with its RFC 2047 encoded words decoded; as it is when they are broken
    (bad base64, an unknown charset, bytes that are not in the charset).
    """
    try:
        return _text_of(email.header.make_header(email.header.decode_header(raw)))
    except (email.errors.HeaderParseError, UnicodeError, LookupError, ValueError):
        return raw


__all__ = [
    "ImapSource",
    "addresses_of",
    "decode_mailbox",
    "display_mailbox",
    "encode_mailbox",
    "find_sent",
    "matches_customers",
    "parse_list",
]
