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

import hashlib
import imaplib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from cadence.values.matching import CustomerMatcher
from cadence.values.schema import Schema
from connectors.base import (
    BackendContext,
    BackendError,
    MailMessage,
    MailSource,
    TransientError,
)
from connectors.common.validation import require_aware
from connectors.imap.connection import (
    Login,
    checked,
    logout,
    reply_text,
    uidvalidity,
)
from connectors.imap.headers import HEADER_FIELDS, fetched, read_message
from connectors.imap.names import (
    display_mailbox,
    encode_mailbox,
    find_sent,
    parse_list,
    quote_mailbox,
)
from connectors.imap.settings import SCHEMA
from connectors.localfiles import configured_path, secret_file_problem

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
                problem = secret_file_problem(configured_path(template, base_dir))
                if problem:
                    problems.append(("password_file", problem))
            else:
                fixed = template.split("{", 1)[0].rpartition("/")[0] or "."
                folder = configured_path(fixed, base_dir)
                if not folder.is_dir():
                    problems.append(
                        ("password_file", f"{folder} (the folder of {template!r}) does not exist")
                    )
        verify = section.get("verify_tls")
        if isinstance(verify, str) and verify:
            bundle = configured_path(verify, base_dir)
            if not bundle.is_file():
                problems.append(("verify_tls", f"CA bundle {bundle} does not exist"))
        return problems

    def __init__(self, config: Mapping[str, Any], context: BackendContext) -> None:
        super().__init__(config, context)
        self._wire: dict[str, str] = {}  # Unicode folder name -> as the server spells it
        settings = SCHEMA.resolve(self.config)  # the defaults of [mail.imap]
        self._login = Login(
            self.config,
            context,
            security=settings["security"],
            port=int(settings["port"]),
            timeout=float(settings["timeout"]),
        )

    # -- reading -----------------------------------------------------------------------------

    def folders(self, conn: imaplib.IMAP4) -> list[tuple[str, bool]]:
        """``(folder, is_sent)`` to read, Unicode names: the configured folders, or INBOX and
        the sent one.
        """
        listed = parse_list(checked(conn.list(), "LIST"))
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
        conn = self._login.open(owner)
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
            logout(conn)
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
            raise BackendError(f"imap: cannot open folder {folder!r}: {reply_text(data)}")
        validity = uidvalidity(conn, wire)
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
        uids = [int(u) for u in checked(conn.uid("SEARCH", criteria), "SEARCH")[0].split()]
        uids = sorted(u for u in uids if u > last_uid)  # "n:*" always matches the last message
        out = []
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(str(u) for u in uids[start : start + FETCH_BATCH])
            answer = checked(
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
