"""Potential-seller leads and note de-duplication, end to end against the sandbox.

Like ``test_destination.py``: a real :class:`~leadkit.engine.http.HttpClient` over
127.0.0.1, the sandbox the only fake; :class:`Prepared` items built as the engine builds
them (the engine's own part is in ``tests/push/test_realgeeks.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from leadkit.push.base import Lead, LeadRejected, Outcome, Prepared, PushContext
from leadkit.systems.realgeeks import RealGeeksDestination, RealGeeksSettings
from leadkit.systems.realgeeks.destination import note_hash, parse_remote, remote_ref
from leadkit.systems.realgeeks.payload import CONTACT_FIELDS, build_property
from leadkit.systems.realgeeks.sandbox import RealGeeksSandbox
from leadkit.systems.realgeeks.settings import DEFAULT_ID_NAMESPACE
from tests.systems.realgeeks.conftest import Make
from tests.systems.realgeeks.test_destination import make_lead, prepared, send_one

CREATED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)

#: A KPro-shaped mapping: the development's address, the property's rooms.
FIELDS: dict[str, Any] = {
    "street_address": ["development.street", "listing.development.street"],
    "city": "development.town",
    "zip": "development.postcode",
    "beds": "property.bedrooms",
    "full_baths": "property.bathrooms",
}


def kpro_row(lead_id: str = "42", **changes: Any) -> Lead:
    """A ``kpro_leads``-like row: contact columns *and* a development and property."""
    row: dict[str, Any] = {
        "_source": "kpro_main",
        "id": int(lead_id),
        "email": "jack.johnson@example.com",
        "first_name": "Jack",
        "last_name": "Johnson",
        "full_name": "Jack Johnson",
        "phone": "808-123-1234",
        "home_address": "1 Secret Lane",
        "additional_info": "call me on 808 555 0199",
        "created_at": CREATED,
        "development": {"street": "Windsor Road", "town": "Birmingham", "postcode": "B29 5EW"},
        "listing": None,
        "property": {"bedrooms": 2, "bathrooms": 1},
    }
    row.update(changes)
    return Lead("kpro", "kpro_main", lead_id, row)


@pytest.fixture
def sellers(make: Make) -> RealGeeksDestination:
    """A potential-seller destination with the KPro mapping."""
    return make(lead_kind="potential_seller", property_fields=FIELDS, notify_users=True)


# --- potential sellers: mapping ------------------------------------------------------------


def test_payload_is_anonymous_id_created_and_one_property_viewed(
    sellers: RealGeeksDestination,
) -> None:
    payload = sellers.prepare(kpro_row())
    assert sorted(payload) == ["activities", "created", "id"]
    key = "potential-seller:kpro:kpro_main:42"
    assert payload["id"] == str(uuid.uuid5(DEFAULT_ID_NAMESPACE, key))
    assert payload["created"] == "2024-03-01T09:30:00+00:00"
    assert payload["activities"] == [
        {
            "type": "property_viewed",
            "source": "Acme Leads",
            "description": "kpro lead 42 (source kpro_main)\n"
            "Property: Windsor Road, Birmingham, B29 5EW",
            "property": {
                "street_address": "Windsor Road",
                "city": "Birmingham",
                "zip": "B29 5EW",
                "beds": 2,
                "full_baths": 1,
            },
            "created": "2024-03-01T09:30:00+00:00",
            "notify_users": True,
        }
    ]
    text = orjson.dumps(payload).decode()
    for secret in ("jack", "Johnson", "808", "Secret Lane", "call me"):
        assert secret.lower() not in text.lower()


def test_a_potential_seller_id_is_not_the_contact_lead_id(
    sellers: RealGeeksDestination,
    make: Make,
) -> None:
    lead = kpro_row()
    assert sellers.prepare(lead)["id"] != make().prepare(lead)["id"]


def test_candidate_columns_take_the_first_with_a_value(sellers: RealGeeksDestination) -> None:
    lead = kpro_row(
        development={"street": " ", "town": None},
        listing={"development": {"street": "Mill Lane"}},
        property=None,
    )
    prop = sellers.prepare(lead)["activities"][0]["property"]
    assert prop == {"street_address": "Mill Lane"}


def test_property_values_are_typed_as_the_docs_examples() -> None:
    row = {
        "mls": 12345, "beds": "3", "half": 1.0, "sqft": Decimal("1340"), "price": 100500.0,
        "value": "145000.50", "listed": date(2024, 3, 1), "sold": date(2015, 12, 25),
        "tags": ["kailua", "oahu"], "lat": "21.39", "lon": -157.74,
    }  # fmt: skip
    fields = {
        "mls": ["mls"], "beds": ["beds"], "half_baths": ["half"], "sqft": ["sqft"],
        "listing_price": ["price"], "estimated_value": ["value"], "list_date": ["listed"],
        "last_sold_date": ["sold"], "tags": ["tags"], "latitude": ["lat"], "longitude": ["lon"],
    }  # fmt: skip
    assert build_property(row, fields).model_dump(exclude_none=True) == {
        "mls": "12345", "beds": 3, "half_baths": "1", "sqft": "1340",
        "listing_price": "100500", "estimated_value": "145000.50",
        "list_date": "2024-03-01T00:00:00+00:00", "last_sold_date": "2015-12-25",
        "tags": ["kailua", "oahu"], "latitude": 21.39, "longitude": -157.74,
    }  # fmt: skip
    # coordinates alone locate a property
    only_coords = build_property(row, {"latitude": ["lat"], "longitude": ["lon"]})
    assert only_coords.latitude == 21.39


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"development": None, "listing": None, "property": None},
            "property",
            "not enough property data for a potential seller: needs a street_address, mls, "
            "url, or latitude and longitude; this row gave nothing (property_fields: "
            "street_address = development.street or listing.development.street, city = "
            "development.town, zip = development.postcode, beds = property.bedrooms, "
            "full_baths = property.bathrooms)",
        ),
        (
            {"development": {"town": "Leeds", "postcode": "LS1 4AB"}},
            "property",
            "this row gave city (from development.town), zip (from development.postcode), "
            "beds (from property.bedrooms)",
        ),
        (
            {"property": {"bedrooms": "two"}},
            "property.beds",
            "property beds (column property.bedrooms): 'two' is not a whole number",
        ),
    ],
    ids=["no-property", "no-street", "bad-beds"],
)
def test_rows_without_a_usable_property_are_rejected(
    sellers: RealGeeksDestination, changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(LeadRejected) as info:
        sellers.prepare(kpro_row(**changes))
    assert info.value.field == field
    assert reason in info.value.reason


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lead_kind": "potential_seller"}, "needs property_fields"),
        ({"property_fields": {"zip": "postcode"}}, "applies only to lead_kind"),
        ({"lead_kind": "potential_seller", "property_fields": {"postcode": "x"}},
         "'postcode' is not a Real Geeks property field"),
        ({"lead_kind": "potential_seller", "property_fields": {"zip": "a..b"}},
         "is not a column path"),
        ({"lead_kind": "potential_seller", "property_fields": {"zip": []}},
         "non-empty list"),
        ({"lead_kind": "seller"}, "lead_kind"),
    ],
)  # fmt: skip
def test_invalid_potential_seller_settings(changes: dict[str, Any], message: str) -> None:
    values = {"username": "u", "password": "p", "site_uuid": str(uuid.uuid4()), **changes}
    with pytest.raises(ValueError, match=message):
        RealGeeksSettings(**values)


# --- potential sellers: sending ------------------------------------------------------------


async def test_created_in_the_sandbox_with_the_property_and_no_contact_fields(
    sellers: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    item = prepared(sellers, kpro_row())
    outcome = await send_one(sellers, ctx, item)
    assert outcome == Outcome("sent", 201, "{}", None, item.payload["id"])
    (request,) = sandbox.received
    site = sandbox.site_uuids[0]
    assert (request.method, request.path) == ("POST", f"/rest/sites/{site}/potential-seller-leads")
    assert request.body == item.payload
    stored = sandbox.lead(site, item.payload["id"])
    assert stored is not None
    assert stored["role"] == "Potential Seller"
    assert not [f for f in CONTACT_FIELDS if f in stored]
    (viewed,) = stored["activities"]
    assert viewed["type"] == "property_viewed"
    assert viewed["property"]["street_address"] == "Windsor Road"


async def test_a_changed_property_is_sent_again_to_the_same_lead(
    sellers: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    first = await send_one(sellers, ctx, prepared(sellers, kpro_row()))
    moved = kpro_row(development={"street": "Mill Lane", "town": "Leeds"})
    outcome = await send_one(
        sellers, ctx, prepared(sellers, moved, update=True, remote_id=first.remote_id)
    )
    assert (outcome.status, outcome.remote_id) == ("updated", first.remote_id)
    assert [r.path.rsplit("/", 1)[1] for r in sandbox.received] == ["potential-seller-leads"] * 2
    stored = sandbox.lead(sandbox.site_uuids[0], str(first.remote_id))
    assert stored is not None
    assert [a["property"]["street_address"] for a in stored["activities"]] == [
        "Windsor Road",
        "Mill Lane",
    ]
    assert len(sandbox.leads[sandbox.site_uuids[0]]) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"activities": [{"type": "property_viewed", "source": "x", "description": "d",
                             "property": {}}]},
            "a potential seller lead needs at least one property_viewed activity with a "
            "property",
        ),
        (
            {"email": "jack@example.com", "activities": [
                {"type": "property_viewed", "source": "x", "description": "d",
                 "property": {"street_address": "1 Main St"}}]},
            "a potential seller lead has no contact fields; remove email",
        ),
    ],
    ids=["empty-property", "contact-field"],
)  # fmt: skip
async def test_422_is_rejected_with_real_geeks_error(
    sellers: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
    body: dict[str, Any],
    error: str,
) -> None:
    payload = {"id": str(uuid.uuid4()), **body}
    outcome = await send_one(sellers, ctx, Prepared(kpro_row(), payload, "h"))
    assert (outcome.status, outcome.http_status, outcome.detail) == ("rejected", 422, error)
    assert outcome.response == orjson.dumps({"error": error}).decode()
    assert sandbox.leads == {}
    assert len(sandbox.requests) == 1  # never retried


async def test_potential_seller_dry_run_sends_nothing(
    sellers: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    items = [prepared(sellers, kpro_row()), prepared(sellers, kpro_row("7"), update=True)]
    outcomes = await sellers.check(items, ctx)
    assert [o.status for o in outcomes] == ["would-send", "would-send"]
    assert "would create potential-seller lead" in str(outcomes[0].detail)
    assert "would send again (its property changed)" in str(outcomes[1].detail)
    assert sandbox.requests == []
    assert "potential sellers" in sellers.describe()


# --- notes on update -------------------------------------------------------------------------


def notes(sandbox: RealGeeksSandbox, remote_id: str | None) -> list[str]:
    lead_id, _ = parse_remote(remote_id)
    stored = sandbox.lead(sandbox.site_uuids[0], str(lead_id))
    assert stored is not None
    return [a["description"] for a in stored["activities"] if a["type"] == "note"]


async def test_update_changing_only_the_phone_adds_no_second_note(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    changed = make_lead(phone="+44 7840 258823", updated_at=datetime(2024, 4, 1, tzinfo=UTC))
    item = prepared(dest, changed, update=True, remote_id=created.remote_id)
    assert item.payload["activities"][0]["created"] != "2024-03-02T10:00:00+00:00"
    outcome = await send_one(dest, ctx, item)
    assert outcome == Outcome("updated", 200, "{}", None, created.remote_id)
    assert [r.method for r in sandbox.received] == ["POST", "PATCH"]  # no activities call
    assert len(notes(sandbox, outcome.remote_id)) == 1
    stored = sandbox.lead(sandbox.site_uuids[0], str(parse_remote(outcome.remote_id)[0]))
    assert stored is not None
    assert stored["phone"] == "+44 7840 258823"


async def test_update_changing_a_note_field_adds_exactly_one_note(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    item = prepared(dest, make_lead(status="CONTACTED"), update=True, remote_id=created.remote_id)
    outcome = await send_one(dest, ctx, item)
    assert outcome.status == "updated"
    text = item.payload["activities"][0]["description"]
    lead_id = parse_remote(created.remote_id)[0]
    assert outcome.remote_id == remote_ref(str(lead_id), note_hash(text))
    assert [r.method for r in sandbox.received] == ["POST", "PATCH", "POST"]
    assert notes(sandbox, outcome.remote_id) == [
        sandbox.received[0].body["activities"][0]["description"],
        text,
    ]
    # the same update again (e.g. after a failed ledger write): PATCH only
    again = prepared(dest, make_lead(status="CONTACTED"), update=True, remote_id=outcome.remote_id)
    assert (await send_one(dest, ctx, again)).remote_id == outcome.remote_id
    assert len(notes(sandbox, outcome.remote_id)) == 2


async def test_a_remote_id_without_a_note_hash_sends_the_note(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    """A delivery recorded by an older leadkit (``remote_id`` = the bare uuid): the
    delivered note is unknown, so it is sent (once), and its hash recorded."""
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    bare = parse_remote(created.remote_id)[0]
    item = prepared(dest, make_lead(phone="+44 7840 258823"), update=True, remote_id=bare)
    outcome = await send_one(dest, ctx, item)
    assert outcome.remote_id == created.remote_id
    assert len(notes(sandbox, outcome.remote_id)) == 2


async def test_a_note_that_failed_keeps_the_old_hash_so_it_is_sent_next_time(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    item = prepared(dest, make_lead(status="CONTACTED"), update=True, remote_id=created.remote_id)
    # The PATCH passes; every attempt of the activities call (1 + 3 retries) answers 503.
    # Latency holds each request 0.2 s, so the faults are queued while the activities
    # call waits, after the PATCH was answered.
    sandbox.configure(latency_s=0.2)
    task = asyncio.create_task(send_one(dest, ctx, item))
    while not any(r.method == "PATCH" for r in sandbox.requests):
        await asyncio.sleep(0.001)
    sandbox.fail_next("503", "503", "503", "503")
    failed = await task
    sandbox.configure(latency_s=0.0)
    assert failed.status == "failed"
    assert failed.remote_id == created.remote_id  # still the hash of the old note
    assert "lead updated, but its note was not added" in str(failed.detail)
    assert len(notes(sandbox, created.remote_id)) == 1
    # the next push (the ledger keeps remote_id) sends the note
    retry = prepared(dest, make_lead(status="CONTACTED"), update=True, remote_id=failed.remote_id)
    outcome = await send_one(dest, ctx, retry)
    assert outcome.status == "updated"
    assert len(notes(sandbox, outcome.remote_id)) == 2


async def test_dry_run_tells_whether_the_note_would_be_added(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    same_note = prepared(dest, make_lead(phone="+44 7840 258823"), update=True,
                         remote_id=created.remote_id)  # fmt: skip
    new_note = prepared(dest, make_lead(status="X"), update=True, remote_id=created.remote_id)
    a, b = await dest.check([same_note, new_note], ctx)
    assert "note unchanged, not added again" in str(a.detail)
    assert "(PATCH + note)" in str(b.detail)
    assert len(sandbox.requests) == 1


def test_property_fields_setting_lists_exactly_the_property_model() -> None:
    from leadkit.systems.realgeeks.payload import Property
    from leadkit.systems.realgeeks.settings import PROPERTY_FIELDS

    assert set(PROPERTY_FIELDS) == set(Property.model_fields)
