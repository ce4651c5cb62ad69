"""The customer file's fast paths answer what the libraries they stand in for answer.

A bare address is read without :func:`email.utils.getaddresses` and an ASCII domain is checked
without the IDNA codec; these properties hold both to the library's answer.
"""

from __future__ import annotations

import email.utils

from hypothesis import example, given
from hypothesis import strategies as st

from cadence.inputs import customer_row
from cadence.inputs.customer_row import _is_domain, _parsed_address, named_address

ADDRESS_CHARS = "abcXYZ019._%+-@ <>\"(),:;'\\[]!#"


@given(st.from_regex(customer_row._PLAIN_ADDRESS, fullmatch=True))
@example("Office@B000000.Example.NET")
@example("first.last+tag@sub-domain.example.co.uk")
def test_a_plain_address_is_read_as_getaddresses_reads_it(item: str) -> None:
    assert named_address(item) == _parsed_address(item)
    found = email.utils.getaddresses([item])
    assert found == [("", item)]


@given(st.text(alphabet=ADDRESS_CHARS, max_size=30))
@example("Jane Doe <jane@acme.com>")
@example('"Doe, Jane" <jane@acme.com>')
@example("a..b@example.com")
@example(".a@example.com")
def test_any_item_is_read_as_getaddresses_reads_it(item: str) -> None:
    assert named_address(item) == _parsed_address(item)


def _is_domain_by_idna(domain: str) -> bool:
    try:
        ascii_name = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_name.split(".")
    return len(labels) >= 2 and all(customer_row._DOMAIN_LABEL.match(label) for label in labels)


@given(st.lists(st.text(alphabet="abz09-_A.", max_size=70), min_size=1, max_size=4).map(".".join))
@example("example.com")
@example("a..b")
@example("-a.com")
@example("x" * 64 + ".com")
@example("bücher.example")
def test_a_domain_is_checked_as_the_idna_codec_checks_it(domain: str) -> None:
    assert _is_domain(domain) == _is_domain_by_idna(domain)
