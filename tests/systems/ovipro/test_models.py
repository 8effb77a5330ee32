"""OviPro page parsing: typed rows, quirks Q7/Q8/Q11/Q12, and per-record rejects."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.errors import SourceError
from leadkit.systems.ovipro.client import build_page, read_response
from leadkit.systems.ovipro.models import LEADS, OUTGOING, _blanks_to_null, parse_page, raw_hash
from leadkit.systems.ovipro.tables import LEADS_TABLE, OUTGOING_TABLE

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

#: The first list item of the seed's ``GET /leads`` example (spec §5), completed.
ITEM: dict[str, Any] = {
    "leadId": "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd",
    "leadStatusCode": "NEW",
    "leadActionCodes": [],
    "lead": {
        "leadTypeCode": "SELLER_REFERRAL",
        "leadSourceTypeCode": "BANK",
        "agencyOfficeId": "7bdffe48-0077-4de0-acd4-d9b9b1ab49f8",
        "realty": {
            "friendlyId": "123456",
            "address": {
                "streetAddress": "Katu 1",
                "stairwell": "A",
                "apartmentNumber": "1",
                "postcode": "00100",
                "postalArea": "Helsinki",
            },
        },
        "message": "Haluan lisätietoja asunnosta",
        "additionalNote": "Yhteydenotto mieluiten aamuisin ennen klo 10.",
        "customer": {
            "firstName": "Teemu",
            "lastName": "Virtanen",
            "emailAddress": "",
            "phoneNumber": "+358501234567",
            "partyId": "62701576-2621-4a27-8d2b-63cea492abb6",
        },
        "recipient": {
            "name": "Kiinteistöykkönen Oy",
            "emailAddress": "",
            "agencyOfficeId": "6ad770c0-8495-4564-a05d-f72e06af36ba",
        },
        "supplierAssignedIdentifiers": [
            {"schemeId": "realtorSystemLeadId", "supplierAssignedId": "abcd"}
        ],
        "tags": ["Kesäkampanja 2024", "Toimistoyhteydenotto"],
    },
    "creationTime": "2023-08-02T13:32:28Z",
    "modificationTime": "2023-08-03T11:45:09Z",
}

#: The first item of the seed's ``GET /outgoingLeads`` example (spec §9).
OUT_ITEM: dict[str, Any] = {
    "leadId": "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd",
    "lead": {
        "languageCode": "fi",
        "subject": "Muista hakea lainaa ajoissa",
        "message": "Asiakkaalla tarve uudelle asuntolainalle",
        "additionalNote": "",
        "realty": {"realtyId": "9fd9124c-e6c1-4368-9f17-6938f0e2f524", "friendlyId": "D66927"},
        "documents": [
            {"documentId": "7634091f-a637-4a9b-be75-ba008e221d31", "documentTypeCode": "BROCHURE"},
            {"documentId": "aaa4f3d9-f8c4-4017-bcee-366fc8acbd78", "documentTypeCode": "NEW_KIND"},
        ],
    },
    "customer": {
        "firstName": "Teemu",
        "lastName": "Virtanen",
        "emailAddress": "",
        "partyId": "62701576-2621-4a27-8d2b-63cea492abb6",
    },
    "sender": {
        "firstName": "Minna",
        "lastName": "Monnila",
        "emailAddress": "minna@example.fi",
        "phoneNumber": "+358501234567",
        "agencyOfficeId": "7bdffe48-0077-4de0-acd4-d9b9b1ab49f8",
        "agentId": "7b2a906c-9e68-4c06-be27-3d8a3fd79651",
    },
    "creationTime": "2023-08-02T13:32:28Z",
}


def item(lead_id: str = "8f1d2c3b-0000-4000-8000-000000000001", **changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(ITEM)
    rec["leadId"] = lead_id
    rec.update(changes)
    return rec


def parse(records: list[Any], endpoint: Any = "leads") -> Any:
    return parse_page(
        records, endpoint, source="main", run_id="run1", extracted_at=WHEN, context="test"
    )


def test_an_incoming_lead_becomes_one_typed_row_with_nested_structs() -> None:
    page = parse([ITEM])
    assert page.rejects == []
    row = page.frame.row(0, named=True)
    assert row["lead_id"] == ITEM["leadId"]
    assert row["lead_status_code"] == "NEW"
    assert row["lead_action_codes"] == []
    assert row["creation_time"] == datetime(2023, 8, 2, 13, 32, 28, tzinfo=UTC)
    assert row["modification_time"] == datetime(2023, 8, 3, 11, 45, 9, tzinfo=UTC)
    assert row["assignment_time"] is None
    lead = row["lead"]
    assert lead["realty"]["address"] == {
        "street_address": "Katu 1",
        "stairwell": "A",
        "apartment_number": "1",
        "postcode": "00100",
        "postal_area": "Helsinki",
    }
    assert lead["customer"]["first_name"] == "Teemu"
    assert lead["customer"]["phone_number"] == "+358501234567"
    assert lead["recipient"]["name"] == "Kiinteistöykkönen Oy"
    assert lead["supplier_assigned_identifiers"] == [
        {"scheme_id": "realtorSystemLeadId", "supplier_assigned_id": "abcd"}
    ]
    assert lead["tags"] == ["Kesäkampanja 2024", "Toimistoyhteydenotto"]
    assert (row["_source"], row["_run_id"], row["_extracted_at"]) == ("main", "run1", WHEN)
    assert row["_vanished_at"] is None
    assert orjson.loads(row["_raw"]) == ITEM


def test_empty_strings_become_null_at_every_depth_and_raw_keeps_them() -> None:
    rec = item(leadStatusCode="")
    rec["lead"]["message"] = ""
    rec["lead"]["tags"] = ["", "x"]
    rec["lead"]["supplierAssignedIdentifiers"] = [{"schemeId": "s", "supplierAssignedId": ""}]
    rec["decisionTime"] = ""
    row = parse([rec]).frame.row(0, named=True)
    assert row["lead_status_code"] is None
    assert row["decision_time"] is None
    assert row["lead"]["message"] is None
    assert row["lead"]["customer"]["email_address"] is None
    assert row["lead"]["recipient"]["email_address"] is None
    assert row["lead"]["tags"] == [None, "x"]
    assert row["lead"]["supplier_assigned_identifiers"][0]["supplier_assigned_id"] is None
    assert orjson.loads(row["_raw"])["lead"]["message"] == ""


def blank_to_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: blank_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [blank_to_none(v) for v in value]
    return None if value == "" else value


TEXT = st.sampled_from(["", '"', '""', "\\", '\\"', ",", ':"",', '[""]', "ä"]) | st.text(max_size=6)
JSON = st.recursive(
    TEXT | st.integers(-1000, 1000) | st.none() | st.booleans(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(st.dictionaries(TEXT, JSON, max_size=5))
def test_blank_values_become_null_and_nothing_else_changes(value: Any) -> None:
    """The byte-level Q7 rewrite of a record equals the obvious tree rewrite, whatever the
    strings and keys hold."""
    assert orjson.loads(_blanks_to_null(orjson.dumps(value))) == blank_to_none(value)


def test_absent_objects_stay_null_not_structs_of_nulls() -> None:
    rec = item()
    del rec["lead"]["realty"]
    rec["lead"]["recipient"] = None
    row = parse([rec]).frame.row(0, named=True)
    assert row["lead"]["realty"] is None
    assert row["lead"]["recipient"] is None


def test_the_frame_has_exactly_the_table_columns() -> None:
    page = parse([ITEM])
    assert page.frame.schema == LEADS.schema
    ddl_cols = [line.split()[0].strip('"') for line in LEADS_TABLE.ddl.splitlines()[1:-2]]
    assert ddl_cols == list(LEADS.schema)
    assert LEADS_TABLE.key == ("_source", "lead_id")
    assert OUTGOING_TABLE.key == ("_source", "lead_id")


def test_a_repeated_lead_id_keeps_one_row_the_last() -> None:
    """Q8: the documentation's own example repeats a leadId."""
    first = item("11111111-1111-4111-8111-111111111111", leadStatusCode="NEW")
    again = item("11111111-1111-4111-8111-111111111111", leadStatusCode="APPROVED")
    frame = parse([first, again]).frame
    assert frame.height == 1
    assert frame["lead_status_code"].to_list() == ["APPROVED"]


def test_unknown_enum_values_and_extra_fields_are_stored_not_rejected() -> None:
    rec = item(leadStatusCode="ON_HOLD", leadActionCodes=["CALLED", "EMAILED"], extra={"a": 1})
    rec["lead"]["leadTypeCode"] = "RENTAL_REFERRAL"
    page = parse([rec])
    assert page.rejects == []
    row = page.frame.row(0, named=True)
    assert row["lead_status_code"] == "ON_HOLD"
    assert row["lead_action_codes"] == ["CALLED", "EMAILED"]
    assert row["lead"]["lead_type_code"] == "RENTAL_REFERRAL"
    assert orjson.loads(row["_raw"])["extra"] == {"a": 1}


def test_timestamps_with_offsets_are_stored_in_utc() -> None:
    row = parse([item(creationTime="2023-08-02T16:32:28+03:00")]).frame.row(0, named=True)
    assert row["creation_time"] == datetime(2023, 8, 2, 13, 32, 28, tzinfo=UTC)
    assert str(row["creation_time"].tzinfo) == "UTC"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"leadId": None}, "leadId is missing"),
        ({"leadId": ""}, "leadId is missing"),
        ({"creationTime": None}, "creationTime is missing"),
        ({"creationTime": "yesterday"}, "creationTime yesterday is not an ISO 8601 date-time"),
        ({"decisionTime": "2023-13-45"}, "decisionTime 2023-13-45 is not an ISO 8601"),
        ({"lead": "not an object"}, "lead"),
        ({"leadActionCodes": "CALLED"}, "leadActionCodes"),
    ],
    ids=[
        "no-id",
        "empty-id",
        "no-creation-time",
        "bad-creation-time",
        "bad-decision-time",
        "lead-not-object",
        "codes-not-list",
    ],
)
def test_a_bad_record_is_rejected_with_a_reason_and_the_rest_loads(
    change: dict[str, Any], reason: str
) -> None:
    good = item("22222222-2222-4222-8222-222222222222")
    bad = item("33333333-3333-4333-8333-333333333333", **change)
    page = parse([good, bad, item("44444444-4444-4444-8444-444444444444")])
    assert page.frame["lead_id"].to_list() == [
        "22222222-2222-4222-8222-222222222222",
        "44444444-4444-4444-8444-444444444444",
    ]
    assert len(page.rejects) == 1
    rej = page.rejects[0]
    assert reason in rej.reason
    assert orjson.loads(rej.raw) == bad
    assert rej.context == "test"
    if isinstance(bad["leadId"], str) and bad["leadId"]:
        assert rej.record_id == bad["leadId"]


def test_a_number_where_text_is_documented_is_kept_as_text() -> None:
    row = parse([item(leadId=17)]).frame.row(0, named=True)
    assert row["lead_id"] == "17"


def test_a_record_that_is_not_an_object_is_rejected() -> None:
    page = parse([ITEM, "nope", None])
    assert page.frame.height == 1
    assert [r.reason for r in page.rejects] == ["record is not a JSON object"] * 2


def test_an_outgoing_lead_becomes_one_typed_row() -> None:
    page = parse([OUT_ITEM], "outgoing")
    assert page.rejects == []
    assert page.frame.schema == OUTGOING.schema
    row = page.frame.row(0, named=True)
    assert row["lead"]["language_code"] == "fi"
    assert row["lead"]["additional_note"] is None
    assert row["lead"]["realty"] == {
        "realty_id": "9fd9124c-e6c1-4368-9f17-6938f0e2f524",
        "friendly_id": "D66927",
    }
    assert [d["document_type_code"] for d in row["lead"]["documents"]] == ["BROCHURE", "NEW_KIND"]
    assert row["customer"]["email_address"] is None
    assert row["sender"]["email_address"] == "minna@example.fi"
    assert row["creation_time"] == datetime(2023, 8, 2, 13, 32, 28, tzinfo=UTC)


def test_outgoing_customer_and_sender_inside_lead_are_read_as_top_level() -> None:
    """Q11: one reading of the flattened documentation nests them in ``lead``."""
    rec = copy.deepcopy(OUT_ITEM)
    rec["lead"]["customer"] = rec.pop("customer")
    rec["lead"]["sender"] = rec.pop("sender")
    row = parse([rec], "outgoing").frame.row(0, named=True)
    assert row["customer"]["first_name"] == "Teemu"
    assert row["sender"]["agent_id"] == "7b2a906c-9e68-4c06-be27-3d8a3fd79651"
    assert orjson.loads(row["_raw"]) == rec  # the original shape is kept


def test_the_fingerprint_ignores_key_order_and_sees_every_change() -> None:
    a = orjson.dumps(ITEM)
    reordered = orjson.dumps(dict(reversed(list(ITEM.items()))))
    changed = orjson.dumps(item(ITEM["leadId"], modificationTime="2024-01-01T00:00:00Z"))
    assert raw_hash(a) == raw_hash(reordered)
    assert raw_hash(a) != raw_hash(changed)
    rows = parse([ITEM, item(), OUT_ITEM]).frame
    assert rows["_hash"].n_unique() == 2


def test_an_empty_page_gives_an_empty_frame_of_the_table_shape() -> None:
    page = parse([])
    assert page.frame.height == 0
    assert page.frame.schema == LEADS.schema


def body(total: Any, leads: Any) -> bytes:
    return orjson.dumps({"totalCount": total, "leads": leads})


def test_a_response_gives_its_leads_and_edges_and_pages_merge_responses() -> None:
    records = [item(f"00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
    leads, edge = read_response(body(10, records), "leads", 3, source="main", shown_url="u")
    assert [orjson.loads(raw) for raw in leads] == records
    assert (edge.offset, edge.count, edge.total) == (3, 3, 10)
    assert edge.first == records[0]["leadId"]
    assert edge.last == records[2]["leadId"]
    more, _ = read_response(body(10, [item(), "bad"]), "leads", 6, source="main", shown_url="u")
    page = build_page(
        leads + more,
        "leads",
        "ovipro_leads startIndex=3..6",
        source="main",
        run_id="r",
        extracted_at=WHEN,
    )
    assert (page.table, page.received, page.frame.height) == ("ovipro_leads", 5, 4)
    assert [r.context for r in page.rejects] == ["ovipro_leads startIndex=3..6"]


@pytest.mark.parametrize(
    "payload",
    [b"<html>gateway</html>", body(None, []), body(3, {"a": 1}), orjson.dumps({"leads": []})],
    ids=["not-json", "no-total", "leads-not-list", "missing-total"],
)
def test_a_response_that_is_not_the_documented_envelope_is_refused(payload: bytes) -> None:
    with pytest.raises(SourceError, match=r"main: ovipro_leads startIndex=0 is not the documented"):
        read_response(payload, "leads", 0, source="main", shown_url="u")
