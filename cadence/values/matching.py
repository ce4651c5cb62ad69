"""The one rule deciding whether an e-mail address belongs to a customer.

Every place that recognises a customer in mail headers, calendar attendees or a customer file
asks this module; nothing else decides. The rule:

* **Case does not matter**: ``Bob@ACME.com`` is ``bob@acme.com``.
* **Plus-addressing is ignored**: ``bob+invoices@acme.com`` is ``bob@acme.com`` (on either
  side: a customer address written with a tag matches the plain one too).
* **Internationalised domains are compared in punycode** (IDNA 2008 with the UTS #46 mapping,
  the ``idna`` package): ``müller-söhne.de`` and ``xn--mller-shne-kcb9d.de`` are one domain.
* **Subdomains are in their parent's domain**: ``eu.acme.com`` is in ``acme.com``;
  ``notacme.com`` is not.
* **The most specific claim wins** when two customers claim an address: an exact address before
  any domain, then the longest domain (``eu.acme.com`` before ``acme.com``).

Display addresses (``"Bob Jones" <bob@acme.com>``) and ``mailto:`` URIs (iCalendar attendees)
are reduced to the address first. Something that is not an address (no ``@``) never matches.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Mapping

import idna


def normalize_domain(domain: str) -> str:
    """``domain`` lower-case, in punycode, without a leading ``@`` or trailing dot.

    A domain IDNA refuses (an underscore, a label too long) is kept lower-case as it is, so it
    still matches itself.
    """
    text = domain.strip().lstrip("@").rstrip(".").lower()
    if not text or (text.isascii() and "xn--" not in text):
        return text
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return text


def normalize_address(address: str) -> str:
    """The address as the rule compares it: ``local@domain`` lower-case, without a ``+tag``,
    the domain in punycode; ``""`` when ``address`` holds no address.

    >>> normalize_address('"Bob" <Bob+Orders@Müller-Söhne.de>')
    'bob@xn--mller-shne-kcb9d.de'
    """
    text = address.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if "<" in text or '"' in text or "(" in text:
        text = email.utils.parseaddr(text)[1]
    local, at, domain = text.strip().strip("<>").rpartition("@")
    if not at or not local or not domain:
        return ""
    local = local.lower().split("+", 1)[0] or local.lower()
    return f"{local}@{normalize_domain(domain)}"


def domain_of(address: str) -> str:
    """The normalized domain of ``address`` (``""`` when it holds none)."""
    return normalize_address(address).rpartition("@")[2]


def parent_domains(domain: str) -> list[str]:
    """``domain`` and each parent with at least two labels, most specific first.

    >>> parent_domains("a.eu.acme.com")
    ['a.eu.acme.com', 'eu.acme.com', 'acme.com']
    """
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(max(1, len(labels) - 1))]


class CustomerMatcher:
    """Customers' addresses and domains, asked which customer an address belongs to.

    Built from ``{customer id: (addresses, domains)}``; a source that only needs to know whether
    anything matches builds one with a single key (see :meth:`for_lists`).
    """

    def __init__(self, claims: Mapping[str, tuple[Iterable[str], Iterable[str]]]) -> None:
        self._addresses: dict[str, str] = {}
        self._domains: dict[str, str] = {}
        for customer_id in sorted(claims):  # the same winner whatever the input order
            addresses, domains = claims[customer_id]
            for address in addresses:
                normal = normalize_address(address)
                if normal:
                    self._addresses.setdefault(normal, customer_id)
            for domain in domains:
                normal = normalize_domain(domain)
                if normal:
                    self._domains.setdefault(normal, customer_id)

    @classmethod
    def for_lists(cls, addresses: Iterable[str], domains: Iterable[str]) -> CustomerMatcher:
        """A matcher for one anonymous set of addresses and domains (what mail sources get)."""
        return cls({"": (list(addresses), list(domains))})

    @property
    def addresses(self) -> list[str]:
        """Every claimed address, normalized, sorted."""
        return sorted(self._addresses)

    @property
    def domains(self) -> list[str]:
        """Every claimed domain, normalized, sorted."""
        return sorted(self._domains)

    def customer_of(self, address: str) -> str | None:
        """The customer ``address`` belongs to, or None."""
        normal = normalize_address(address)
        if not normal:
            return None
        found = self._addresses.get(normal)
        if found is not None:
            return found
        for domain in parent_domains(normal.rpartition("@")[2]):
            found = self._domains.get(domain)
            if found is not None:
                return found
        return None

    def matches(self, address: str) -> bool:
        """Whether ``address`` belongs to any customer."""
        return self.customer_of(address) is not None

    def customers_of(self, addresses: Iterable[str], *, besides: str = "") -> list[str]:
        """The customers of ``addresses`` (each once, in order of first appearance), leaving
        out ``besides`` (the salesperson's own address)."""
        own = normalize_address(besides) if besides else ""
        found: dict[str, None] = {}
        for address in addresses:
            if own and normalize_address(address) == own:
                continue
            customer = self.customer_of(address)
            if customer is not None:
                found.setdefault(customer, None)
        return list(found)

    def any_match(self, addresses: Iterable[str]) -> bool:
        """Whether any of ``addresses`` belongs to a customer."""
        return any(self.matches(a) for a in addresses)

    def fingerprint(self) -> list[list[str]]:
        """The claimed addresses and domains, for a source to notice when they change."""
        return [self.addresses, self.domains]


__all__ = [
    "CustomerMatcher",
    "domain_of",
    "normalize_address",
    "normalize_domain",
    "parent_domains",
]
