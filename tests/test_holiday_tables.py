"""The holidays package's answers kept on disk (:func:`cadence.values.daycal.tables_on_disk`) are
the package's answers: read back in a later block, with the package out of reach, they are what
it says about every region and year asked."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.values import daycal

# Countries with and without subdivisions, weekends other than Saturday-Sunday (AE, SA, IL,
# IR, NP), and codes the package does not know (XX, GB-XX).
REGIONS = [
    "PT", "GB", "GB-ENG", "GB-SCT", "US", "US-CA", "US-TX", "DE", "DE-BY", "DE-BE", "FR",
    "IN", "IN-MH", "AU-NSW", "CA-ON", "CH-ZH", "JP", "BR", "AE", "SA", "IL", "IR", "NP",
    "CN", "MX", "ES", "ES-CT", "IT", "NL", "XX", "GB-XX",
]  # fmt: skip
COUNTRIES = sorted({r.partition("-")[0] for r in REGIONS})


def _clear() -> None:
    for cached in (
        daycal.holidays_in,
        daycal.weekend_of,
        daycal.country_codes,
        daycal.subdivisions_of,
        daycal.canonical_region,
        daycal._entity,
        daycal._calendar,
    ):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def fresh_answers() -> Iterator[None]:
    _clear()
    yield
    _clear()


def _package_out_of_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("asked the holidays package")

    monkeypatch.setattr(holidays, "country_holidays", refuse)
    monkeypatch.setattr(holidays.registry.EntityLoader, "get_country_codes", refuse)


def _ask_all(regions: list[str], years: list[int]) -> dict[str, object]:
    return {
        "countries": daycal.country_codes(),
        "subdivisions": {c: daycal.subdivisions_of(c) for c in COUNTRIES},
        "weekends": {r: daycal.weekend_of(r) for r in regions},
        "holidays": {(r, y): daycal.holidays_in(r, y) for r in regions for y in years},
    }


def _package_says(regions: list[str], years: list[int]) -> dict[str, object]:
    """The same questions asked of the holidays package itself."""

    def calendar(region: str, year: int | None = None) -> holidays.HolidayBase | None:
        country, _, sub = region.partition("-")
        try:
            return holidays.country_holidays(country, subdiv=sub or None, years=year)
        except NotImplementedError:
            return None

    def subdivisions(country: str) -> tuple[str, ...]:
        cal = calendar(country)
        if cal is None:
            return ()
        shaped = [s for s in cal.subdivisions if s.isalnum() and len(s) <= 3]
        return tuple(f"{country}-{s}" for s in shaped)

    def weekend(region: str) -> frozenset[int]:
        cal = calendar(region.partition("-")[0])
        return daycal.DEFAULT_WEEKEND if cal is None else frozenset(cal.weekend)

    def named(region: str, year: int) -> dict[date, str]:
        cal = calendar(region, year)
        return {} if cal is None else dict(cal.items())

    return {
        "countries": frozenset(holidays.registry.EntityLoader.get_country_codes()),
        "subdivisions": {c: subdivisions(c) for c in COUNTRIES},
        "weekends": {r: weekend(r) for r in regions},
        "holidays": {(r, y): named(r, y) for r in regions for y in years},
    }


@pytest.mark.filterwarnings("ignore:Requested Holidays are available only")
@settings(max_examples=25, deadline=None)
@given(
    regions=st.lists(st.sampled_from(REGIONS), min_size=1, max_size=6, unique=True),
    years=st.lists(st.integers(1990, 2060), min_size=1, max_size=3, unique=True),
)
def test_answers_read_back_from_disk_are_the_packages(regions: list[str], years: list[int]) -> None:
    expected = _package_says(regions, years)
    with tempfile.TemporaryDirectory() as folder:
        with daycal.tables_on_disk(Path(folder)):
            assert _ask_all(regions, years) == expected  # asked of the package, and kept
        _clear()
        with pytest.MonkeyPatch.context() as monkeypatch:
            _package_out_of_reach(monkeypatch)
            with daycal.tables_on_disk(Path(folder)):
                assert _ask_all(regions, years) == expected  # every one from the file
        _clear()


def test_a_file_of_another_package_or_form_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with daycal.tables_on_disk(tmp_path):
        truth = daycal.holidays_in("PT", 2027)
    kept = json.loads((tmp_path / "holidays.json").read_text())
    lie = {"2027-01-04": "Not a holiday"}
    for change in ({"package": "another"}, {"format": 0}):
        (tmp_path / "holidays.json").write_text(
            json.dumps({**kept, **change, "kinds": {"holidays": {"PT 2027": lie}}})
        )
        _clear()
        with daycal.tables_on_disk(tmp_path):
            assert daycal.holidays_in("PT", 2027) == truth


def test_an_answer_the_file_holds_in_another_shape_is_asked_again(tmp_path: Path) -> None:
    with daycal.tables_on_disk(tmp_path):
        truth = (daycal.holidays_in("PT", 2027), daycal.weekend_of("AE"))
    kept = json.loads((tmp_path / "holidays.json").read_text())
    kept["kinds"]["holidays"]["PT 2027"] = {"27 March": "Easter"}
    kept["kinds"]["weekends"]["AE"] = [5, 9]
    (tmp_path / "holidays.json").write_text(json.dumps(kept))
    _clear()
    with daycal.tables_on_disk(tmp_path):
        assert (daycal.holidays_in("PT", 2027), daycal.weekend_of("AE")) == truth
    repaired = json.loads((tmp_path / "holidays.json").read_text())
    assert repaired["kinds"]["weekends"]["AE"] == sorted(truth[1])


def test_a_folder_that_cannot_take_the_file_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with daycal.tables_on_disk(blocked / "state"):  # its parent is a file: no folder there
        assert daycal.holidays_in("GB-ENG", 2027)[date(2027, 3, 29)] == "Easter Monday"
    assert blocked.read_text() == ""


def test_nothing_is_kept_outside_a_block(tmp_path: Path) -> None:
    with daycal.tables_on_disk(tmp_path):
        pass
    daycal.holidays_in("PT", 2027)
    assert not (tmp_path / "holidays.json").exists()
