"""The OviPro sandbox's synthetic data: shape (spec §5.1, §5.2, §9), realism, consistency."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig
from leadkit.systems.ovipro.sandbox.handlers import STATE
from leadkit.systems.ovipro.sandbox.params import ListQuery
from leadkit.systems.ovipro.sandbox.simulator import make_app
from leadkit.systems.ovipro.sandbox.vocab import POSTAL_AREAS

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
PHONE = re.compile(r"\+358(4[0-9]|50)[0-9]{7}|\+3589[0-9]{7}")
EMAIL = re.compile(r"[a-z0-9.]+@[a-z0-9.-]+\.[a-z]{2,}")
POSTCODE = re.compile(r"[0-9]{5}")
TIME = re.compile(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z")
STREET = re.compile(r"[A-ZÄÖÅ][\w .-]+ [0-9]{1,3}")
FRIENDLY = re.compile(r"D[0-9]{5,6}|[0-9]{6}")
AREAS = {(a.postcode, a.name) for a in POSTAL_AREAS}

INCOMING_KEYS = ["leadId", "leadStatusCode", "leadActionCodes", "lead", "assignmentTime",
                 "decisionTime", "creationTime", "modificationTime"]  # fmt: skip
LEAD_KEYS = ["leadTypeCode", "leadSourceTypeCode", "agencyOfficeId", "agentId", "realty",
             "message", "additionalNote", "customer", "recipient",
             "supplierAssignedIdentifiers", "tags"]  # fmt: skip

Lead = dict[str, Any]


@pytest.fixture(scope="module")
def leads() -> list[Lead]:
    """2,000 incoming leads of the default configuration (seed 0)."""
    return _dataset(OviProSandboxConfig(leads=2000, outgoing_leads=300))[0]


@pytest.fixture(scope="module")
def outgoing() -> list[Lead]:
    """300 outgoing leads of the default configuration (seed 0)."""
    return _dataset(OviProSandboxConfig(leads=2000, outgoing_leads=300))[1]


def _dataset(config: OviProSandboxConfig) -> tuple[list[Lead], list[Lead]]:
    store = make_app(config)[STATE].store
    return [r.item for r in store.incoming.values()], [r.item for r in store.outgoing.values()]


def _subsequence(keys: list[str], order: list[str]) -> bool:
    return keys == [k for k in order if k in keys]


def test_incoming_leads_have_every_documented_field_in_order(leads: list[Lead]) -> None:
    for lead in leads:
        assert _subsequence(list(lead), INCOMING_KEYS)
        assert {"leadId", "leadStatusCode", "leadActionCodes", "lead", "creationTime",
                "modificationTime"} <= set(lead)  # fmt: skip
        inner = lead["lead"]
        assert _subsequence(list(inner), LEAD_KEYS)
        assert set(LEAD_KEYS) - set(inner) <= {"agentId", "realty"}
        assert list(inner["customer"]) == ["firstName", "lastName", "emailAddress",
                                           "phoneNumber", "partyId"]  # fmt: skip
        assert list(inner["recipient"]) == ["name", "emailAddress", "agencyOfficeId"]
        if "realty" in inner:
            assert list(inner["realty"]) == ["friendlyId", "address"]
            assert list(inner["realty"]["address"]) == [
                "streetAddress",
                "stairwell",
                "apartmentNumber",
                "postcode",
                "postalArea",
            ]
        for entry in inner["supplierAssignedIdentifiers"]:
            assert list(entry) == ["schemeId", "supplierAssignedId"]


def test_outgoing_leads_have_every_documented_field(outgoing: list[Lead]) -> None:
    for lead in outgoing:
        assert list(lead) == ["leadId", "lead", "customer", "sender", "creationTime"]
        assert list(lead["lead"]) == ["languageCode", "subject", "message", "additionalNote",
                                      "realty", "documents"]  # fmt: skip
        assert list(lead["customer"]) == ["firstName", "lastName", "emailAddress", "partyId"]
        assert list(lead["sender"]) == ["firstName", "lastName", "emailAddress", "phoneNumber",
                                        "agencyOfficeId", "agentId"]  # fmt: skip
        assert UUID.fullmatch(lead["lead"]["realty"]["realtyId"])
        assert FRIENDLY.fullmatch(lead["lead"]["realty"]["friendlyId"])
        assert lead["lead"]["languageCode"] in ("fi", "sv", "en")
        assert PHONE.fullmatch(lead["sender"]["phoneNumber"])
        assert TIME.fullmatch(lead["creationTime"])
        for doc in lead["lead"]["documents"]:
            assert UUID.fullmatch(doc["documentId"])
            assert doc["documentTypeCode"] in ("BROCHURE", "TITLE_CERTIFICATE")


def _ids(lead: Lead) -> Iterator[str]:
    inner = lead["lead"]
    yield lead["leadId"]
    yield inner["agencyOfficeId"]
    yield inner["customer"]["partyId"]
    yield inner["recipient"]["agencyOfficeId"]
    if "agentId" in inner:
        yield inner["agentId"]


def test_ids_are_unique_lowercase_uuids(leads: list[Lead], outgoing: list[Lead]) -> None:
    for lead in leads:
        for value in _ids(lead):
            assert UUID.fullmatch(value), value
    for lead in outgoing:
        for value in (lead["leadId"], lead["customer"]["partyId"], lead["sender"]["agentId"],
                      lead["sender"]["agencyOfficeId"]):  # fmt: skip
            assert UUID.fullmatch(value), value
    every = [x["leadId"] for x in leads] + [x["leadId"] for x in outgoing]
    assert len(set(every)) == len(every)
    assert len({x["lead"]["agencyOfficeId"] for x in leads}) == 6


def test_finnish_contact_details(leads: list[Lead]) -> None:
    names = " ".join(f"{x['lead']['customer']['firstName']} {x['lead']['customer']['lastName']}"
                     for x in leads)  # fmt: skip
    for letter in "äöÄÖÅ":
        assert letter in names, letter
    for lead in leads:
        customer = lead["lead"]["customer"]
        assert PHONE.fullmatch(customer["phoneNumber"]), customer["phoneNumber"]
        assert customer["emailAddress"] == "" or EMAIL.fullmatch(customer["emailAddress"])
        assert customer["firstName"]
        assert customer["lastName"]


def test_finnish_addresses(leads: list[Lead]) -> None:
    realties = [x["lead"]["realty"] for x in leads if "realty" in x["lead"]]
    assert 0.6 < len(realties) / len(leads) < 0.8
    houses = 0
    for realty in realties:
        address = realty["address"]
        assert FRIENDLY.fullmatch(realty["friendlyId"])
        assert STREET.fullmatch(address["streetAddress"]), address["streetAddress"]
        assert POSTCODE.fullmatch(address["postcode"])
        assert (address["postcode"], address["postalArea"]) in AREAS
        if address["stairwell"] == "":
            assert address["apartmentNumber"] == ""
            houses += 1
        else:
            assert re.fullmatch(r"[A-F]", address["stairwell"])
            assert re.fullmatch(r"[1-9][0-9]?", address["apartmentNumber"])
    assert 0 < houses < len(realties)
    assert {r["address"]["postalArea"] for r in realties} >= {"Helsinki", "Tampere", "Turku"}


def test_status_history_is_consistent(leads: list[Lead]) -> None:
    statuses = Counter(x["leadStatusCode"] for x in leads)
    assert set(statuses) == {"NEW", "IN_PROGRESS", "APPROVED", "REJECTED"}
    for lead in leads:
        status, inner = lead["leadStatusCode"], lead["lead"]
        times = [lead[k] for k in ("creationTime", "assignmentTime", "decisionTime") if k in lead]
        assert all(TIME.fullmatch(t) for t in [*times, lead["modificationTime"]])
        assert ("agentId" in inner) == ("assignmentTime" in lead)
        if status == "NEW":
            assert "assignmentTime" not in lead
            assert "decisionTime" not in lead
            assert lead["leadActionCodes"] == []
        elif status == "IN_PROGRESS":
            assert "assignmentTime" in lead
            assert "decisionTime" not in lead
        else:
            assert "decisionTime" in lead
        assert times == sorted(times)
        assert lead["modificationTime"] >= max(times)


def test_stale_modification_times_on_request_q9() -> None:
    leads, _ = _dataset(OviProSandboxConfig(leads=300, stale_modification_rate=1.0))
    decided = [x for x in leads if "decisionTime" in x]
    assert decided
    assert all(x["modificationTime"] < x["decisionTime"] for x in decided)


def test_empty_strings_come_at_the_configured_rate(leads: list[Lead]) -> None:
    share = sum(x["lead"]["message"] == "" for x in leads) / len(leads)
    assert 0.06 < share < 0.14
    none, _ = _dataset(OviProSandboxConfig(leads=300, outgoing_leads=50, empty_string_rate=0.0))
    assert all(x["lead"]["message"] and x["lead"]["customer"]["emailAddress"] for x in none)
    everything, out = _dataset(OviProSandboxConfig(leads=50, outgoing_leads=10,
                                                   empty_string_rate=1.0))  # fmt: skip
    for lead in everything:
        inner = lead["lead"]
        assert inner["message"] == inner["additionalNote"] == inner["customer"]["emailAddress"]
        assert inner["recipient"]["emailAddress"] == ""
    assert all(x["customer"]["emailAddress"] == x["sender"]["emailAddress"] == "" for x in out)


def test_vocabularies_are_configurable() -> None:
    config = OviProSandboxConfig(
        leads=200, outgoing_leads=20, lead_type_codes=("RENTAL",),
        lead_source_type_codes=("BANK", "PARTNER_X"), action_codes=("SOITTO",),
        document_type_codes=("FLOOR_PLAN",), offices=2,
    )  # fmt: skip
    leads, outgoing = _dataset(config)
    assert {x["lead"]["leadTypeCode"] for x in leads} == {"RENTAL"}
    assert {x["lead"]["leadSourceTypeCode"] for x in leads} == {"BANK", "PARTNER_X"}
    assert {c for x in leads for c in x["leadActionCodes"]} == {"SOITTO"}
    assert {d["documentTypeCode"] for x in outgoing for d in x["lead"]["documents"]} == {
        "FLOOR_PLAN"
    }
    assert len({x["lead"]["agencyOfficeId"] for x in leads}) == 2


def test_same_seed_same_data() -> None:
    config = OviProSandboxConfig(leads=100, outgoing_leads=20, seed=5)
    assert _dataset(config) == _dataset(config)
    other = _dataset(OviProSandboxConfig(leads=100, outgoing_leads=20, seed=6))
    assert other != _dataset(config)


async def test_fifty_thousand_leads_start_in_seconds_and_pages_serve_in_milliseconds() -> None:
    started = time.perf_counter()
    async with OviProSandbox(OviProSandboxConfig(leads=50_000, outgoing_leads=0)) as sb:
        generation = time.perf_counter() - started
        store, offices = sb.store, frozenset(sb.office_ids)
        query = ListQuery(sort=(("creationTime", False),), size=100)
        store.select("incoming", query, offices)  # the first page sorts once
        started = time.perf_counter()
        for start in range(0, 50_000, 5_000):
            rows = store.select("incoming", query, offices)[start : start + 100]
            body = b",".join(r.json for r in rows)
        per_page = (time.perf_counter() - started) / 10
    assert len(body) > 100 * 500
    assert generation < 15, f"50,000 leads took {generation:.1f}s"  # ~1-2 s on a quiet machine
    assert per_page < 0.02, f"a 100-lead page took {per_page * 1000:.1f} ms"
