"""The Real Geeks sandbox against the spec (§2–§8), with plain aiohttp over 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from typing import Any

import aiohttp
import pytest

from leadkit.systems.realgeeks.sandbox import RealGeeksSandbox, RealGeeksSandboxConfig
from tests.systems.realgeeks.conftest import Api

LEAD_ID = "3f1c9a52-8e4b-4d7a-9b21-6c0d5e7f8a90"

#: The seed's example lead (its property has numbers as strings; its first activity has
#: no ``source``).
SEED_LEAD: dict[str, Any] = {
    "source": "My Website",
    "email": "jack@gmail.com",
    "first_name": "Jack",
    "last_name": "Johnson",
    "role": "Buyer",
    "phone": "808-123-1234",
    "created": "2015-04-01T08:41:51+00:00",
    "activities": [
        {
            "type": "contact_emailed",
            "description": "Hi, I'm interested in buying a house in Hawaii",
            "created": "2015-04-01T08:55:55+00:00",
        },
        {
            "type": "property_viewed",
            "description": "I'd like to visit this house",
            "property": {
                "mls": "12345",
                "url": "http://www.site.com/property/123",
                "street_address": "123 Keolu Dr",
                "city": "Kailua",
                "state": "HI",
                "zip": "96734",
                "beds": 2,
                "full_baths": 3,
                "half_baths": "1",
                "type": "Condo",
                "sqft": "1340",
                "listing_price": "100500",
                "listing_status": "For Sale",
                "listing_days_on_market": 10,
                "estimated_value": "145000",
                "last_sold_date": "2015-12-25",
                "last_sold_price": "25000.99",
                "tags": ["kailua", "oahu", "12345"],
                "latitude": 21.29242539,
                "longitude": -157.8501134,
            },
        },
    ],
}


def lead(**fields: Any) -> dict[str, Any]:
    """A minimal valid lead with ``LEAD_ID``."""
    return {"id": LEAD_ID, "source": "Test", "email": "a@example.com", **fields}


async def test_create_seed_example_201_and_stored(api: Api, sandbox: RealGeeksSandbox) -> None:
    reply = await api.create({"id": LEAD_ID, **SEED_LEAD})
    assert (reply.status, reply.body) == (201, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert stored["email"] == "jack@gmail.com"
    assert stored["created"] == "2015-04-01T08:41:51+00:00"
    first, second = stored["activities"]
    assert first["source"] == "My Website"  # defaulted to the lead's source (spec §8)
    assert second["property"]["half_baths"] == "1"
    assert second["created"].endswith("+00:00")  # defaulted to receipt time
    assert second["source"] == "My Website"


async def test_create_without_id_gets_a_server_id(api: Api, sandbox: RealGeeksSandbox) -> None:
    body = dict(SEED_LEAD)
    reply = await api.create(body)
    assert reply.status == 201
    (lead_id,) = sandbox.leads[api.site]
    assert uuid.UUID(lead_id)


async def test_create_twice_is_an_upsert_in_any_uuid_form(
    api: Api, sandbox: RealGeeksSandbox
) -> None:
    assert (await api.create(lead(first_name="Jack"))).status == 201
    again = lead(id=LEAD_ID.replace("-", "").upper(), last_name="Johnson", activities=[
        {"type": "note", "source": "T", "description": "again"}
    ])  # fmt: skip
    assert (await api.create(again)).status == 201
    assert list(sandbox.leads[api.site]) == [LEAD_ID]
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert (stored["first_name"], stored["last_name"]) == ("Jack", "Johnson")
    assert [a["description"] for a in stored["activities"]] == ["again"]


@pytest.mark.parametrize(
    ("auth", "site", "needle"),
    [
        (None, None, "invalid credentials"),
        (("leadkit-demo", "wrong"), None, "invalid credentials"),
        (("someone", "realgeeks-sandbox-demo"), None, "invalid credentials"),
        (True, "ungranted", "no access to site"),
    ],
    ids=["missing", "wrong-password", "wrong-user", "site-not-granted"],
)
async def test_auth_failures_are_401_with_error(
    api: Api, sandbox: RealGeeksSandbox, auth: Any, site: str | None, needle: str
) -> None:
    target = sandbox.ungranted_site_uuid if site else api.site
    reply = await api.call("POST", f"/rest/sites/{target}/leads", json=lead(), auth=auth)
    assert reply.status == 401
    assert needle in reply.body["error"]
    assert sandbox.leads == {}
    assert sandbox.received == []


async def test_second_granted_site_and_site_forms(api: Api, sandbox: RealGeeksSandbox) -> None:
    other = sandbox.site_uuids[1].replace("-", "").upper()
    assert (await api.create(lead(), site=other)).status == 201
    assert sandbox.lead(sandbox.site_uuids[1], LEAD_ID) is not None
    assert sandbox.lead(api.site, LEAD_ID) is None


async def test_invalid_json_is_400(api: Api) -> None:
    path = f"/rest/sites/{api.site}/leads"
    for raw in (b"{not json", b"", b"\xff\xfe"):
        reply = await api.call("POST", path, data=raw)
        assert reply.status == 400
        assert reply.body["error"].startswith("request body is not valid JSON")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"email": "a@example.com"}, "source is required"),
        ({"source": "", "email": "a@example.com"}, "source is required"),
        ({"source": "T"}, "a lead needs at least one of email"),
        ({"source": "T", "email": ""}, "a lead needs at least one of"),
        (lead(email="jack@"), "email 'jack@' is not a valid e-mail address"),
        (lead(second_email="x"), "second_email 'x' is not a valid e-mail address"),
        (lead(phone="12"), "phone '12' is not a valid phone number"),
        (lead(phone2="call me"), "phone2 'call me' is not a valid phone number"),
        (lead(role="Landlord"), "role 'Landlord' is not one of: Buyer, Seller"),
        (lead(role="Potential Seller"), "role 'Potential Seller' is not one of"),
        (lead(id="123"), "id '123' is not a valid UUID"),
        (lead(created="yesterday"), "created 'yesterday' is not an ISO 8601"),
        (lead(created="2015-04-01T08:41:51"), "is not an ISO 8601 date-time with offset"),
        (
            lead(activities=[{"type": "note", "created": "last week"}]),
            "activities[0].created 'last week' is not an ISO 8601 date-time",
        ),
        (lead(first_name=12), "first_name must be a string, got 12"),
        (lead(activities={"type": "note"}), "activities must be a list"),
        (lead(activities=[{"description": "x"}]), "activities[0].type is required"),
        (lead(activities=["x"]), "activities[0] must be an object"),
        (lead(activities=[{"type": "note", "notify_users": "yes"}]), "notify_users must be"),
        (
            lead(activities=[{"type": "property_viewed", "property": {"beds": "two"}}]),
            "activities[0].property.beds must be a whole number, got 'two'",
        ),
        (
            lead(activities=[{"type": "x", "property": {"tags": "a"}}]),
            "property.tags must be a list of strings",
        ),
        (lead(activities=[{"type": "x", "user": {"role": "Boss"}}]), "user.role 'Boss'"),
        ([lead()], "lead must be a JSON object"),
    ],
)
async def test_validation_errors_are_422(api: Api, body: Any, error: str) -> None:
    reply = await api.create(body)
    assert reply.status == 422
    assert error in reply.body["error"]


@pytest.mark.parametrize(
    "created", ["2015-04-01T08:55:55+00:00", "2015-04-01T08:55:55Z", "2015-04-01T08:55:55"]
)
async def test_activity_created_is_any_iso_datetime(
    api: Api, sandbox: RealGeeksSandbox, created: str
) -> None:
    """Spec §4: an activity's ``created`` is an ISO 8601 date-time; only the lead's own
    ``created`` (§3) is documented "with offset"."""
    reply = await api.create(lead(activities=[{"type": "note", "created": created}]))
    assert (reply.status, reply.body) == (201, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert stored["activities"][-1]["created"] == created


@pytest.mark.parametrize(
    "phone", ["808-123-1234", "(808) 123-1234", "+55 83 1234-1234", "+358 40 1234567"]
)
async def test_documented_phone_forms_accepted(api: Api, phone: str) -> None:
    assert (await api.create(lead(phone=phone, phone2=phone))).status == 201


async def test_unknown_fields_are_kept(api: Api, sandbox: RealGeeksSandbox) -> None:
    assert (await api.create(lead(region="Oahu", favourite_colour="blue"))).status == 201
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert (stored["region"], stored["favourite_colour"]) == ("Oahu", "blue")


async def test_strict_activities_knob(api: Api, sandbox: RealGeeksSandbox) -> None:
    sandbox.configure(strict_activities=True)
    reply = await api.create(lead(activities=[{"type": "note", "description": "x"}]))
    assert (reply.status, reply.body) == (422, {"error": "activities[0].source is required"})


async def test_patch_v1_changes_present_fields_and_ignores_empty_strings(
    api: Api, sandbox: RealGeeksSandbox
) -> None:
    await api.create(lead(first_name="Jack", phone2="808-555-0100"))
    acts = [{"type": "note", "source": "T", "description": "called"}]
    reply = await api.patch(LEAD_ID, {"last_name": "Johnson", "phone2": "", "activities": acts})
    assert (reply.status, reply.body) == (200, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert stored["first_name"] == "Jack"
    assert stored["last_name"] == "Johnson"
    assert stored["phone2"] == "808-555-0100"  # v1 cannot unset
    assert [a["description"] for a in stored["activities"]] == ["called"]


async def test_patch_v2_clears_fields_with_empty_string(
    api: Api, sandbox: RealGeeksSandbox
) -> None:
    await api.create(lead(phone2="808-555-0100"))
    reply = await api.patch(LEAD_ID.replace("-", ""), {"phone2": ""}, v2=True)
    assert (reply.status, reply.body) == (200, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert "phone2" not in stored
    assert sandbox.received[-1].api == "v2"
    bad = await api.patch(LEAD_ID, {"source": ""}, v2=True)
    assert (bad.status, bad.body) == (422, {"error": "source cannot be unset"})


async def test_patch_validation_and_id_mismatch(api: Api) -> None:
    await api.create(lead())
    reply = await api.patch(LEAD_ID, {"email": "nope"})
    assert (reply.status, reply.body) == (
        422,
        {"error": "email 'nope' is not a valid e-mail address"},
    )
    other = str(uuid.uuid4())
    reply = await api.patch(LEAD_ID, {"id": other})
    assert reply.status == 422
    assert "does not match" in reply.body["error"]
    reply = await api.patch("not-a-uuid", {"email": "a@example.com"})
    assert (reply.status, reply.body) == (
        422,
        {"error": "lead id 'not-a-uuid' is not a valid UUID"},
    )


async def test_unknown_lead_is_404_unless_knob(api: Api, sandbox: RealGeeksSandbox) -> None:
    acts = [{"type": "note", "source": "T", "description": "x"}]
    assert (await api.patch(LEAD_ID, {"first_name": "J"})).body == {"error": "lead not found"}
    reply = await api.activities(LEAD_ID, acts)
    assert (reply.status, reply.body) == (404, {"error": "lead not found"})
    sandbox.configure(accept_unknown_leads=True)
    assert (await api.activities(LEAD_ID, acts)).status == 200
    assert (api.site, LEAD_ID) in sandbox.held
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert len(stored["activities"]) == 1


async def test_activities_endpoint(api: Api, sandbox: RealGeeksSandbox) -> None:
    await api.create(lead())
    acts = [
        {"type": "property_viewed", "description": "viewed", "property": {"mls": "1"}},
        {"type": "was_assigned", "source": "CRM", "description": "to Kai",
         "user": {"id": "a1", "role": "Agent", "admin": True}, "notify_users": True},
    ]  # fmt: skip
    reply = await api.activities(LEAD_ID, acts)
    assert (reply.status, reply.body) == (200, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert [a["type"] for a in stored["activities"]] == ["property_viewed", "was_assigned"]
    assert stored["activities"][0]["source"] == "Test"
    reply = await api.activities(LEAD_ID, {"type": "note"})
    assert (reply.status, reply.body) == (422, {"error": "activities must be a list"})


async def test_potential_seller_rules(api: Api, sandbox: RealGeeksSandbox) -> None:
    viewed = {"type": "property_viewed", "source": "AVM", "description": "valued",
              "property": {"street_address": "1 Main St", "estimated_value": "450000"}}  # fmt: skip
    reply = await api.potential_seller({"id": LEAD_ID, "activities": [viewed]})
    assert (reply.status, reply.body) == (201, {})
    stored = sandbox.lead(api.site, LEAD_ID)
    assert stored is not None
    assert stored["role"] == "Potential Seller"
    cases = [
        ({"activities": [viewed], "email": "a@example.com"}, "no contact fields; remove email"),
        ({"activities": [{"type": "note", "description": "x"}]}, "needs at least one property_"),
        ({"activities": [{**viewed, "property": None}]}, "needs at least one property_viewed"),
        ({}, "needs at least one property_viewed"),
    ]
    for body, error in cases:
        reply = await api.potential_seller(body)
        assert reply.status == 422
        assert error in reply.body["error"]


async def test_users_and_user_update(api: Api) -> None:
    reply = await api.call("GET", f"/rest/sites/{api.site}/users")
    assert reply.status == 200
    assert {u["role"] for u in reply.body} == {"Agent", "Lender"}
    reply = await api.call("PUT", f"/rest/sites/{api.site}/users/a1", json={})
    assert reply.status == 403


async def test_unknown_route_404_and_wrong_method_405(api: Api) -> None:
    reply = await api.call("POST", "/rest/nothing", json={})
    assert reply.status == 404
    assert "error" in reply.body
    reply = await api.call("GET", f"/rest/sites/{api.site}/leads")
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"
    reply = await api.call("POST", f"/v2/rest/sites/{api.site}/leads", json=lead())
    assert reply.status == 404


async def test_received_keeps_accepted_requests_without_authorization(
    api: Api, sandbox: RealGeeksSandbox
) -> None:
    await api.create(lead())
    await api.create({"source": "T"})  # 422: logged in requests, not in received
    (record,) = sandbox.received
    assert (record.method, record.path, record.status) == (
        "POST", f"/rest/sites/{api.site}/leads", 201,
    )  # fmt: skip
    assert record.site == api.site
    assert record.body["id"] == LEAD_ID
    assert "Authorization" not in record.headers
    assert record.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sandbox.requests[-1].status == 422
    assert sandbox.requests[-1].error == "a lead needs at least one of " + ", ".join(
        ("email", "second_email", "first_name", "last_name", "phone", "phone2", "address",
         "street_address", "city", "state")
    )  # fmt: skip


async def test_injected_faults(api: Api, sandbox: RealGeeksSandbox) -> None:
    sandbox.fail_next("500", "500-text", "503", "429")
    first = await api.create(lead())
    assert (first.status, first.body) == (500, {"error": "internal server error (injected fault)"})
    second = await api.create(lead())
    assert (second.status, second.body) == (500, "Internal Server Error")
    third = await api.create(lead())
    assert third.status == 503
    assert "Service Unavailable" in third.body
    fourth = await api.create(lead())
    assert fourth.status == 429
    assert fourth.headers["Retry-After"] == "0"
    assert sandbox.leads == {}
    assert (await api.create(lead())).status == 201
    assert [r.fault for r in sandbox.requests] == ["500", "500-text", "503", "429", None]


async def test_injected_reset_and_fault_rate(api: Api, sandbox: RealGeeksSandbox) -> None:
    sandbox.fail_next("reset")
    with pytest.raises(aiohttp.ClientError):
        await api.create(lead())
    sandbox.configure(fault_rate=1.0, fault_kinds=("503",))
    statuses = [(await api.create(lead())).status for _ in range(5)]
    assert statuses == [503] * 5
    with pytest.raises(ValueError, match="unknown knobs"):
        sandbox.configure(nope=1)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        sandbox.fail_next("418")  # type: ignore[arg-type]


async def test_latency_knob(api: Api, sandbox: RealGeeksSandbox) -> None:
    sandbox.configure(latency_s=0.2)
    started = time.monotonic()
    await asyncio.gather(*(api.create(lead()) for _ in range(5)))
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.5  # concurrent, not serialised


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"fault_rate=2 must be between 0 and 1.*site_uuids"):
        RealGeeksSandboxConfig(fault_rate=2, site_uuids=("x",))


def test_command_line_prints_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit.systems.realgeeks.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("REALGEEKS_SANDBOX_URL=http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
