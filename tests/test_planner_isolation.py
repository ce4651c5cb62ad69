"""One customer the planner cannot handle is skipped; everyone else is planned exactly as
without them (SPEC 5.12)."""

from __future__ import annotations

from dataclasses import replace

from cadence.planner import PlanInput, engine, parallel, plan
from cadence.values.model import Salesperson
from cadence.values.seasons import Season
from tests.planning import ANA, NOW, as_bookings, customer, policies, run


def healthy(n: int = 12):
    # One salesperson, tight capacity: every placement competes with the others, so any
    # capacity a skipped customer kept would show in where the others land.
    return [customer(f"c{i:02d}", name=f"Customer {i}") for i in range(n)]


def test_a_customer_with_a_zone_folder_is_skipped_and_the_others_plan_as_without_it():
    tight = policies(per_day=1, per_week=3)
    alone = run(healthy(), pol=tight)
    bad = customer("c05x", name="Broken zone", timezone="America")
    result = run([*healthy(), bad], pol=tight)

    assert result.contacts == alone.contacts
    assert list(result.skipped) == ["c05x"]
    assert result.skipped == {"c05x": "time zone 'America' is not an IANA zone name"}
    [message] = result.notes["c05x"].messages
    assert message.startswith("could not be planned (")
    assert message.endswith("skipped: the other customers are planned as usual")
    assert not [c for c in result.contacts if c.customer_id == "c05x"]


def test_a_season_parser_failure_costs_only_that_customer():
    def parse(text: str) -> Season:
        if text == "poison":
            raise RuntimeError("season parser exploded")
        return Season(text=text, start_md=(7, 1), end_md=(7, 31))

    customers = [*healthy(6), customer("c99", busy_seasons=("poison",))]
    inp = PlanInput(
        policies=policies(per_day=1, per_week=3),
        customers=customers,
        salespeople={ANA.email: ANA},
        now=NOW,
        season_parser=parse,
    )
    result = plan(inp)
    without = plan(replace(inp, customers=customers[:-1]))
    assert result.skipped == {"c99": "RuntimeError: season parser exploded"}
    assert result.contacts == without.contacts


def test_capacity_taken_before_a_failure_goes_back_to_the_others(monkeypatch):
    """A customer that fails after placing some contacts is planned away entirely: the plan is
    made again without them, so the others get the capacity those contacts had taken."""
    tight = policies(per_day=1, per_week=2)
    alone = run(healthy(8), pol=tight)
    real_place = engine._Engine.place
    placed: dict[str, int] = {}

    def place_then_fail(self, state, need):
        cid = state.customer.id
        if cid == "c00":
            placed[cid] = placed.get(cid, 0) + 1
            if placed[cid] == 2:
                raise ValueError("second need of c00 is broken")
        return real_place(self, state, need)

    monkeypatch.setattr(engine._Engine, "place", place_then_fail)
    result = run([*healthy(8)], pol=tight)
    others = [c for c in alone.contacts if c.customer_id != "c00"]

    assert result.skipped == {"c00": "ValueError: second need of c00 is broken"}
    assert placed["c00"] >= 2  # it did place one need before failing
    # Exactly the plan of the world without c00 (its first placement left no trace).
    without = run([c for c in healthy(8) if c.id != "c00"], pol=tight)
    assert result.contacts == without.contacts
    assert result.contacts != others  # c00's capacity really went to someone else


def test_the_parallel_planner_reports_skipped_customers_from_every_part(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    bob = Salesperson(email="bob@example.com", timezone="Europe/London", country="GB")
    customers = [
        *healthy(6),
        *[customer(f"b{i}", owner=bob.email) for i in range(6)],
        customer("a-bad", timezone="Europe"),
        customer("b-bad", owner=bob.email, timezone="x" * 300),
    ]
    inp = PlanInput(
        policies=policies(per_day=1, per_week=3),
        customers=customers,
        salespeople={ANA.email: ANA, bob.email: bob},
        now=NOW,
    )
    single = plan(inp, workers=1)
    split = plan(inp, workers=2)
    assert single.skipped == {
        "a-bad": "time zone 'Europe' is not an IANA zone name",
        "b-bad": f"time zone '{'x' * 37}...' is not an IANA zone name",
    }
    assert split.skipped == single.skipped
    assert split.contacts == single.contacts
    assert split.notes == single.notes


def test_a_reassigned_customer_gets_fresh_keys_and_the_former_owners_bookings_are_not_kept(
    monkeypatch,
):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    ghost = Salesperson(email="ben@exmaple.com", timezone="Europe/London", country="GB")
    bob = Salesperson(email="bob@example.com", timezone="Europe/London", country="GB")
    before = run([customer("c1", owner=ghost.email)], people=(ANA, ghost))
    held = as_bookings(before)
    assert held and {b.owner for b in held} == {ghost.email}
    inp = PlanInput(
        policies=policies(),
        customers=[*healthy(4), customer("c1", owner=bob.email)],
        salespeople={ANA.email: ANA, bob.email: bob},
        now=NOW,
        bookings=held,
    )
    single = plan(inp, workers=1)
    mine = [c for c in single.contacts if c.customer_id == "c1"]
    assert mine and {c.owner for c in mine} == {bob.email}
    assert not {c.key for c in mine} & {b.key for b in held}  # never the former owner's keys
    assert {c.key for c in mine} == {f"{b.key}.r1" for b in held}
    assert plan(inp, workers=2).contacts == single.contacts
