"""The OviPro sandbox's write endpoints (spec §6, §7, §9, Q10, Q11, Q15) over real sockets."""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import Any

import orjson
import pytest

from leadkit.systems.ovipro.sandbox import OviProAccount, OviProSandbox
from leadkit.systems.ovipro.sandbox.params import UUID_PATTERN
from tests.systems.ovipro.conftest import Api, Lead

SEED_OFFICE = "7bdffe48-0077-4de0-acd4-d9b9b1ab49f8"  # the documentation's office id
ABSENT = "9031d1c5-7d40-41dd-b2b8-7919a2fc4fe9"

# The documentation's Create lead example (the seed), with its office id.
CREATE_EXAMPLE: dict[str, Any] = {
    "lead": {
        "leadTypeCode": "SELLER_REFERRAL",
        "leadSourceTypeCode": "BANK",
        "agencyOfficeId": SEED_OFFICE,
        "realty": {
            "friendlyId": "123456",
            "address": {"streetAddress": "Katu 1", "stairwell": "A", "apartmentNumber": "1",
                        "postcode": "00100", "postalArea": "Helsinki"},
        },
        "message": "Haluan lisätietoja asunnosta",
        "additionalNote": "Yhteydenotto mieluiten aamuisin ennen klo 10.",
        "customer": {"firstName": "Teemu", "lastName": "Virtanen", "emailAddress": "",
                     "phoneNumber": "+358501234567",
                     "partyId": "62701576-2621-4a27-8d2b-63cea492abb6"},
        "recipient": {"name": "Kiinteistöykkönen Oy", "emailAddress": "",
                      "agencyOfficeId": "6ad770c0-8495-4564-a05d-f72e06af36ba"},
        "supplierAssignedIdentifiers": [{"schemeId": "realtorSystemLeadId",
                                         "supplierAssignedId": "abcd"}],
        "tags": ["Kesäkampanja 2024", "Toimistoyhteydenotto"],
    }
}  # fmt: skip

# The Create marketplace lead example: nested office, no source, no party, no recipient office.
MARKETPLACE_EXAMPLE: dict[str, Any] = {
    "lead": {
        "leadTypeCode": "SELLER_REFERRAL",
        "agencyOffice": {"agencyOfficeId": SEED_OFFICE},
        "realty": CREATE_EXAMPLE["lead"]["realty"],
        "message": "Haluan lisätietoja asunnosta",
        "additionalNote": "Yhteydenotto mieluiten aamuisin ennen klo 10.",
        "customer": {"firstName": "Teemu", "lastName": "Virtanen", "emailAddress": "",
                     "phoneNumber": "+358501234567"},
        "recipient": {"name": "Kiinteistöykkönen Oy", "emailAddress": ""},
        "supplierAssignedIdentifiers": [{"schemeId": "realtorSystemLeadId",
                                         "supplierAssignedId": "abcd"}],
        "tags": ["Kesäkampanja 2024", "Toimistoyhteydenotto"],
    }
}  # fmt: skip

# The Create outgoing lead example.
OUTGOING_EXAMPLE: dict[str, Any] = {
    "lead": {
        "languageCode": "fi",
        "subject": "Muista hakea lainaa ajoissa",
        "message": "Haluan lisätietoja asunnosta",
        "additionalNote": "Yhteydenotto mieluiten aamulla ennen klo 10.",
        "realty": {"realtyId": "9fd9124c-e6c1-4368-9f17-6938f0e2f524", "friendlyId": "D66927"},
        "documents": [{"documentId": "7634091f-a637-4a9b-be75-ba008e221d31",
                       "documentTypeCode": "BROCHURE"}],
    },
    "customer": {"partyId": "62701576-2621-4a27-8d2b-63cea492abb6"},
    "sender": {"agencyOfficeId": SEED_OFFICE},
}  # fmt: skip


def with_ids(sb: OviProSandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the documentation's ids replaced by ones the sandbox knows."""
    office, other = sb.office_ids[:2]
    party = sb.leads()[0]["lead"]["customer"]["partyId"]
    text = orjson.dumps(body).decode()
    for old, new in ((SEED_OFFICE, office), ("6ad770c0-8495-4564-a05d-f72e06af36ba", other),
                     ("62701576-2621-4a27-8d2b-63cea492abb6", party)):  # fmt: skip
        text = text.replace(old, new)
    out: dict[str, Any] = orjson.loads(text)
    return out


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def created_lead(api: Api, sb: OviProSandbox, body: dict[str, Any] | None = None) -> Lead:
    """POST a lead (default: the documentation's example) and return it as listed."""
    reply = await api.call("POST", sb.leads_url, json=body or with_ids(sb, CREATE_EXAMPLE))
    assert reply.status == 201, reply.body
    lead_id = reply.body["leadId"]
    listed = await api.leads(f"leadId={lead_id}")
    [lead] = listed.body["leads"]
    return dict(lead)


# --- POST /leads (spec §6) ---------------------------------------------------------------


async def test_create_lead_from_the_documented_example(api: Api, sandbox: OviProSandbox) -> None:
    body = with_ids(sandbox, CREATE_EXAMPLE)
    before = int(time.time())
    reply = await api.call("POST", sandbox.leads_url, json=body)
    assert reply.status == 201
    assert list(reply.body) == ["leadId"]
    lead_id = reply.body["leadId"]
    assert UUID_PATTERN.fullmatch(lead_id)
    [lead] = (await api.leads(f"leadId={lead_id}")).body["leads"]
    assert list(lead) == ["leadId", "leadStatusCode", "leadActionCodes", "lead", "creationTime",
                          "modificationTime"]  # fmt: skip
    assert (lead["leadStatusCode"], lead["leadActionCodes"]) == ("NEW", [])
    assert lead["creationTime"] == lead["modificationTime"]
    assert before <= stamp(lead["creationTime"]) <= time.time()
    assert lead["lead"] == body["lead"]
    assert (await api.leads("size=1")).body["totalCount"] == 301
    [created] = sandbox.created
    assert (created.endpoint, created.lead_id, created.body) == ("leads", lead_id, body)
    [post] = [r for r in sandbox.requests if r.method == "POST" and r.path.endswith("/leads")]
    assert (created.request_id, post.status) == (post.request_id, 201)


async def test_defaults_fill_what_the_body_leaves_out(api: Api, sandbox: OviProSandbox) -> None:
    office = sandbox.world.offices[0]
    body = {"lead": {"leadTypeCode": "BUYER_REFERRAL", "leadSourceTypeCode": "ETUOVI",
                     "agencyOfficeId": office.office_id,
                     "customer": {"emailAddress": "aino.aalto@example.fi"}}}  # fmt: skip
    lead = (await created_lead(api, sandbox, body))["lead"]
    assert "realty" not in lead
    assert (lead["message"], lead["additionalNote"], lead["tags"]) == ("", "", [])
    assert lead["supplierAssignedIdentifiers"] == []
    assert lead["customer"]["phoneNumber"] == ""
    assert UUID_PATTERN.fullmatch(lead["customer"]["partyId"])
    assert lead["recipient"] == {"name": office.name, "emailAddress": office.email_address,
                                 "agencyOfficeId": office.office_id}  # fmt: skip


async def test_creates_are_not_deduplicated(api: Api, sandbox: OviProSandbox) -> None:
    body = with_ids(sandbox, CREATE_EXAMPLE)
    first = await api.call("POST", sandbox.leads_url, json=body)
    second = await api.call("POST", sandbox.leads_url, json=body)
    assert first.body["leadId"] != second.body["leadId"]
    theirs = [
        x["leadId"] for x in sandbox.leads()
        if x["lead"]["supplierAssignedIdentifiers"] == body["lead"]["supplierAssignedIdentifiers"]
        and x["lead"]["message"] == body["lead"]["message"] and x["leadStatusCode"] == "NEW"
        and x["lead"]["tags"] == body["lead"]["tags"]
    ]  # fmt: skip
    assert {first.body["leadId"], second.body["leadId"]} <= set(theirs)
    assert [c.lead_id for c in sandbox.created] == [first.body["leadId"], second.body["leadId"]]


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


def _setting(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


BAD_CREATES: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ("no-lead", lambda b: {}, [("lead", "VALUE_REQUIRED")]),
    ("lead-string", lambda b: {"lead": "x"}, [("lead", "INVALID_TYPE")]),
    ("array-body", lambda b: [b], [("body", "INVALID_TYPE")]),
    ("no-type", lambda b: _without(b, "lead", "leadTypeCode"),
     [("lead.leadTypeCode", "VALUE_REQUIRED")]),
    ("no-source", lambda b: _without(b, "lead", "leadSourceTypeCode"),
     [("lead.leadSourceTypeCode", "VALUE_REQUIRED")]),
    ("no-office", lambda b: _without(b, "lead", "agencyOfficeId"),
     [("lead.agencyOfficeId", "VALUE_REQUIRED")]),
    ("office-not-uuid", lambda b: _setting(b, "7BDFFE48", "lead", "agencyOfficeId"),
     [("lead.agencyOfficeId", "INVALID_TYPE")]),
    ("unknown-office", lambda b: _setting(b, ABSENT, "lead", "agencyOfficeId"),
     [("lead.agencyOfficeId", "INVALID_ID")]),
    ("no-customer", lambda b: _without(b, "lead", "customer"),
     [("lead.customer", "VALUE_REQUIRED")]),
    ("no-contact", lambda b: _setting(b, "", "lead", "customer", "phoneNumber"),
     [("lead.customer.emailAddress", "VALUE_REQUIRED")]),
    ("bad-phone", lambda b: _setting(b, "050 123 4567", "lead", "customer", "phoneNumber"),
     [("lead.customer.phoneNumber", "INVALID_TYPE")]),
    ("bad-email", lambda b: _setting(b, "teemu at example", "lead", "customer", "emailAddress"),
     [("lead.customer.emailAddress", "INVALID_TYPE")]),
    ("bad-party", lambda b: _setting(b, "p-1", "lead", "customer", "partyId"),
     [("lead.customer.partyId", "INVALID_TYPE")]),
    ("tags-not-strings", lambda b: _setting(b, [1, 2], "lead", "tags"),
     [("lead.tags", "INVALID_TYPE")]),
    ("message-number", lambda b: _setting(b, 5, "lead", "message"),
     [("lead.message", "INVALID_TYPE")]),
    ("identifier-incomplete", lambda b: _setting(b, [{"schemeId": "x"}], "lead",
                                                 "supplierAssignedIdentifiers"),
     [("lead.supplierAssignedIdentifiers[0].supplierAssignedId", "VALUE_REQUIRED")]),
    ("nested-office-q10", lambda b: _setting(
        _without(b, "lead", "agencyOfficeId"), {"agencyOfficeId": SEED_OFFICE}, "lead",
        "agencyOffice"),
     [("lead.agencyOffice", "INVALID_TYPE"), ("lead.agencyOfficeId", "VALUE_REQUIRED")]),
    ("several", lambda b: _setting(_without(b, "lead", "leadTypeCode"), 3, "lead",
                                   "additionalNote"),
     [("lead.leadTypeCode", "VALUE_REQUIRED"), ("lead.additionalNote", "INVALID_TYPE")]),
]  # fmt: skip


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in BAD_CREATES],
                         ids=[c[0] for c in BAD_CREATES])  # fmt: skip
async def test_bad_create_bodies_are_400_bad_request_body(
    api: Api, sandbox: OviProSandbox, make: Any, expected: list[tuple[str, str]]
) -> None:
    reply = await api.call("POST", sandbox.leads_url, json=make(with_ids(sandbox, CREATE_EXAMPLE)))
    assert reply.status == 400, reply.body
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert reply.body["message"] == "Invalid request body with e.g. missing mandatory fields."
    assert [(e["target"], e["errorCode"]) for e in reply.body["errors"]] == expected
    assert sandbox.created == []
    assert len(sandbox.leads()) == 300


# --- POST /marketplaces/{code}/leads (spec §6, Q10) --------------------------------------


async def test_create_marketplace_lead_from_the_documented_example(
    api: Api, sandbox: OviProSandbox
) -> None:
    body = with_ids(sandbox, MARKETPLACE_EXAMPLE)
    office = sandbox.world.offices[0]
    reply = await api.call("POST", sandbox.marketplace_url("ETUOVI"), json=body)
    assert reply.status == 201, reply.body
    lead = sandbox.lead(reply.body["leadId"])
    assert lead is not None
    inner = lead["lead"]
    assert inner["leadSourceTypeCode"] == "ETUOVI"
    assert inner["agencyOfficeId"] == office.office_id
    assert "agencyOffice" not in inner
    assert inner["recipient"] == {"name": "Kiinteistöykkönen Oy", "emailAddress": "",
                                  "agencyOfficeId": office.office_id}  # fmt: skip
    assert UUID_PATTERN.fullmatch(inner["customer"]["partyId"])
    assert inner["customer"]["phoneNumber"] == "+358501234567"
    assert inner["supplierAssignedIdentifiers"] == body["lead"]["supplierAssignedIdentifiers"]
    [created] = sandbox.created
    assert (created.endpoint, created.marketplace) == ("marketplace", "ETUOVI")


async def test_marketplace_body_with_a_flat_office_is_400_q10(
    api: Api, sandbox: OviProSandbox
) -> None:
    flat = with_ids(sandbox, CREATE_EXAMPLE)  # the POST /leads shape
    reply = await api.call("POST", sandbox.marketplace_url("OIKOTIE"), json=flat)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert [(e["target"], e["errorCode"]) for e in reply.body["errors"]] == [
        ("lead.agencyOfficeId", "INVALID_TYPE"),
        ("lead.agencyOffice", "VALUE_REQUIRED"),
    ]
    assert "lead.agencyOffice.agencyOfficeId" in reply.body["errors"][0]["message"]


async def test_marketplace_code_and_permission(api: Api, sandbox: OviProSandbox) -> None:
    body = with_ids(sandbox, MARKETPLACE_EXAMPLE)
    reply = await api.call("POST", sandbox.marketplace_url("BANK"), json=body)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_PARAMETERS"
    assert reply.body["errors"][0]["target"] == "marketplaceCode"
    account = OviProAccount("kl.toimitilat", "pw", marketplaces=("KL_TOIMITILAT",))
    sandbox.configure(accounts=(*sandbox.config.accounts, account))
    token = await api.token("kl.toimitilat", "pw")
    url = sandbox.marketplace_url("ETUOVI")
    reply = await api.call("POST", url, json=body, auth=token)
    assert (reply.status, reply.body) == (401, {
        "errorCode": "UNAUTHORIZED", "message": "Unauthorized request.",
        "description": "the token has no permission to create ETUOVI marketplace leads",
    })  # fmt: skip
    reply = await api.call("POST", sandbox.marketplace_url("KL_TOIMITILAT"), json=body, auth=token)
    assert reply.status == 201


# --- POST /outgoingLeads (spec §9, Q11) --------------------------------------------------


async def test_create_outgoing_lead_from_the_documented_example(
    api: Api, sandbox: OviProSandbox
) -> None:
    body = with_ids(sandbox, OUTGOING_EXAMPLE)
    reply = await api.call("POST", sandbox.outgoing_url, json=body)
    assert reply.status == 201, reply.body
    lead_id = reply.body["leadId"]
    [item] = (await api.outgoing(f"leadId={lead_id}")).body["leads"]
    assert list(item) == ["leadId", "lead", "customer", "sender", "creationTime"]
    assert item["lead"] == body["lead"]
    party = sandbox.world.parties[body["customer"]["partyId"]]
    assert item["customer"] == {"firstName": party.first_name, "lastName": party.last_name,
                                "emailAddress": party.email_address,
                                "partyId": party.party_id}  # fmt: skip
    agent = sandbox.world.offices[0].agents[0]
    assert item["sender"] == {
        "firstName": agent.first_name, "lastName": agent.last_name,
        "emailAddress": agent.email_address, "phoneNumber": agent.phone_number,
        "agencyOfficeId": agent.office_id, "agentId": agent.agent_id,
    }  # fmt: skip
    assert sandbox.created[0].endpoint == "outgoing"
    assert len(sandbox.outgoing_leads()) == 61


async def test_outgoing_customer_and_sender_may_sit_inside_lead_q11(
    api: Api, sandbox: OviProSandbox
) -> None:
    body = with_ids(sandbox, OUTGOING_EXAMPLE)
    agent = sandbox.world.offices[0].agents[2]
    nested = {"lead": {**body["lead"], "customer": body["customer"],
                       "sender": {**body["sender"], "agentId": agent.agent_id}}}  # fmt: skip
    reply = await api.call("POST", sandbox.outgoing_url, json=nested)
    assert reply.status == 201, reply.body
    [item] = (await api.outgoing(f"leadId={reply.body['leadId']}")).body["leads"]
    assert item["sender"]["agentId"] == agent.agent_id
    assert "customer" not in item["lead"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: _without(b, "sender"), [("sender", "VALUE_REQUIRED")]),
        (lambda b: _without(b, "customer"), [("customer", "VALUE_REQUIRED")]),
        (lambda b: _setting(b, ABSENT, "customer", "partyId"), [("customer.partyId", "INVALID_ID")]),  # noqa: E501
        (lambda b: _setting(b, ABSENT, "sender", "agencyOfficeId"),
         [("sender.agencyOfficeId", "INVALID_ID")]),
        (lambda b: _setting(b, ABSENT, "sender", "agentId"), [("sender.agentId", "INVALID_ID")]),
        (lambda b: _setting(b, "FI", "lead", "languageCode"), [("lead.languageCode", "INVALID_TYPE")]),  # noqa: E501
        (lambda b: _without(b, "lead", "subject"), [("lead.subject", "VALUE_REQUIRED")]),
        (lambda b: _setting(b, {"friendlyId": "D1"}, "lead", "realty"),
         [("lead.realty.realtyId", "VALUE_REQUIRED")]),
        (lambda b: _setting(b, [{"documentId": "x"}], "lead", "documents"),
         [("lead.documents[0].documentId", "INVALID_TYPE"),
          ("lead.documents[0].documentTypeCode", "VALUE_REQUIRED")]),
    ],
    ids=["no-sender", "no-customer", "unknown-party", "unknown-office", "foreign-agent",
         "language", "no-subject", "realty-id", "documents"],
)  # fmt: skip
async def test_bad_outgoing_bodies_are_400(
    api: Api, sandbox: OviProSandbox, change: Any, expected: list[tuple[str, str]]
) -> None:
    body = change(with_ids(sandbox, OUTGOING_EXAMPLE))
    reply = await api.call("POST", sandbox.outgoing_url, json=body)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert [(e["target"], e["errorCode"]) for e in reply.body["errors"]] == expected


async def test_outgoing_sender_office_must_be_in_the_tokens_scope(
    api: Api, sandbox: OviProSandbox
) -> None:
    mine, other = sandbox.office_ids[:2]
    sandbox.configure(accounts=(*sandbox.config.accounts, OviProAccount("a", "b", offices=(mine,))))
    token = await api.token("a", "b")
    body = _setting(with_ids(sandbox, OUTGOING_EXAMPLE), other, "sender", "agencyOfficeId")
    reply = await api.call("POST", sandbox.outgoing_url, json=body, auth=token)
    assert reply.body["errors"][0]["target"] == "sender.agencyOfficeId"


# --- 415 and malformed JSON --------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["leads", "marketplace", "outgoing", "put", "patch"])
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_non_json_bodies_are_415(
    api: Api, sandbox: OviProSandbox, endpoint: str, content_type: str | None
) -> None:
    lead_id = sandbox.leads()[0]["leadId"]
    method, url = {
        "leads": ("POST", sandbox.leads_url),
        "marketplace": ("POST", sandbox.marketplace_url("ETUOVI")),
        "outgoing": ("POST", sandbox.outgoing_url),
        "put": ("PUT", f"{sandbox.leads_url}/{lead_id}"),
        "patch": ("PATCH", f"{sandbox.leads_url}/{lead_id}"),
    }[endpoint]
    headers = {"Content-Type": content_type} if content_type else {}
    reply = await api.call(method, url, data=b'{"lead": {}}' if content_type else None,
                           headers=headers)  # fmt: skip
    assert reply.status == 415
    assert reply.body["errorCode"] == "UNSUPPORTED_MEDIA_TYPE"
    assert reply.body["message"] == "Unsupported media type."


async def test_json_with_a_charset_is_json(api: Api, sandbox: OviProSandbox) -> None:
    data = orjson.dumps(with_ids(sandbox, CREATE_EXAMPLE))
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert (await api.call("POST", sandbox.leads_url, data=data, headers=headers)).status == 201


async def test_malformed_json_is_400_bad_request_body(api: Api, sandbox: OviProSandbox) -> None:
    headers = {"Content-Type": "application/json"}
    reply = await api.call("POST", sandbox.leads_url, data=b'{"lead": ', headers=headers)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    [entry] = reply.body["errors"]
    assert (entry["target"], entry["errorCode"]) == ("body", "INVALID_TYPE")


# --- PUT /leads/{id}: the status machine (spec §7) ---------------------------------------

STATUSES = ("NEW", "IN_PROGRESS", "APPROVED", "REJECTED")
ALLOWED = {("NEW", "IN_PROGRESS"), ("NEW", "APPROVED"), ("NEW", "REJECTED"),
           ("IN_PROGRESS", "APPROVED"), ("IN_PROGRESS", "REJECTED")}  # fmt: skip


async def _lead_in(api: Api, sb: OviProSandbox, status: str) -> Lead:
    lead = await created_lead(api, sb)
    if status != "NEW":
        sb.set_status(lead["leadId"], status)
    got = sb.lead(lead["leadId"])
    assert got is not None
    return got


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
async def test_status_machine(api: Api, sandbox: OviProSandbox, current: str, new: str) -> None:
    lead = await _lead_in(api, sandbox, current)
    url = f"{sandbox.leads_url}/{lead['leadId']}"
    agent = sandbox.world.offices[0].agents[1].agent_id
    reply = await api.call("PUT", url, json={"leadStatusCode": new, "lead": {"agentId": agent}})
    after = sandbox.lead(lead["leadId"])
    assert after is not None
    if (current, new) in ALLOWED or current == new:
        assert (reply.status, reply.body) == (200, {})
        assert after["leadStatusCode"] == new
        assert after["lead"]["agentId"] == agent
        assert ("decisionTime" in after) == (new in ("APPROVED", "REJECTED"))
        assert "assignmentTime" in after
        changed = current != new or lead["lead"].get("agentId") != agent
        assert (after["modificationTime"] > lead["modificationTime"]) == changed
    else:
        assert reply.status == 400
        description = f"leadStatusCode cannot change from {current!r} to {new!r}; "
        description += f"{current} is final" if current in ("APPROVED", "REJECTED") else (
            "allowed: APPROVED, REJECTED")  # fmt: skip
        assert reply.body == {
            "errorCode": "INVALID_STATUS",
            "message": "Unable to perform the request operation due to invalid state.",
            "description": description,
            "errors": [{"target": "leadStatusCode", "errorCode": "INVALID_STATUS",
                        "message": description}],
        }  # fmt: skip
        assert after == lead  # nothing changed


async def test_update_sets_times_and_fields(api: Api, sandbox: OviProSandbox) -> None:
    lead = await created_lead(api, sandbox)
    url = f"{sandbox.leads_url}/{lead['leadId']}"
    office = sandbox.office_ids[1]
    agent = sandbox.world.offices[1].agents[0].agent_id
    party = "62701576-2621-4a27-8d2b-63cea492abb6"
    body = {"leadStatusCode": "IN_PROGRESS", "leadActionCodes": ["CALLED"],
            "lead": {"agencyOfficeId": office, "agentId": agent, "additionalNote": "Soitettu.",
                     "customer": {"partyId": party}}}  # fmt: skip
    assert (await api.call("PUT", url, json=body)).status == 200
    after = sandbox.lead(lead["leadId"])
    assert after is not None
    assert list(after) == ["leadId", "leadStatusCode", "leadActionCodes", "lead",
                           "assignmentTime", "creationTime", "modificationTime"]  # fmt: skip
    assert after["leadActionCodes"] == ["CALLED"]
    inner = after["lead"]
    assert (inner["agencyOfficeId"], inner["agentId"]) == (office, agent)
    assert list(inner)[:4] == ["leadTypeCode", "leadSourceTypeCode", "agencyOfficeId", "agentId"]
    assert (inner["additionalNote"], inner["customer"]["partyId"]) == ("Soitettu.", party)
    assert after["modificationTime"] > lead["modificationTime"]
    assert after["assignmentTime"] >= lead["creationTime"]
    # The same body again changes nothing.
    assert (await api.call("PUT", url, json=body)).status == 200
    assert sandbox.lead(lead["leadId"]) == after
    # Approving sets decisionTime; modificationTime keeps moving forward.
    body = {"leadStatusCode": "APPROVED", "lead": {}}
    assert (await api.call("PATCH", url, json=body)).status == 200
    approved = sandbox.lead(lead["leadId"])
    assert approved is not None
    assert approved["modificationTime"] > after["modificationTime"]
    assert "decisionTime" in approved
    # The change shows on the list endpoint too (the cached order was dropped).
    listed = await api.leads(f"leadId={lead['leadId']}&leadStatusCode=APPROVED")
    assert listed.body["leads"] == [approved]


@pytest.mark.parametrize(
    ("lead_id", "description"),
    [(ABSENT, f"no lead with leadId={ABSENT!r}"), ("nope", "no lead with leadId='nope'"),
     (ABSENT.upper(), f"no lead with leadId={ABSENT.upper()!r}")],
    ids=["unknown", "malformed", "upper"],
)  # fmt: skip
async def test_update_unknown_lead_is_404_invalid_id(
    api: Api, sandbox: OviProSandbox, lead_id: str, description: str
) -> None:
    body = {"leadStatusCode": "APPROVED", "lead": {}}
    reply = await api.call("PUT", f"{sandbox.leads_url}/{lead_id}", json=body)
    assert (reply.status, reply.body) == (404, {
        "errorCode": "INVALID_ID", "message": "Missing or invalid identifier.",
        "description": description,
    })  # fmt: skip


async def test_update_outside_the_tokens_offices_is_404(api: Api, sandbox: OviProSandbox) -> None:
    mine, other = sandbox.office_ids[:2]
    sandbox.configure(accounts=(*sandbox.config.accounts, OviProAccount("a", "b", offices=(mine,))))
    token = await api.token("a", "b")
    theirs = next(x for x in sandbox.leads() if x["lead"]["agencyOfficeId"] == other)
    body = {"leadStatusCode": theirs["leadStatusCode"], "lead": {}}
    reply = await api.call("PUT", f"{sandbox.leads_url}/{theirs['leadId']}", json=body, auth=token)
    assert (reply.status, reply.body["errorCode"]) == (404, "INVALID_ID")


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("PUT", {"lead": {}}, [("leadStatusCode", "VALUE_REQUIRED")]),
        ("PUT", {"leadStatusCode": "NEW"}, [("lead", "VALUE_REQUIRED")]),
        ("PUT", {"leadStatusCode": "DONE", "lead": {}}, [("leadStatusCode", "INVALID_TYPE")]),
        ("PUT", {"leadStatusCode": "NEW", "lead": {"agentId": "A"}}, [("lead.agentId", "INVALID_TYPE")]),  # noqa: E501
        ("PUT", {"leadStatusCode": "NEW", "lead": {"agencyOfficeId": ABSENT}},
         [("lead.agencyOfficeId", "INVALID_ID")]),
        ("PUT", {"leadStatusCode": "NEW", "leadActionCodes": "CALLED", "lead": {}},
         [("leadActionCodes", "INVALID_TYPE")]),
        ("PATCH", {"leadStatusCode": 1}, [("leadStatusCode", "INVALID_TYPE")]),
    ],
)  # fmt: skip
async def test_bad_update_bodies_are_400(
    api: Api, sandbox: OviProSandbox, method: str, body: Any, expected: list[tuple[str, str]]
) -> None:
    lead = next(x for x in sandbox.leads() if x["leadStatusCode"] == "NEW")
    reply = await api.call(method, f"{sandbox.leads_url}/{lead['leadId']}", json=body)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert [(e["target"], e["errorCode"]) for e in reply.body["errors"]] == expected
    assert sandbox.lead(lead["leadId"]) == lead


async def test_patch_may_leave_fields_out(api: Api, sandbox: OviProSandbox) -> None:
    lead = next(x for x in sandbox.leads() if x["leadStatusCode"] == "NEW")
    url = f"{sandbox.leads_url}/{lead['leadId']}"
    assert (await api.call("PATCH", url, json={"lead": {"additionalNote": "Hei"}})).status == 200
    after = sandbox.lead(lead["leadId"])
    assert after is not None
    assert (after["leadStatusCode"], after["lead"]["additionalNote"]) == ("NEW", "Hei")


async def test_set_status_follows_the_machine(sandbox: OviProSandbox) -> None:
    lead = next(x for x in sandbox.leads() if x["leadStatusCode"] == "NEW")
    after = sandbox.set_status(lead["leadId"], "IN_PROGRESS")
    assert after["lead"]["agentId"] in {a.agent_id for o in sandbox.world.offices for a in o.agents}
    assert "assignmentTime" in after
    assert after["modificationTime"] > lead["modificationTime"]
    sandbox.set_status(lead["leadId"], "REJECTED")
    with pytest.raises(ValueError, match="REJECTED is final"):
        sandbox.set_status(lead["leadId"], "APPROVED")


async def test_only_a_first_agent_sets_assignment_time(api: Api, sandbox: OviProSandbox) -> None:
    """Spec §7: "Setting agentId first time sets assignmentTime" — a status change alone
    (NEW → IN_PROGRESS without an agent) does not."""
    lead = await created_lead(api, sandbox)
    url = f"{sandbox.leads_url}/{lead['leadId']}"
    body = {"leadStatusCode": "IN_PROGRESS", "lead": {"additionalNote": "Työn alla."}}
    assert (await api.call("PUT", url, json=body)).status == 200
    after = sandbox.lead(lead["leadId"])
    assert after is not None
    assert after["leadStatusCode"] == "IN_PROGRESS"
    assert "assignmentTime" not in after
    assert "agentId" not in after["lead"]
    agent = sandbox.world.offices[0].agents[0].agent_id
    body = {"leadStatusCode": "IN_PROGRESS", "lead": {"agentId": agent}}
    assert (await api.call("PUT", url, json=body)).status == 200
    assigned = sandbox.lead(lead["leadId"])
    assert assigned is not None
    assert "assignmentTime" in assigned
