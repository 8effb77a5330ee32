"""KPro page parsing: typed rows, quirks, and per-record rejects (spec §3.3, §7)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from leadkit.systems.kpro.models import TABLE_SCHEMA, WIRE_SCHEMA, parse_page

LEAD: dict[str, Any] = {
    "id": 1,
    "externalRef": "I65473",
    "housingProvider": {"id": 1, "name": "Hexagon Housing", "slug": "hexagon"},
    "listing": {
        "id": 5,
        "externalRef": None,
        "name": "Plot 4",
        "availabilityStatus": "For Sale",
        "schemeGroup": "Shared ownership",
        "schemes": ["help-to-buy", "first-dibs"],
        "development": {
            "id": 9,
            "externalRef": None,
            "name": "Brick Works",
            "building": None,
            "street": "Brick Lane",
            "postcode": "E1 6QL",
            "town": "London",
        },
    },
    "development": None,
    "property": {
        "id": 3,
        "externalRef": None,
        "propertyNumber": "12",
        "name": None,
        "newBuild": True,
        "bedrooms": 2,
        "bathrooms": 1,
    },
    "site": {"id": 3, "code": "ZPL", "name": "Zoopla"},
    "source": None,
    "eligibilityStatus": "not-checked",
    "customerId": 7,
    "email": "john.smith1990@example.com",
    "title": "Mr",
    "firstName": "John",
    "lastName": "Smith",
    "fullName": "John Smith",
    "phone": "07987 654 321",
    "dateOfBirth": "1990-11-21",
    "livingCircumstance": {"id": 1, "name": "Renting privately"},
    "homeAddress": "17 Brick Lane",
    "homePostcode": "NW11 7HB",
    "homeLocalAuthority": "Barnet",
    "workingCircumstance": {"id": 7, "name": "Working full time"},
    "workAddress": "36-38 Mortimer St",
    "workPostcode": "W1W 7RG",
    "workLocalAuthority": None,
    "occupation": "Sales Manager",
    "employerName": "Keaze",
    "annualHouseholdIncome": 40000,
    "deposit": 12000.5,
    "dependants": 0,
    "eligibleCitizen": True,
    "firstTimeBuyer": True,
    "homeOwnershipStatus": 1,
    "armedForcesMember": False,
    "hasDisability": None,
    "keyworker": False,
    "housingWaitingList": False,
    "buyingInterestPeriod": {"id": 2, "name": "Within 3 months"},
    "additionalInfo": "...",
    "hearAboutUs": "Google search",
    "enquiryType": "new-build",
    "updatedAt": "2021-03-10T15:00:00+00:00",
    "createdAt": "2021-03-10T14:05:31+01:00",
}

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def lead(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(LEAD)
    out.update(changes)
    return out


def parse(records: list[Any]) -> Any:
    return parse_page(records, source="main", run_id="r1", extracted_at=NOW, context="page 1")


def test_every_documented_field_lands_typed_and_snake_case() -> None:
    page = parse([lead()])
    assert page.rejects == []
    row = page.frame.row(0, named=True)
    assert page.frame.schema == TABLE_SCHEMA
    assert row["created_at"] == datetime(2021, 3, 10, 13, 5, 31, tzinfo=UTC)  # +01:00 → UTC
    assert row["updated_at"] == datetime(2021, 3, 10, 15, 0, tzinfo=UTC)
    assert row["date_of_birth"] == date(1990, 11, 21)
    assert row["site"] == {"id": 3, "code": "ZPL", "name": "Zoopla"}
    assert row["listing"]["schemes"] == ["help-to-buy", "first-dibs"]
    assert row["listing"]["availability_status"] == "For Sale"
    assert row["listing"]["development"]["street"] == "Brick Lane"
    assert row["property"]["property_number"] == "12"
    assert row["annual_household_income"] == 40000.0
    assert row["development"] is None
    assert row["has_disability"] is None
    assert row["eligibility_status"] == "not-checked"
    assert orjson.loads(row["_raw"]) == LEAD
    assert (row["_source"], row["_run_id"], row["_extracted_at"]) == ("main", "r1", NOW)
    assert page.max_created_at == row["created_at"]
    # Every wire field has a column.
    from leadkit.naming import snake_case

    assert {snake_case(f) for f in WIRE_SCHEMA} <= set(TABLE_SCHEMA)


def test_q6_local_authority_object_keeps_details_and_name() -> None:
    la = {
        "id": 4,
        "name": "Camden",
        "slug": "camden",
        "longName": "Camden Council",
        "mapitId": None,
    }
    row = parse([lead(workLocalAuthority=la)]).frame.row(0, named=True)
    assert row["work_local_authority"] == "Camden"
    assert row["work_local_authority_details"] == {
        "id": 4,
        "name": "Camden",
        "slug": "camden",
        "long_name": "Camden Council",
        "mapit_id": None,
    }
    assert row["home_local_authority"] == "Barnet"
    assert row["home_local_authority_details"] is None


def test_q7_capital_development_in_listing_is_accepted() -> None:
    rec = lead()
    rec["listing"]["Development"] = rec["listing"].pop("development")
    row = parse([rec]).frame.row(0, named=True)
    assert row["listing"]["development"]["name"] == "Brick Works"
    assert '"Development"' in row["_raw"]  # the raw record is kept as received


def test_unknown_fields_and_new_codes_are_kept_not_rejected() -> None:
    rec = lead(
        newField={"x": 1},
        enquiryType="brand-new-type",
        site={"id": 99, "code": "NEW", "name": "New"},
    )
    page = parse([rec])
    assert page.rejects == []
    row = page.frame.row(0, named=True)
    assert row["enquiry_type"] == "brand-new-type"
    assert orjson.loads(row["_raw"])["newField"] == {"x": 1}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param({"email": None}, "email is missing or null", id="null-email"),
        pytest.param(
            {"createdAt": "yesterday"},
            "createdAt yesterday is not an ISO 8601 date-time",
            id="bad-ts",
        ),
        pytest.param({"dateOfBirth": "21/11/1990"}, "dateOfBirth", id="bad-dob"),
        pytest.param({"keyworker": "yes"}, "keyworker", id="bool-as-string"),
        pytest.param({"id": "abc"}, "id", id="id-not-int"),
        pytest.param({"site": None}, "site is missing or null", id="null-site"),
        pytest.param({"dependants": 1.5}, "dependants", id="fractional-count"),
    ],
)
def test_a_bad_record_is_rejected_with_reason_and_the_rest_loads(
    bad: dict[str, Any], reason: str
) -> None:
    good1, good2 = lead(id=10), lead(id=12)
    broken = lead(**{"id": 11, **bad})
    page = parse([good1, broken, good2])
    assert page.frame["id"].to_list() == [10, 12]
    assert len(page.rejects) == 1
    rej = page.rejects[0]
    assert reason in rej.reason
    assert orjson.loads(rej.raw) == broken
    assert rej.context == "page 1"


def test_missing_required_key_is_rejected() -> None:
    rec = lead(id=3)
    del rec["customerId"]
    page = parse([rec, lead(id=4)])
    assert [r.reason for r in page.rejects] == ["customerId is missing or null"]
    assert page.frame["id"].to_list() == [4]


def test_non_object_record_is_rejected() -> None:
    page = parse([lead(id=1), "oops", 5])
    assert page.frame.height == 1
    assert [r.reason for r in page.rejects] == ["record is not a JSON object"] * 2


def test_repeated_id_in_one_page_keeps_the_last() -> None:
    page = parse([lead(id=1, email="old@x.test"), lead(id=1, email="new@x.test")])
    assert page.frame["email"].to_list() == ["new@x.test"]


def test_empty_page() -> None:
    page = parse([])
    assert page.frame.height == 0
    assert page.max_created_at is None


def test_the_envelope_keeps_each_record_byte_for_byte_in_raw() -> None:
    from leadkit.systems.kpro.client import parse_envelope

    spaced = orjson.dumps(lead(id=7, firstName="Zoë")).replace(b'","', b'", "')
    escaped = orjson.dumps(lead(id=8)).replace(b"Zoopla", b"Zo\\u006fpla")
    body = (
        b'{"data": [ '
        + spaced
        + b" ,\n"
        + escaped
        + b', 5, "x"], "pagination": {"total": 4}, "links": {}}'
    )
    page, total = parse_envelope(
        body, 1, source="main", run_id="r1", extracted_at=NOW, shown_url="http://127.0.0.1/x"
    )
    assert (total, page.received) == (4, 4)
    raws = dict(zip(page.frame["id"].to_list(), page.frame["_raw"].to_list(), strict=True))
    assert raws == {7: spaced.decode(), 8: escaped.decode()}
    assert page.frame.filter(page.frame["id"] == 8)["site"].to_list()[0]["name"] == "Zoopla"
    assert [(r.reason, r.raw) for r in page.rejects] == [
        ("record is not a JSON object", "5"),
        ("record is not a JSON object", '"x"'),
    ]


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"data": {}, "pagination": {"total": 1}}', b'{"data": []}', b"not json"],
)
def test_a_body_that_is_not_the_envelope_fails_the_page_clearly(body: bytes) -> None:
    from leadkit.errors import SourceError
    from leadkit.systems.kpro.client import parse_envelope

    with pytest.raises(SourceError, match="page 3 is not the documented envelope"):
        parse_envelope(
            body, 3, source="main", run_id="r1", extracted_at=NOW, shown_url="http://127.0.0.1/x"
        )


def test_a_pretty_printed_page_loads_and_keeps_its_text() -> None:
    from leadkit.systems.kpro.client import parse_envelope

    pretty = orjson.dumps(lead(id=9), option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    body = b'{\n  "data": [\n' + pretty + b'\n  ],\n  "pagination": {"total": 1}\n}'
    page, _ = parse_envelope(
        body, 1, source="main", run_id="r1", extracted_at=NOW, shown_url="http://127.0.0.1/x"
    )
    assert page.rejects == []
    assert page.frame["id"].to_list() == [9]
    assert page.frame["_raw"][0] == pretty.decode()
    assert page.frame["site"][0] == {"id": 3, "code": "ZPL", "name": "Zoopla"}


def _lines(records: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]


def test_the_arrow_reader_reads_a_page_exactly_as_polars_reader_does() -> None:
    import io

    import polars as pl

    from leadkit.systems.kpro.dataset import DatasetOptions
    from leadkit.systems.kpro.models import _read_arrow
    from leadkit.systems.kpro.store import LeadStore

    records: list[dict[str, Any]] = LeadStore(500, DatasetOptions(seed=7)).leads()  # type: ignore[assignment]
    records[3]["listing"] = None
    records[4]["annualHouseholdIncome"] = 41000.25
    records[5] = {k: v for k, v in records[5].items() if k != "phone"}  # a missing key
    records[6]["brandNewField"] = {"nested": [1, 2]}  # unknown: ignored by both
    data = b"\n".join(_lines(records))
    fast = _read_arrow(data)
    assert fast.equals(pl.read_ndjson(io.BytesIO(data), schema=WIRE_SCHEMA))
    assert fast.schema == WIRE_SCHEMA


@pytest.mark.parametrize(
    "change",
    [
        {"workLocalAuthority": {"id": 4, "name": "Camden"}},  # Q6: an object for a string
        {"phone": 2071838750},  # a number where the spec has a string
    ],
)
def test_a_value_arrow_refuses_falls_back_to_polars_reader(change: dict[str, Any]) -> None:
    import pyarrow as pa

    from leadkit.systems.kpro.models import _read, _read_arrow

    line = orjson.dumps(lead(**change))
    with pytest.raises(pa.ArrowInvalid):
        _read_arrow(line)
    frame = _read([orjson.dumps(LEAD), line])
    assert frame.height == 2
    assert frame["id"].to_list() == [LEAD["id"], LEAD["id"]]
