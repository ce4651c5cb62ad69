"""The one rule deciding which customer an address belongs to (cadence.values.matching)."""

from __future__ import annotations

import pytest

from cadence.values.matching import CustomerMatcher, normalize_address, normalize_domain

MATCHER = CustomerMatcher(
    {
        "acme": (["Buyer@Acme.com"], ["acme.com"]),
        "acme-eu": ([], ["eu.acme.com"]),
        "muller": ([], ["müller-söhne.de"]),
        "globex": (["pat+sales@globex.org"], []),
        "initech": ([], ["xn--bcher-kva.example"]),
    }
)


@pytest.mark.parametrize(
    ("address", "customer"),
    [
        ("buyer@acme.com", "acme"),
        ("BUYER@ACME.COM", "acme"),
        ('"Buyer, B." <Buyer@acme.com>', "acme"),
        ("mailto:someone@acme.com", "acme"),
        ("someone@acme.com.", "acme"),
        ("x@eu.acme.com", "acme-eu"),  # the most specific domain wins
        ("x@paris.eu.acme.com", "acme-eu"),
        ("x@us.acme.com", "acme"),  # a subdomain is in its parent's domain
        ("x@notacme.com", None),
        ("x@acme.com.evil.org", None),
        ("buyer+invoices@acme.com", "acme"),  # plus-addressing ignored
        ("hans@müller-söhne.de", "muller"),  # IDN, Unicode on both sides
        ("hans@xn--mller-shne-kcb9d.de", "muller"),  # punycode against Unicode
        ("hans@MÜLLER-SÖHNE.DE", "muller"),
        ("anna@bücher.example", "initech"),  # Unicode against punycode
        ("pat@globex.org", "globex"),  # the customer's address was written with a tag
        ("pat+other@globex.org", "globex"),
        ("other@globex.org", None),
        ("not an address", None),
        ("", None),
        ("@acme.com", None),
    ],
)
def test_which_customer_an_address_belongs_to(address, customer):
    assert MATCHER.customer_of(address) == customer


def test_an_exact_address_beats_another_customers_domain():
    matcher = CustomerMatcher({"a": ([], ["acme.com"]), "b": (["boss@acme.com"], [])})
    assert matcher.customer_of("boss@acme.com") == "b"
    assert matcher.customer_of("clerk@acme.com") == "a"


def test_customers_of_names_each_customer_once_and_leaves_out_the_salesperson():
    found = MATCHER.customers_of(
        ["ana@example.com", "x@eu.acme.com", "buyer@acme.com", "y@eu.acme.com"],
        besides="Ana+cadence@example.com",
    )
    assert found == ["acme-eu", "acme"]
    own = CustomerMatcher({"self": ([], ["example.com"])})
    assert own.customers_of(["ana@example.com"], besides="ana@example.com") == []


def test_the_same_claims_in_any_order_give_the_same_winner():
    one = CustomerMatcher({"b": ([], ["acme.com"]), "a": ([], ["ACME.com"])})
    two = CustomerMatcher({"a": ([], ["acme.com"]), "b": ([], ["acme.com"])})
    assert one.customer_of("x@acme.com") == two.customer_of("x@acme.com") == "a"


def test_normal_forms():
    assert normalize_address('"Bob" <Bob+Orders@Müller-Söhne.de>') == (
        "bob@xn--mller-shne-kcb9d.de"
    )
    assert normalize_domain("@Bücher.Example.") == "xn--bcher-kva.example"
    assert normalize_domain("under_score.example") == "under_score.example"  # IDNA refuses it
    assert CustomerMatcher.for_lists(["A@X.com"], ["Y.org"]).fingerprint() == [
        ["a@x.com"],
        ["y.org"],
    ]
