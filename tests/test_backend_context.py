"""What a backend is given: the salespeople it serves, looked up by address."""

from __future__ import annotations

from pathlib import Path

from cadence.values.model import Salesperson
from connectors.base import BackendContext


def test_a_salesperson_is_found_by_address_whatever_its_case_the_first_listed_winning():
    ana = Salesperson("Ana@Example.com", name="Ana", timezone="Europe/Lisbon")
    twin = Salesperson("ana@example.COM", name="Twin", timezone="Asia/Tokyo")
    bo = Salesperson("bo@example.com", name="Bo")
    context = BackendContext(base_dir=Path("."), salespeople=[ana, twin, bo])

    assert context.salesperson("ANA@example.com") is ana
    assert context.salesperson("bo@EXAMPLE.com") is bo
    assert context.salesperson("cy@example.com") is None


def test_the_lookup_follows_the_salespeople_when_they_change():
    ana = Salesperson("ana@example.com", name="Ana")
    people = [ana]
    context = BackendContext(base_dir=Path("."), salespeople=people)
    assert context.salesperson("bo@example.com") is None

    bo = Salesperson("bo@example.com", name="Bo")
    people.append(bo)  # the same list, grown
    assert context.salesperson("bo@example.com") is bo
    context.salespeople = (bo,)  # another sequence
    assert context.salesperson("ana@example.com") is None
    assert context.salesperson("bo@example.com") is bo
