"""The customer CSV reader: every column, every rejection with its line, the file-level errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cadence.inputs.customers import PROGRESS_EVERY, Rejection, read_customers
from cadence.values.dates import DateReader
from cadence.values.errors import UserError
from cadence.values.model import Customer, CustomerStatus

HEADER = "id,name,owner"
EN = DateReader(("en",), "DMY")


def write(tmp_path: Path, text: str, name: str = "customers.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_every_column_into_the_customer(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,segment,emails,domains,industry,country,timezone,customer_since,"
        "status,cancelled_on,busy_seasons,last_contact\n"
        "C1,ACME Ltd,Ana@Example.com,enterprise, Buyer@ACME.com ; ceo@acme.com ,ACME.com;acme.pt,"
        "Retail,pt,Europe/Lisbon,2019-03-15,Cancelled,15 March 2026,"
        "Nov 15 - Jan 5; December,2026-02-01\n",
    )

    result = read_customers(path, EN)

    assert result.rejected == []
    assert result.customers == [
        Customer(
            id="C1",
            name="ACME Ltd",
            owner="ana@example.com",
            segment="enterprise",
            emails=("buyer@acme.com", "ceo@acme.com"),
            domains=("acme.com", "acme.pt"),
            industry="retail",
            country="PT",
            timezone="Europe/Lisbon",
            customer_since=date(2019, 3, 15),
            status=CustomerStatus.CANCELLED,
            cancelled_on=date(2026, 3, 15),
            busy_seasons=("Nov 15 - Jan 5", "December"),
            last_contact=date(2026, 2, 1),
            tags={},
        )
    ]


def test_only_required_columns_give_the_defaults(tmp_path):
    path = write(tmp_path, f"{HEADER}\nC1,ACME,ana@example.com\n")

    [customer] = read_customers(path, EN).customers

    assert customer == Customer(id="C1", name="ACME", owner="ana@example.com")
    assert customer.segment == "default"
    assert customer.status is CustomerStatus.ACTIVE


def test_an_address_may_carry_the_persons_name_for_invitations(tmp_path):
    cell = 'Jane Doe <Jane@ACME.com>; ap@acme.com; ""Doe, Tom"" <tom@acme.com>'  # CSV-quoted
    path = write(tmp_path, f'{HEADER},emails\nC1,ACME Ltd,ana@example.com,"{cell}"\n')

    [customer] = read_customers(path, EN).customers

    assert customer.emails == ("jane@acme.com", "ap@acme.com", "tom@acme.com")
    assert customer.email_names == (("jane@acme.com", "Jane Doe"), ("tom@acme.com", "Doe, Tom"))
    assert customer.display_name("jane@acme.com") == "Jane Doe"
    assert customer.display_name("ap@acme.com") == "ACME Ltd"  # no person: the company


@pytest.mark.parametrize(
    "cell", ["Jane <jane@acme.com", "a@acme.com, b@acme.com", "Jane <jane@acme.com> <x@y.com>"]
)
def test_an_address_cell_that_is_not_one_address_is_rejected_whole(tmp_path, cell):
    path = write(tmp_path, f'{HEADER},emails\nC1,ACME Ltd,ana@example.com,"{cell}"\n')

    [rejection] = read_customers(path, EN).rejected

    assert rejection.reason == f"emails: {cell!r} is not an e-mail address"


def test_empty_timezone_takes_the_default_timezone(tmp_path):
    path = write(tmp_path, "id,name,owner,timezone\nC1,A,a@x.com,\nC2,B,a@x.com,Asia/Tokyo\n")

    result = read_customers(path, EN, default_timezone="America/New_York")

    assert [c.timezone for c in result.customers] == ["America/New_York", "Asia/Tokyo"]


def test_header_names_match_in_any_case_order_and_spelling(tmp_path):
    path = write(
        tmp_path,
        "Owner,Customer Since,NAME,Last-Contact,Id\n"
        "ana@example.com,2020-01-02,ACME,2026-01-05,C9\n",
    )

    [customer] = read_customers(path, EN).customers

    assert (customer.id, customer.name, customer.owner) == ("C9", "ACME", "ana@example.com")
    assert customer.customer_since == date(2020, 1, 2)
    assert customer.last_contact == date(2026, 1, 5)


def test_unknown_columns_are_kept_as_tags_without_empty_values(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,Region,Account Manager Notes\n"
        "C1,A,a@x.com, North ,likes golf\n"
        "C2,B,a@x.com,,\n",
    )

    first, second = read_customers(path, EN).customers

    assert first.tags == {"Region": "North", "Account Manager Notes": "likes golf"}
    assert second.tags == {}


@pytest.mark.parametrize(
    "status", ["do_not_contact", "do-not-contact", "Do-Not-Contact", "DO NOT CONTACT"]
)
def test_do_not_contact_is_read_in_its_spellings(tmp_path, status):
    path = write(tmp_path, f"id,name,owner,status\nC1,A,a@x.com,{status}\n")

    [customer] = read_customers(path, EN).customers

    assert customer.status is CustomerStatus.DO_NOT_CONTACT


# ------------------------------------------------------------------------------------------------
# Rejections


def test_every_bad_row_is_rejected_with_its_line_and_reason_and_the_rest_imported(tmp_path):
    rows = [
        "id,name,owner,emails,domains,country,timezone,customer_since,status,cancelled_on,"
        "busy_seasons,last_contact",
        "OK1,Good One,a@x.com,,,,,,,,,",  # line 2
        ",No Id,a@x.com,,,,,,,,,",  # 3
        "R2,,a@x.com,,,,,,,,,",  # 4
        "R3,No Owner,,,,,,,,,,",  # 5
        "R4,Bad Owner,ana at example,,,,,,,,,",  # 6
        "R5,Bad Mail,a@x.com,good@x.com;not-mail,,,,,,,,",  # 7
        "R6,Bad Domain,a@x.com,,x..com,,,,,,,",  # 8
        "R7,Bad Country,a@x.com,,,XX,,,,,,",  # 9
        "R8,Bad Zone,a@x.com,,,,Mars/Olympus,,,,,",  # 10
        "R9,Bad Date,a@x.com,,,,,someday,,,,",  # 11
        "R10,No Year,a@x.com,,,,,March,,,,",  # 12
        "R11,Bad Status,a@x.com,,,,,,paused,,,",  # 13
        "R12,Cancelled Undated,a@x.com,,,,,,cancelled,,,",  # 14
        "R13,Cancelled Early,a@x.com,,,,,2020-05-01,cancelled,2019-01-01,,",  # 15
        "R14,Bad Season,a@x.com,,,,,,,,Nov 15 - Jan 5;whenever,",  # 16
        "R15,Future Contact,a@x.com,,,,,,,,,2026-12-01",  # 17
        "OK1,Duplicate,a@x.com,,,,,,,,,",  # 18
        "R16,Too,Many,Fields,,,,,,,,,,",  # 19
        "R17,,not-mail,,,ZZ,,,,,,",  # 20
        "OK2,Good Two,b@x.com,,,,,2027-01-01,,,,2026-11-01",  # 21
    ]
    path = write(tmp_path, "\n".join(rows) + "\n")

    result = read_customers(path, EN, today=date(2026, 11, 23))

    assert [c.id for c in result.customers] == ["OK1", "OK2"]
    assert result.rejected == [
        Rejection(3, "", "id: missing"),
        Rejection(4, "R2", "name: missing"),
        Rejection(5, "R3", "owner: missing"),
        Rejection(6, "R4", "owner: 'ana at example' is not an e-mail address"),
        Rejection(7, "R5", "emails: 'not-mail' is not an e-mail address"),
        Rejection(8, "R6", "domains: 'x..com' is not a mail domain"),
        Rejection(9, "R7", "country: unknown country code 'XX': use an ISO 3166 code like 'PT'"),
        Rejection(
            10,
            "R8",
            "timezone: unknown time zone 'Mars/Olympus': use an IANA name like 'Europe/Lisbon' "
            "or 'UTC'",
        ),
        Rejection(11, "R9", "customer_since: cannot read date 'someday'"),
        Rejection(12, "R10", "customer_since: date 'March' has no year"),
        Rejection(
            13, "R11", "status: unknown status 'paused' (use active, cancelled or do_not_contact)"
        ),
        Rejection(14, "R12", "cancelled_on: required when status is cancelled"),
        Rejection(15, "R13", "cancelled_on: 2019-01-01 is before customer_since 2020-05-01"),
        Rejection(
            16,
            "R14",
            "busy_seasons: cannot read season 'whenever': cannot read date 'whenever'",
        ),
        Rejection(17, "R15", "last_contact: 2026-12-01 is in the future"),
        Rejection(18, "OK1", "duplicate id 'OK1' (first on line 2)"),
        Rejection(19, "R16", "the row has 14 fields but the header has 12"),
        Rejection(
            20,
            "R17",
            "name: missing; owner: 'not-mail' is not an e-mail address; "
            "country: unknown country code 'ZZ': use an ISO 3166 code like 'PT'",
        ),
    ]


def test_customer_since_may_lie_in_the_future(tmp_path):
    path = write(tmp_path, "id,name,owner,customer_since\nC1,A,a@x.com,2030-01-01\n")

    [customer] = read_customers(path, EN, today=date(2026, 11, 23)).customers

    assert customer.customer_since == date(2030, 1, 1)


def test_rejection_renders_as_a_located_problem():
    problem = Rejection(7, "C3", "country: unknown country code 'XX'").as_problem("c.csv")

    assert str(problem) == "c.csv:7: C3: country: unknown country code 'XX'"


def test_quoted_fields_spanning_lines_keep_later_line_numbers_right(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,notes\r\n"
        'C1,"ACME\r\nLtd",a@x.com,"first\nsecond\nthird"\r\n'  # lines 2-5
        "C2,Beta,not-mail,\r\n"  # line 6
        'C3,"Gamma",a@x.com,""\r\n',  # line 7
    )

    result = read_customers(path, EN)

    assert result.rejected == [Rejection(6, "C2", "owner: 'not-mail' is not an e-mail address")]
    assert [c.id for c in result.customers] == ["C1", "C3"]
    # Line breaks inside quoted fields are folded: the name goes into titles and mail headers.
    assert result.customers[0].name == "ACME Ltd"
    assert result.customers[0].tags == {"notes": "first second third"}


def test_a_malformed_csv_row_is_rejected_and_reading_goes_on(tmp_path):
    path = write(tmp_path, f'{HEADER}\nC1,"ACME" Ltd,a@x.com\nC2,Beta,b@x.com\n')

    result = read_customers(path, EN)

    assert result.rejected == [Rejection(2, "", "not valid CSV: ',' expected after '\"'")]
    assert [c.id for c in result.customers] == ["C2"]


def test_an_unclosed_quote_fails_the_whole_file_rather_than_drop_the_rows_after_it(tmp_path):
    path = write(tmp_path, f'{HEADER}\nC1,A,a@x.com\nC2,"Beta,b@x.com\nC3,C,c@x.com\n')

    with pytest.raises(UserError) as caught:
        read_customers(path, EN)

    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3: a quoted field opened on this row is never closed (unexpected end of data)"
    ]


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = write(tmp_path, f"{HEADER}\n\nC1,A,a@x.com\n\nC2,B,bad\n")

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C1"]
    assert result.rejected == [Rejection(5, "C2", "owner: 'bad' is not an e-mail address")]


# ------------------------------------------------------------------------------------------------
# The file as a whole


def test_missing_required_column_fails_the_whole_file(tmp_path):
    path = write(tmp_path, "id,name,email\nC1,A,a@x.com\n")

    with pytest.raises(UserError) as caught:
        read_customers(path, EN)

    assert str(caught.value).splitlines() == [
        f"cannot read customer file {path}",
        f"{path}:1: owner: required column missing (the header has: id, name, email)",
    ]


def test_a_column_named_twice_fails_the_whole_file(tmp_path):
    path = write(tmp_path, "id,name,owner,Name\nC1,A,a@x.com,B\n")

    with pytest.raises(UserError) as caught:
        read_customers(path, EN)

    assert [str(p) for p in caught.value.problems] == [f"{path}:1: Name: column appears twice"]


def test_an_empty_file_is_a_user_error(tmp_path):
    path = write(tmp_path, "")

    with pytest.raises(UserError, match="the file is empty"):
        read_customers(path, EN)


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path):
    path = write(tmp_path, f"{HEADER}\nC1,A,a@x.com\nC2,Müller GmbH,a@x.com\n", encoding="latin-1")

    with pytest.raises(UserError) as caught:
        read_customers(path, EN)

    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3: not UTF-8 text (byte 0xfc); save the file as CSV UTF-8 and import it again"
    ]


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read customer file"):
        read_customers(tmp_path / "nope.csv", EN)


def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path):
    path = write(tmp_path, f"\ufeff{HEADER}\nC1,Müller,a@x.com\n")

    [customer] = read_customers(path, EN).customers

    assert (customer.id, customer.name) == ("C1", "Müller")


def test_semicolon_separated_files_are_recognised_from_the_header(tmp_path):
    path = write(
        tmp_path,
        'id;name;owner;emails;notes\nC1;ACME, Ltd;a@x.com;"a@acme.com;b@acme.com";x, y\n',
    )

    [customer] = read_customers(path, EN).customers

    assert customer.name == "ACME, Ltd"
    assert customer.emails == ("a@acme.com", "b@acme.com")
    assert customer.tags == {"notes": "x, y"}


# ------------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-15", date(2019, 3, 15)),
        ("15 March 2019", date(2019, 3, 15)),
        ("March 2019", date(2019, 3, 1)),
        ("15 मार्च 2019", date(2019, 3, 15)),
        ("15 مارس 2019", date(2019, 3, 15)),
    ],
)
def test_dates_are_read_in_the_configured_languages(tmp_path, text, expected):
    path = write(tmp_path, f"id,name,owner,customer_since\nC1,A,a@x.com,{text}\n")

    [customer] = read_customers(path, DateReader(("en", "hi", "ar"))).customers

    assert customer.customer_since == expected


@pytest.mark.parametrize(
    ("order", "expected"), [("DMY", date(2027, 4, 3)), ("MDY", date(2027, 3, 4))]
)
def test_numeric_dates_follow_the_configured_date_order(tmp_path, order, expected):
    path = write(tmp_path, "id,name,owner,customer_since\nC1,A,a@x.com,03/04/2027\n")

    [customer] = read_customers(path, DateReader(("en",), order)).customers

    assert customer.customer_since == expected


def test_a_season_in_another_language_is_accepted(tmp_path):
    path = write(tmp_path, "id,name,owner,busy_seasons\nC1,A,a@x.com,1 मार्च - 15 अप्रैल\n")

    [customer] = read_customers(path, DateReader(("en", "hi"))).customers

    assert customer.busy_seasons == ("1 मार्च - 15 अप्रैल",)


class CountingReader(DateReader):
    def __init__(self) -> None:
        super().__init__(("en",), "DMY")
        self.calls: list[str] = []

    def calendar_date(self, text: str) -> date:
        self.calls.append(text)
        return super().calendar_date(text)


def test_iso_dates_skip_dateparser_and_other_texts_are_parsed_once(tmp_path):
    rows = "".join(f"C{i},A,a@x.com,15 March 2019,2026-01-{1 + i % 28:02d}\n" for i in range(50))
    path = write(tmp_path, f"id,name,owner,customer_since,last_contact\n{rows}")
    reader = CountingReader()

    result = read_customers(path, reader)

    assert len(result.customers) == 50
    assert reader.calls == ["15 March 2019"]


# ------------------------------------------------------------------------------------------------
# Progress


def test_progress_is_reported_while_reading_and_at_the_end(tmp_path):
    count = 2 * PROGRESS_EVERY + 500
    rows = "".join(f"C{i},Name {i},a@x.com\n" for i in range(count))
    path = write(tmp_path, f"{HEADER}\n{rows}")
    seen: list[int] = []

    result = read_customers(path, EN, progress=seen.append)

    assert len(result.customers) == count
    assert seen == [PROGRESS_EVERY, 2 * PROGRESS_EVERY, count]


# -------------------------------------------------------------------------------------------
# One bad value never stops the team: control characters, over-long values, zones, dates


def test_control_characters_in_the_name_and_tags_are_folded_to_one_space(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,notes\n"
        'C1,"ACME\r\n Ltd",a@x.com,"a\x00b\x1b[31mc"\n'
        'C2,"Beta\u2028Corp\x85",a@x.com,\n'
        'C3,"Gamma\tand\x0bDelta",a@x.com,\n',
    )

    result = read_customers(path, EN)

    assert result.rejected == []
    assert [c.name for c in result.customers] == ["ACME Ltd", "Beta Corp", "Gamma and Delta"]
    assert result.customers[0].tags == {"notes": "a b [31mc"}


def test_a_control_character_in_the_id_or_owner_rejects_the_row(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,segment\n"
        'C1,A,a@x.com,\n"C\x002",B,a@x.com,\n"C\x1b3",C,a@x.com,\n'
        'C4,D,"a\x00b@x.com",\nC5,E,a@x.com,"gold\x01"\n',
    )

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C1"]
    assert result.rejected == [
        Rejection(3, "C\\x002", "id: contains the control character U+0000"),
        Rejection(4, "C\\x1b3", "id: contains the control character U+001B"),
        Rejection(5, "C4", "owner: contains the control character U+0000"),
        Rejection(6, "C5", "segment: contains the control character U+0001"),
    ]


def test_over_long_values_reject_the_row(tmp_path):
    long_id, long_name = "I" * 201, "N" * 301
    path = write(
        tmp_path,
        f"id,name,owner\nC1,{'N' * 300},a@x.com\n{long_id},B,a@x.com\nC3,{long_name},a@x.com\n",
    )

    result = read_customers(path, EN)

    assert [len(c.name) for c in result.customers] == [300]
    assert result.rejected == [
        Rejection(3, "I" * 200 + "...", "id: 201 characters long, at most 200 allowed"),
        Rejection(4, "C3", "name: 301 characters long, at most 300 allowed"),
    ]


def test_zones_that_zoneinfo_chokes_on_reject_the_row(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,timezone\n"
        f"C1,A,a@x.com,America\nC2,B,a@x.com,{'z' * 300}\nC3,C,a@x.com,../../etc/passwd\n"
        "C4,D,a@x.com,Europe/Lisbon\n",
    )

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C4"]
    assert [(r.line, r.reason) for r in result.rejected] == [
        (
            2,
            "timezone: unknown time zone 'America': that is a region, name a zone in it like "
            "'America/Adak'",
        ),
        (
            3,
            f"timezone: unknown time zone {'z' * 37!r}...: the name is 300 characters long, IANA "
            "names have at most 64; use an IANA name like 'Europe/Lisbon' or 'UTC'",
        ),
        (
            4,
            "timezone: unknown time zone '../../etc/passwd': use an IANA name like "
            "'Europe/Lisbon' or 'UTC'",
        ),
    ]


def test_dates_outside_the_supported_years_reject_the_row(tmp_path):
    path = write(
        tmp_path,
        "id,name,owner,customer_since,cancelled_on,last_contact\n"
        "C1,A,a@x.com,9999-12-31,,\n"
        "C2,B,a@x.com,,31 December 9999,\n"
        "C3,C,a@x.com,,,0001-01-01\n"
        "C4,D,a@x.com,1800-01-01,,2200-12-31\n",
    )

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C4"]
    assert [r.reason for r in result.rejected] == [
        "customer_since: date '9999-12-31' is outside the supported years 1800-2200",
        "cancelled_on: date '31 December 9999' is outside the supported years 1800-2200",
        "last_contact: date '0001-01-01' is outside the supported years 1800-2200",
    ]


def test_a_busy_season_covering_the_year_rejects_the_row(tmp_path):
    path = write(
        tmp_path,
        'id,name,owner,busy_seasons\nC1,A,a@x.com,Jan 1 - Dec 31\nC2,B,a@x.com,"Jan 1 - Dec 30"\n',
    )

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C2"]
    assert result.rejected == [
        Rejection(
            2,
            "C1",
            "busy_seasons: busy season 'Jan 1 - Dec 31' covers every day of the year: leave at "
            "least one day free, or the customer can never be contacted",
        )
    ]


def test_a_rows_own_seasons_must_leave_a_day_free_together(tmp_path):
    path = write(
        tmp_path,
        'id,name,owner,busy_seasons\nC1,A,a@x.com,"Jan 1 - Jun 30; Jul 1 - Dec 31"\n'
        'C2,B,a@x.com,"Jan 1 - Jun 30; Jul 2 - Dec 31"\n',
    )

    result = read_customers(path, EN)

    assert [c.id for c in result.customers] == ["C2"]
    assert [r.reason for r in result.rejected] == [
        "busy_seasons: busy seasons 'Jan 1 - Jun 30', 'Jul 1 - Dec 31' together cover every day "
        "of the year: leave at least one day free, or the customer can never be contacted"
    ]
