"""The KPro sandbox's import side (spec §6, Q9–Q11) over real sockets on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

from leadkit.systems.kpro.simulator import KProSandbox
from tests.systems.kpro.conftest import SandboxFactory

# The documentation's example lead (spec §6 / seed), comments removed.
EXAMPLE: dict[str, Any] = {
    "externalRef": "I65473",
    "email": "john.smith1990@gmail.com",
    "sendEmailConfirmation": False,
    "siteId": 6,
    "title": "Mr",
    "firstName": "John",
    "lastName": "Smith",
    "phone": "07987 654 321",
    "dateOfBirth": "1990-11-21",
    "annualHouseholdIncome": 40000,
    "deposit": 12000,
    "livingCircumstance": 1,
    "homePostcode": "NW11 7HB",
    "homeAddress": "17 Brick Lane",
    "dependants": 0,
    "workingCircumstance": 7,
    "workPostcode": "W1W 7RG",
    "workAddress": "36-38 Mortimer St",
    "occupation": "Sales Manager",
    "employerName": "Keaze",
    "armedForcesMember": False,
    "keyworker": False,
    "hasDisability": False,
    "housingWaitingList": False,
    "firstTimeBuyer": True,
    "homeOwnershipStatus": 1,
    "eligibleCitizen": True,
    "hearAboutUs": "Google search",
    "additionalInfo": "...",
    "listingId": None,
    "listingExternalRef": "L-34523",
    "propertyId": None,
    "propertyExternalRef": "P-67932",
    "developmentId": None,
    "bedrooms": [2, 3],
}


async def post(
    http: aiohttp.ClientSession, sb: KProSandbox, body: object, *, raw: bytes | None = None,
    key: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    data = raw if raw is not None else orjson.dumps(body)
    params = {"api_key": key or sb.api_key}
    headers = {"Content-Type": "application/json"}
    async with http.post(sb.leads_url, params=params, data=data, headers=headers) as resp:
        return resp.status, await resp.json()


def lead(**fields: Any) -> dict[str, Any]:
    return {"email": "ann.lee@example.com", **fields}


# --- success (201) ---------------------------------------------------------------------


async def test_the_documented_example_is_created_and_exported(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    before = len(sandbox.leads())
    status, body = await post(http, sandbox, {"data": [EXAMPLE]})
    assert status == 201
    (answer,) = body["data"]
    assert answer == {
        "id": answer["id"], "externalRef": "I65473", "email": "john.smith1990@gmail.com",
        "status": "created",
    }  # fmt: skip
    leads = sandbox.leads()
    assert len(leads) == before + 1
    stored = leads[-1]
    assert stored["id"] == answer["id"] > max(x["id"] for x in leads[:-1])
    assert stored["site"] == {"id": 6, "code": "API", "name": "KPro Marketing API"}
    assert stored["eligibilityStatus"] == "not-checked"
    assert stored["fullName"] == "John Smith"
    assert stored["livingCircumstance"] == {"id": 1, "name": "Renting privately"}
    assert stored["workingCircumstance"] == {"id": 7, "name": "Working full time"}
    assert stored["homeLocalAuthority"] == "Barnet"
    assert stored["workLocalAuthority"] == "Westminster"
    for field in ("externalRef", "email", "title", "phone", "dateOfBirth", "homePostcode",
                  "annualHouseholdIncome", "deposit", "dependants", "keyworker",
                  "homeOwnershipStatus", "hearAboutUs", "additionalInfo"):  # fmt: skip
        assert stored[field] == EXAMPLE[field], field
    assert (stored["listing"], stored["property"], stored["development"]) == (None, None, None)
    created = datetime.fromisoformat(stored["createdAt"])
    assert abs(created - datetime.now(UTC)) < timedelta(seconds=5)
    assert stored["updatedAt"] == stored["createdAt"]
    assert sandbox.imported[0].payload == EXAMPLE
    assert (sandbox.imported[0].status, sandbox.imported[0].lead_id) == ("created", answer["id"])
    # The new lead is the newest: first by default, last ascending.
    async with http.get(
        sandbox.leads_url, params={"api_key": sandbox.api_key, "size": "1"}
    ) as resp:
        assert (await resp.json())["data"][0]["id"] == answer["id"]


async def test_inventory_references_resolve_against_the_catalog(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    leads = sandbox.leads()
    with_listing = next(x for x in leads if x["listing"] and x["listing"]["externalRef"])
    with_property = next(x for x in leads if x["property"] and x["property"]["externalRef"])
    with_development = next(x for x in leads if x["development"])
    batch = [
        lead(email="a@example.com", listingId=with_listing["listing"]["id"]),
        lead(email="b@example.com", listingExternalRef=with_listing["listing"]["externalRef"]),
        lead(email="c@example.com", propertyExternalRef=with_property["property"]["externalRef"]),
        lead(email="d@example.com", developmentId=with_development["development"]["id"]),
        lead(email="e@example.com", listingId=1, propertyExternalRef="nope", siteId=3),
    ]
    status, _ = await post(http, sandbox, {"data": batch})
    assert status == 201
    a, b, c, d, e = sandbox.leads()[-5:]
    assert a["listing"] == b["listing"] == with_listing["listing"]
    assert a["development"] == with_listing["listing"]["development"]
    assert a["housingProvider"] == with_listing["housingProvider"]
    assert c["property"] == with_property["property"]
    assert c["listing"] is not None
    assert d["development"] == with_development["development"]
    assert d["listing"] is None
    assert (e["listing"], e["property"], e["site"]["code"]) == (None, None, "ZPL")


async def test_customers_are_matched_by_email(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    existing = sandbox.leads()[10]
    batch = [lead(email=existing["email"]), lead(email="new@example.com"),
             lead(email="new@example.com")]  # fmt: skip
    assert (await post(http, sandbox, {"data": batch}))[0] == 201
    old, new1, new2 = sandbox.leads()[-3:]
    assert old["customerId"] == existing["customerId"]
    assert (
        new1["customerId"]
        == new2["customerId"]
        > max(x["customerId"] for x in sandbox.leads()[:-3])
    )


async def test_strings_are_trimmed_empty_means_null_and_unknown_keys_are_ignored(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    sent = lead(email="  ann@example.com ", title="", firstName=" Ann ", id=5, site="x",
                customerId=9, eligibilityStatus="passed", colour="blue")  # fmt: skip
    status, body = await post(http, sandbox, {"data": [sent]})
    assert status == 201
    assert body["data"][0]["email"] == "  ann@example.com "  # echoed as sent
    stored = sandbox.leads()[-1]
    assert (stored["email"], stored["title"], stored["firstName"]) == (
        "ann@example.com",
        None,
        "Ann",
    )
    assert stored["id"] != 5
    assert stored["eligibilityStatus"] == "not-checked"
    assert stored["site"]["id"] == 6


async def test_any_text_survives_the_round_trip(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    odd = 'Zoë "Z" O\'Brien \\ line\nbreak 🏠'
    assert (await post(http, sandbox, {"data": [lead(additionalInfo=odd, deposit=1234.5)]}))[
        0
    ] == 201
    stored = sandbox.leads()[-1]
    assert stored["additionalInfo"] == odd
    assert stored["deposit"] == 1234.5


# --- dedupe (spec §6 "Dedupe") ---------------------------------------------------------


async def test_external_ref_dedupe_across_and_within_batches(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    other_key = "a" * 64
    async with make_sandbox(leads=10, api_keys=("b" * 64, other_key)) as sb:
        first = [lead(externalRef="R1", email="one@example.com"),
                 lead(externalRef="R1", email="two@example.com"),
                 lead(email="three@example.com"), lead(email="three@example.com")]  # fmt: skip
        status, body = await post(http, sb, {"data": first})
        assert status == 201
        statuses = [x["status"] for x in body["data"]]
        assert statuses == ["created", "duplicate", "created", "created"]
        assert body["data"][1]["id"] == body["data"][0]["id"]
        assert len(sb.leads()) == 13
        assert [x["email"] for x in sb.leads()[-3:]] == ["one@example.com", "three@example.com",
                                                           "three@example.com"]  # fmt: skip
        # Another request: the same ref (as a string or an integer) is skipped, not updated.
        again = [lead(externalRef="R1", email="changed@example.com"), lead(externalRef=77)]
        status, body = await post(http, sb, {"data": again})
        assert [x["status"] for x in body["data"]] == ["duplicate", "created"]
        status, body = await post(http, sb, {"data": [lead(externalRef="77")]})
        assert body["data"][0]["status"] == "duplicate"
        assert "changed@example.com" not in {x["email"] for x in sb.leads()}
        # Dedupe is per API key.
        status, body = await post(http, sb, {"data": [lead(externalRef="R1")]}, key=other_key)
        assert body["data"][0]["status"] == "created"
        assert [r.status for r in sb.imported].count("duplicate") == 3


# --- validation (spec §6 "Simulator validation") ---------------------------------------

TOMORROW = (date.today() + timedelta(days=2)).isoformat()
Case = tuple[dict[str, Any], dict[str, list[str]]]


def rule(field: str, value: Any, message: str) -> Case:
    """One invalid value and the one message it gets."""
    return {field: value}, {field: [message]}


DOB_FORMAT = "The date of birth does not match the format Y-m-d."
INVALID: list[Case] = [
    rule("email", None, "The email field is required."),
    rule("email", "", "The email field is required."),
    rule("email", "   ", "The email field is required."),
    rule("email", "john.smith", "The email must be a valid email address."),
    rule("email", "john@@example.com", "The email must be a valid email address."),
    rule("email", 42, "The email must be a valid email address."),
    rule("externalRef", ["x"], "The external ref must be a string or an integer."),
    rule("externalRef", 1.5, "The external ref must be a string or an integer."),
    rule("externalRef", "x" * 256, "The external ref must not be greater than 255 characters."),
    rule("livingCircumstance", 9, "The selected living circumstance is invalid."),
    rule("livingCircumstance", 0, "The selected living circumstance is invalid."),
    rule("livingCircumstance", "1", "The living circumstance must be an integer."),
    rule("workingCircumstance", 10, "The selected working circumstance is invalid."),
    rule("homeOwnershipStatus", 5, "The selected home ownership status is invalid."),
    rule("homeOwnershipStatus", True, "The home ownership status must be an integer."),
    rule("siteId", 9, "The selected site id is invalid."),
    rule("siteId", 6.0, "The site id must be an integer."),
    rule("homePostcode", "NW11", "The home postcode format is invalid."),
    rule("homePostcode", "QQ1 1AA", "The home postcode format is invalid."),
    rule("workPostcode", 12345, "The work postcode must be a string."),
    rule("workPostcode", "W1W 7RC", "The work postcode format is invalid."),
    rule("dateOfBirth", "21/11/1990", DOB_FORMAT),
    rule("dateOfBirth", "1990-02-30", DOB_FORMAT),
    rule("dateOfBirth", TOMORROW, "The date of birth must be a date before today."),
    rule("keyworker", "true", "The keyworker field must be true or false."),
    rule("firstTimeBuyer", 1, "The first time buyer field must be true or false."),
    rule("sendEmailConfirmation", "no",
         "The send email confirmation field must be true or false."),
    rule("bedrooms", 2, "The bedrooms must be an array."),
    rule("enquiryType", "rental", "The selected enquiry type is invalid."),
    rule("annualHouseholdIncome", -1, "The annual household income must be at least 0."),
    rule("deposit", "12000", "The deposit must be a number."),
    rule("dependants", -1, "The dependants must be at least 0."),
    rule("dependants", 1.5, "The dependants must be an integer."),
    rule("listingId", "L-1", "The listing id must be an integer."),
    rule("title", 3, "The title must be a string."),
    rule("listingExternalRef", 34523, "The listing external ref must be a string."),
    (
        {"bedrooms": [2, -1, "3", 1.5]},
        {
            "bedrooms.1": ["The bedrooms.1 must be at least 0."],
            "bedrooms.2": ["The bedrooms.2 must be an integer."],
            "bedrooms.3": ["The bedrooms.3 must be an integer."],
        },
    ),
    (
        {"email": "x", "siteId": 0, "deposit": -5},
        {
            "email": ["The email must be a valid email address."],
            "siteId": ["The selected site id is invalid."],
            "deposit": ["The deposit must be at least 0."],
        },
    ),
]  # fmt: skip
VALID: list[dict[str, Any]] = [
    {"email": "a@b"},
    {"externalRef": 12345},
    {"dependants": 0, "deposit": 0, "annualHouseholdIncome": 0.5},
    {"homePostcode": "nw117hb", "workPostcode": "EC1A 1BB"},
    {"homePostcode": "GIR 0AA"},
    {"bedrooms": []},
    {"enquiryType": "selling-my-home", "siteId": 41, "homeOwnershipStatus": 4},
    dict.fromkeys(["title", "phone", "dateOfBirth", "livingCircumstance", "bedrooms"]),
    dict.fromkeys(["keyworker", "externalRef", "siteId", "deposit", "enquiryType"]),
]


@pytest.mark.parametrize(("fields", "errors"), INVALID, ids=[str(f)[:50] for f, _ in INVALID])
async def test_each_rule_rejects_the_whole_batch_with_its_message(
    sandbox: KProSandbox,
    http: aiohttp.ClientSession,
    fields: dict[str, Any],
    errors: dict[str, Any],
) -> None:
    before = len(sandbox.leads())
    bad = lead(**fields)
    status, body = await post(http, sandbox, {"data": [lead(email="ok@example.com"), bad]})
    assert status == 422
    assert body == {
        "message": "The given data was invalid.",
        "errors": [{"customerEmail": bad["email"], "errors": errors}],
    }
    assert len(sandbox.leads()) == before
    assert sandbox.imported == []


@pytest.mark.parametrize("fields", VALID, ids=[str(f)[:50] for f in VALID])
async def test_edge_values_are_accepted(
    sandbox: KProSandbox, http: aiohttp.ClientSession, fields: dict[str, Any]
) -> None:
    status, body = await post(http, sandbox, {"data": [{"email": "edge@example.com", **fields}]})
    assert status == 201, body


async def test_one_entry_per_failing_lead_and_nothing_stored(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    batch = [
        lead(email="good@example.com", externalRef="G1"),
        lead(email="bad1"),
        lead(email="ok@example.com"),
        "not an object",
        lead(email="bad2", siteId=99),
    ]
    status, body = await post(http, sandbox, {"data": batch})
    assert status == 422
    assert [e["customerEmail"] for e in body["errors"]] == ["bad1", None, "bad2"]
    assert body["errors"][1]["errors"] == {"lead": ["The lead must be an object."]}
    assert len(sandbox.leads()) == 600
    # The valid lead's ref was not recorded either: sending it again creates it.
    status, body = await post(http, sandbox, {"data": [batch[0]]})
    assert body["data"][0]["status"] == "created"


# --- malformed requests, batch size, auth ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"data": None}, {"data": {}}, {"data": "x"}, {"data": []}, [], [{"email": "a@b.c"}],
     {"leads": [{"email": "a@b.c"}]}],
    ids=repr,
)  # fmt: skip
async def test_missing_data_is_422(
    sandbox: KProSandbox, http: aiohttp.ClientSession, body: Any
) -> None:
    assert await post(http, sandbox, body) == (
        422, {"message": "The data field is required.", "errors": []}
    )  # fmt: skip


@pytest.mark.parametrize("raw", [b"", b"{", b"{'data': []}", b'{"data": [}', b"\xff"])
async def test_unparseable_json_is_400(
    sandbox: KProSandbox, http: aiohttp.ClientSession, raw: bytes
) -> None:
    status, body = await post(http, sandbox, None, raw=raw)
    assert status == 400
    assert set(body) == {"message", "errors"}
    assert sandbox.imported == []


async def test_max_batch(make_sandbox: SandboxFactory, http: aiohttp.ClientSession) -> None:
    async with make_sandbox(leads=5, max_batch=3) as sb:
        batch = [lead(email=f"p{i}@example.com") for i in range(4)]
        assert await post(http, sb, {"data": batch}) == (
            422,
            {"message": "Too many leads", "errors": []},
        )
        assert len(sb.leads()) == 5
        assert (await post(http, sb, {"data": batch[:3]}))[0] == 201
        sb.configure(max_batch=None)
        assert (await post(http, sb, {"data": batch}))[0] == 201


async def test_import_needs_the_key(sandbox: KProSandbox, http: aiohttp.ClientSession) -> None:
    assert await post(http, sandbox, {"data": [lead()]}, key="0" * 64) == (
        401, {"message": "Unauthenticated."}
    )  # fmt: skip
    async with http.post(sandbox.leads_url, json={"data": [lead()]}) as resp:
        assert resp.status == 401
    assert sandbox.imported == []
