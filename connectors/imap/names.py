"""IMAP mailbox names: modified UTF-7 (RFC 3501 5.1.3), LIST answers, and the sent folder.

Folder names are Unicode everywhere cadence shows or takes them (``sent_folder = "Éléments
envoyés"``, logs, errors); on the wire they are in IMAP's modified UTF-7
(:mod:`imapclient.imap_utf7`): encoded for SELECT and STATUS, decoded from LIST. A configured
name that is already valid modified UTF-7 with a shift sequence (``&AMk-l&AOk-ments``, how it
had to be written before) is taken as it is, so such configurations keep working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from imapclient import imap_utf7

# Sent folders of servers that do not advertise SPECIAL-USE, in order of preference.
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "INBOX/Sent")

_LIST_LINE = re.compile(
    rb'^\((?P<flags>[^)]*)\)\s+(?P<delim>"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.*)$'
)


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
