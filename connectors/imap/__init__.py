"""The ``imap`` mail source (:class:`ImapSource`): contacts recognised in IMAP mailboxes.

``source`` holds the source (configuration, incremental reads), ``connection`` the login and
imaplib's replies, ``names`` the mailbox names (modified UTF-7, LIST, the sent folder),
``headers`` the messages' header fields.
"""

from connectors.imap.headers import addresses_of, read_message
from connectors.imap.names import (
    Folder,
    decode_mailbox,
    display_mailbox,
    encode_mailbox,
    find_sent,
    parse_list,
    quote_mailbox,
)
from connectors.imap.source import ImapSource
from connectors.mailtext import message_date

__all__ = [
    "Folder",
    "ImapSource",
    "addresses_of",
    "decode_mailbox",
    "display_mailbox",
    "encode_mailbox",
    "find_sent",
    "message_date",
    "parse_list",
    "quote_mailbox",
    "read_message",
]
