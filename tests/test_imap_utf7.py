"""IMAP folder names: modified UTF-7 on the wire (RFC 3501 5.1.3), Unicode for people."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.imap import (
    Folder,
    decode_mailbox,
    display_mailbox,
    encode_mailbox,
    parse_list,
)

RFC_WIRE = "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
RFC_NAME = "~peter/mail/台北/日本語"


def test_the_rfc_3501_example_both_ways() -> None:
    assert decode_mailbox(RFC_WIRE.encode()) == RFC_NAME
    assert encode_mailbox(RFC_NAME) == RFC_WIRE


def test_french_sent_folder_and_an_ampersand() -> None:
    assert encode_mailbox("Éléments envoyés") == "&AMk-l&AOk-ments envoy&AOk-s"
    assert encode_mailbox("R&D") == "R&-D"
    assert decode_mailbox(b"R&-D") == "R&D"
    assert encode_mailbox("INBOX") == "INBOX"


def test_a_name_written_encoded_by_hand_keeps_working() -> None:
    assert encode_mailbox("&AMk-l&AOk-ments envoy&AOk-s") == "&AMk-l&AOk-ments envoy&AOk-s"
    assert display_mailbox("&AMk-l&AOk-ments envoy&AOk-s") == "Éléments envoyés"


def test_names_that_are_not_modified_utf7_are_kept_as_sent() -> None:
    assert decode_mailbox(b"&Jjo!") == "&Jjo!"  # never closed: not decoded, sent back as is
    assert decode_mailbox(b"R&D") == "R&D"
    assert decode_mailbox("Entwürfe".encode()) == "Entwürfe"  # UTF8=ACCEPT servers send UTF-8


def test_list_names_are_decoded_and_keep_their_wire_spelling() -> None:
    lines = [
        b'(\\HasNoChildren) "/" "&AMk-l&AOk-ments envoy&AOk-s"',
        (b'(\\HasNoChildren \\Sent) "/" {15}', b"&ZeVnLIqe-/R&-D"),
    ]
    assert parse_list(lines) == [
        Folder("Éléments envoyés", frozenset({"\\hasnochildren"}), "&AMk-l&AOk-ments envoy&AOk-s"),
        Folder("日本語/R&D", frozenset({"\\hasnochildren", "\\sent"}), "&ZeVnLIqe-/R&-D"),
    ]


@given(st.text())
def test_any_name_round_trips_through_the_wire(name: str) -> None:
    wire = encode_mailbox(name)
    assert wire.isascii() and all(0x20 <= ord(c) <= 0x7E for c in wire)
    # A name that is itself valid modified UTF-7 is taken as already encoded (see above).
    assert decode_mailbox(wire.encode("ascii")) == display_mailbox(name)
    if not name.isascii() or "&" not in name:
        assert decode_mailbox(wire.encode("ascii")) == name
