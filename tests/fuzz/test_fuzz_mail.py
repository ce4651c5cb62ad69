"""Fuzz: the mail header parsing of the IMAP, Gmail and Graph mail sources.

One message that cannot be read must not stop a mailbox (SPEC 5.12): each parser returns a
:class:`MailMessage` (or None for a message that is not a customer contact) or raises
:class:`BackendError`, whatever the headers say.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from cadence.values.matching import CustomerMatcher
from connectors.base import MailMessage
from connectors.google.gmail import parse_message
from connectors.imap import addresses_of, message_date
from connectors.imap import read_message as imap_message
from connectors.outlook.mail import _message as graph_message
from tests.fuzz.fuzzkit import fuzz, mutate, mutations, nasty_text, outcome

OWNER = "ana@example.com"
INTERNAL = datetime(2027, 5, 4, 10, tzinfo=UTC)
MATCHER = CustomerMatcher.for_lists(["bob@customer.example"], ["customer.example"])
HEADER = (
    b"From: =?utf-8?q?Bob_M=C3=BCller?= <Bob@Customer.example>\r\n"
    b'To: Ana Silva <ana@example.com>, "Team, Sales" <sales@example.com>\r\n'
    b"Cc: ceo@customer.example\r\n"
    b"Date: Tue, 4 May 2027 10:15:00 +0100\r\n"
    b"Message-ID: <1234@customer.example>\r\n"
    b"Subject: =?iso-8859-1?q?R=E9union?= next week\r\n"
    b"\r\n"
)
HEADER_TOKENS = (
    "=?utf-8?q?",
    "=?x-unknown?q?abc?=",
    "=?utf-8?b?////?=",
    "=?utf-8?b?=",
    "?=",
    "<>",
    "<@>",
    '"',
    "\\",
    "(",
    ")",
    ":;",
    "@@",
    "\r\n ",
    "\r\n",
    "\n\n",
    "\x00",
    "Date: ",
    "From: ",
    "-0000",
    "+9999",
    "Thu, 31 Dec 9999 23:59:59 -1200",
    "Mon, 1 Jan 0001 00:00:00 +1400",
    "32 Feb 2027",
    "99999999999999999999",
    "ana@example.com",
    "Bob@Customer.example",
)
header_edits = st.one_of(
    mutations(max_ops=6).map(lambda ops: mutate(HEADER, ops)),
    st.lists(
        st.tuples(st.integers(0, 1 << 20), st.sampled_from(HEADER_TOKENS)), min_size=1, max_size=6
    ).map(
        lambda picks: _spliced(HEADER, picks),
    ),
)


def _spliced(data: bytes, picks: list[tuple[int, str]]) -> bytes:
    out = bytearray(data)
    for position, token in picks:
        at = position % (len(out) + 1)
        out[at:at] = token.encode("utf-8")
    return bytes(out)


def _check_message(message: MailMessage | None, *, knows_owner: bool = True) -> None:
    event("message" if message is not None else "none")
    if message is None:
        return
    assert message.at.tzinfo is not None
    # The id is stored (contacts are deduplicated by it): PostgreSQL text holds no NUL, and
    # every database wants text that encodes.
    assert message.message_id and "\x00" not in message.message_id
    message.message_id.encode("utf-8")
    message.subject.encode("utf-8")
    for address in message.addresses:
        assert address == address.lower() and "@" in address
        # Gmail's parser is not told the owner: the SENT label alone says who wrote it.
        assert address != OWNER or not knows_owner


@fuzz()
@given(header_edits, st.booleans(), st.one_of(st.none(), st.just(INTERNAL)))
def test_imap_headers(header, is_sent, internal):
    result = outcome(imap_message, OWNER, "INBOX", 7, 42, internal, header, is_sent)
    if isinstance(result, Exception):
        return  # a BackendError naming the message: reported, the mailbox goes on
    _check_message(result)
    if result is not None:
        assert result.at.utcoffset() == UTC.utcoffset(None)


@fuzz()
@given(st.one_of(nasty_text(), st.sampled_from(HEADER_TOKENS)))
def test_imap_date_header(text):
    result = outcome(message_date, text, INTERNAL)
    assert result is None or (isinstance(result, datetime) and result.tzinfo is not None)


@fuzz()
@given(st.lists(st.one_of(st.none(), nasty_text(), st.sampled_from(HEADER_TOKENS)), max_size=4))
def test_imap_address_headers(values):
    for address in addresses_of(values):
        assert address == address.lower().strip() and "@" in address


def _gmail_message(headers: list[tuple[str, str]], labels: list[str]) -> dict[str, Any]:
    return {
        "id": "18c0ffee",
        "internalDate": str(int(INTERNAL.timestamp() * 1000)),
        "labelIds": labels,
        "payload": {"headers": [{"name": n, "value": v} for n, v in headers]},
    }


header_names = st.sampled_from(["From", "To", "Cc", "Date", "Message-ID", "Subject", "from", "X"])
header_values = st.one_of(
    nasty_text(),
    st.sampled_from(HEADER_TOKENS),
    st.sampled_from(["Bob <bob@customer.example>", "a@customer.example, b@x.example"]),
)


@fuzz()
@given(
    st.lists(st.tuples(header_names, header_values), max_size=8),
    st.lists(st.sampled_from(["SENT", "INBOX", "DRAFT", "SPAM"]), max_size=2),
)
def test_gmail_headers(headers, labels):
    message = _gmail_message(headers, labels)
    result = outcome(parse_message, message, MATCHER)
    if not isinstance(result, Exception):
        _check_message(result, knows_owner=False)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        nasty_text(max_parts=4),
        st.sampled_from(["bob@customer.example", "ANA@EXAMPLE.COM", "2027-05-04T10:00:00Z"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["emailAddress", "address", "name"]), children, max_size=3),
    ),
    max_leaves=10,
)
recipient = st.one_of(
    st.fixed_dictionaries(
        {"emailAddress": st.fixed_dictionaries({"address": header_values, "name": header_values})}
    ),
    json_values,
)
graph_items = st.fixed_dictionaries(
    {"id": st.from_regex(r"[A-Za-z0-9=_-]{1,40}", fullmatch=True)},  # always there, base64-like
    optional={
        "internetMessageId": json_values,
        "sentDateTime": st.one_of(json_values, st.sampled_from(["2027-05-04T10:00:00Z", "9999"])),
        "subject": json_values,
        "from": recipient,
        "sender": recipient,
        "toRecipients": st.one_of(st.lists(recipient, max_size=3), json_values),
        "ccRecipients": st.one_of(st.lists(recipient, max_size=3), json_values),
        "bccRecipients": st.one_of(st.lists(recipient, max_size=3), json_values),
    },
)


@fuzz()
@given(graph_items, st.sampled_from(["owner", "customer", "as generated"]))
def test_graph_messages(item, sender):
    if sender != "as generated":
        address = OWNER if sender == "owner" else "bob@customer.example"
        item = dict(item, **{"from": {"emailAddress": {"address": address}}})
    json.dumps(item)  # only what Graph's JSON can hold
    result = outcome(graph_message, OWNER, item, INTERNAL, MATCHER)
    if not isinstance(result, Exception):
        _check_message(result)
