"""The OviPro sandbox's list endpoints (spec §5, §9, Q2, Q13, Q14) over real sockets.

Expected results are computed independently, in plain Python over ``sb.leads()`` and
``sb.outgoing_leads()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from leadkit.systems.ovipro.sandbox import OviProAccount, OviProSandbox
from tests.systems.ovipro.conftest import Api, Lead

TOTAL = 300
STATUSES = "NEW, IN_PROGRESS, APPROVED, REJECTED"
ABSENT = "9031d1c5-7d40-41dd-b2b8-7919a2fc4fe9"  # a valid uuid no lead has


def ids(leads: list[Lead]) -> list[str]:
    return [lead["leadId"] for lead in leads]


def ordered(leads: list[Lead], *keys: tuple[Callable[[Lead], Any], bool]) -> list[str]:
    """Lead ids sorted by ``(value, descending)`` keys, then leadId; None is largest."""
    out = sorted(leads, key=lambda x: x["leadId"])
    for get, descending in reversed(keys):

        def key(lead: Lead, get: Callable[[Lead], Any] = get) -> tuple[bool, str]:
            value = get(lead)
            return (value is None, value or "")

        out.sort(key=key, reverse=descending)
    return ids(out)


def newest_first(leads: list[Lead]) -> list[str]:
    """The default order: creationTime descending, then leadId."""
    return ordered(leads, (lambda x: x["creationTime"], True))


# --- paging (spec §5) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "size"),
    [(None, None), (0, 100), (50, None), (250, 100), (299, 1), (299, 100), (300, 10),
     (1000, 5), (None, 1), (7, 13)],
)  # fmt: skip
async def test_paging_maths(
    api: Api, sandbox: OviProSandbox, start: int | None, size: int | None
) -> None:
    query = "&".join(
        f"{k}={v}" for k, v in (("startIndex", start), ("size", size)) if v is not None
    )
    reply = await api.leads(query)
    assert reply.status == 200
    assert list(reply.body) == ["totalCount", "leads"]
    assert reply.body["totalCount"] == TOTAL
    first, count = start or 0, size or 50
    assert ids(reply.body["leads"]) == newest_first(sandbox.leads())[first : first + count]


async def test_a_full_scan_returns_every_lead_once(api: Api, sandbox: OviProSandbox) -> None:
    served = await api.scan("sort=creationTime%7Casc")
    assert served == sandbox.leads()
    assert len({lead["leadId"] for lead in served}) == TOTAL
    pages = math.ceil(TOTAL / 100)
    assert sum(1 for r in sandbox.requests if r.path.endswith("/leads")) == pages


@pytest.mark.parametrize(
    ("query", "targets"),
    [
        ("size=0", ["size"]),
        ("size=101", ["size"]),
        ("size=-1", ["size"]),
        ("size=ten", ["size"]),
        ("size=", ["size"]),
        ("size=1.5", ["size"]),
        ("size=10&size=20", ["size"]),
        ("startIndex=-1", ["startIndex"]),
        ("startIndex=x", ["startIndex"]),
        ("startIndex=2147483648", ["startIndex"]),
        ("startIndex=-1&size=500&leadId=nope&sort=x", ["startIndex", "size", "leadId", "sort"]),
    ],
)
async def test_bad_paging_is_400_naming_every_parameter(
    api: Api, query: str, targets: list[str]
) -> None:
    reply = await api.leads(query)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_PARAMETERS"
    assert reply.body["message"] == "Invalid request parameters"
    assert [e["target"] for e in reply.body["errors"]] == targets
    assert all(e["errorCode"] == "INVALID_TYPE" and e["message"] for e in reply.body["errors"])


async def test_error_messages_show_the_value_and_the_rule(api: Api) -> None:
    reply = await api.leads("size=500&startIndex=-3")
    assert [e["message"] for e in reply.body["errors"]] == [
        "size='500' must be an integer 1..100",
        "startIndex='-3' must be an integer >= 0",
    ]


# --- filters (spec §5, Q14) --------------------------------------------------------------


def _pick_values(leads: list[Lead], get: Callable[[Lead], Any], n: int) -> list[str]:
    values: list[str] = []
    for lead in leads:
        value = get(lead)
        if value is not None and value not in values:
            values.append(value)
        if len(values) == n:
            break
    return values


FILTERS: dict[str, Callable[[Lead], Any]] = {
    "leadId": lambda x: x["leadId"],
    "agencyOfficeId": lambda x: x["lead"]["agencyOfficeId"],
    "leadStatusCode": lambda x: x["leadStatusCode"],
    "leadSourceTypeCode": lambda x: x["lead"]["leadSourceTypeCode"],
    "leadTypeCode": lambda x: x["lead"]["leadTypeCode"],
}
SINGLE_FILTERS: dict[str, Callable[[Lead], Any]] = {
    "agentId": lambda x: x["lead"].get("agentId"),
    "partyId": lambda x: x["lead"]["customer"]["partyId"],
    "realtyFriendlyId": lambda x: (x["lead"].get("realty") or {}).get("friendlyId"),
}


@pytest.mark.parametrize("name", list(FILTERS))
async def test_array_filters_take_repeated_keys_and_comma_lists(
    api: Api, sandbox: OviProSandbox, name: str
) -> None:
    leads = sandbox.leads()
    get = FILTERS[name]
    one, two = _pick_values(leads, get, 2)
    expected_one = newest_first([x for x in leads if get(x) == one])
    expected_two = newest_first([x for x in leads if get(x) in (one, two)])
    assert 0 < len(expected_one) < len(expected_two) < TOTAL or name == "leadTypeCode"
    for query, expected in (
        (f"{name}={one}", expected_one),
        (f"{name}={one}&{name}={two}", expected_two),
        (f"{name}={one},{two}", expected_two),
        (f"{name}={two}%2C{one}", expected_two),
        (f"{name}={one}&{name}={one}", expected_one),
    ):
        scanned = await api.scan(query)
        assert ids(scanned) == expected, query
        reply = await api.leads(query + "&size=1")
        assert reply.body["totalCount"] == len(expected)


@pytest.mark.parametrize("name", list(SINGLE_FILTERS))
async def test_single_filters(api: Api, sandbox: OviProSandbox, name: str) -> None:
    leads = sandbox.leads()
    get = SINGLE_FILTERS[name]
    [value] = _pick_values(leads, get, 1)
    expected = newest_first([x for x in leads if get(x) == value])
    assert ids(await api.scan(f"{name}={value}")) == expected
    reply = await api.leads(f"{name}={value}&{name}={value}")
    assert reply.status == 400
    assert reply.body["errors"][0] == {
        "target": name, "errorCode": "INVALID_TYPE", "message": f"{name} may be given once"
    }  # fmt: skip


async def test_filters_combine_with_and(api: Api, sandbox: OviProSandbox) -> None:
    leads = sandbox.leads()
    office = leads[0]["lead"]["agencyOfficeId"]
    expected = newest_first(
        [x for x in leads if x["lead"]["agencyOfficeId"] == office
         and x["leadStatusCode"] in ("APPROVED", "REJECTED")]
    )  # fmt: skip
    assert expected
    query = f"agencyOfficeId={office}&leadStatusCode=APPROVED,REJECTED"
    assert ids(await api.scan(query)) == expected


@pytest.mark.parametrize(
    "query",
    [f"leadId={ABSENT}", f"agentId={ABSENT}", f"partyId={ABSENT}", "realtyFriendlyId=D0",
     "leadSourceTypeCode=NO_SUCH_SOURCE", "leadTypeCode=DETAILS_ABOUT_THE_PROPERTY"],
)  # fmt: skip
async def test_no_match_is_an_empty_page(api: Api, query: str) -> None:
    reply = await api.leads(query)
    assert (reply.status, reply.body) == (200, {"totalCount": 0, "leads": []})


@pytest.mark.parametrize(
    ("query", "target", "message"),
    [
        ("leadId=NOPE", "leadId", "leadId='NOPE' is not a lowercase uuid"),
        (f"leadId={ABSENT.upper()}", "leadId", f"leadId={ABSENT.upper()!r} is not a lowercase uuid"),  # noqa: E501
        (f"leadId={ABSENT},", "leadId", "leadId='' is not a lowercase uuid"),
        ("agencyOfficeId=1", "agencyOfficeId", "agencyOfficeId='1' is not a lowercase uuid"),
        ("agentId=x", "agentId", "agentId='x' is not a lowercase uuid"),
        ("partyId=", "partyId", "partyId='' is not a lowercase uuid"),
        ("leadStatusCode=NEWW", "leadStatusCode",
         f"leadStatusCode='NEWW'; did you mean 'NEW'? Allowed: {STATUSES}"),
        ("leadStatusCode=new", "leadStatusCode",
         f"leadStatusCode='new'; did you mean 'NEW'? Allowed: {STATUSES}"),
        ("leadTypeCode=", "leadTypeCode", "leadTypeCode is empty"),
    ],
)  # fmt: skip
async def test_bad_filter_values_are_400(api: Api, query: str, target: str, message: str) -> None:
    reply = await api.leads(query)
    assert reply.status == 400
    assert reply.body["errors"] == [
        {"target": target, "errorCode": "INVALID_TYPE", "message": message}
    ]


async def test_unknown_parameters_are_ignored_unless_strict(
    api: Api, sandbox: OviProSandbox
) -> None:
    reply = await api.leads("offset=10&limit=5&realtyId=x")
    assert (reply.status, len(reply.body["leads"])) == (200, 50)
    sandbox.configure(strict_params=True)
    reply = await api.leads("offset=10&size=5")
    assert reply.status == 400
    [entry] = reply.body["errors"]
    assert entry["target"] == "offset"
    assert entry["message"].startswith("unknown parameter 'offset'")


# --- office scope (spec Q13) -------------------------------------------------------------


async def test_results_cover_only_the_tokens_offices(api: Api, sandbox: OviProSandbox) -> None:
    mine, other = sandbox.office_ids[:2]
    limited = OviProAccount("agent.meikalainen", "salasana", offices=(mine,), marketplaces=())
    sandbox.configure(accounts=(*sandbox.config.accounts, limited))
    token = await api.token("agent.meikalainen", "salasana")
    leads = sandbox.leads()
    own = newest_first([x for x in leads if x["lead"]["agencyOfficeId"] == mine])
    assert 0 < len(own) < TOTAL
    reply = await api.leads("size=100", auth=token)
    assert reply.body["totalCount"] == len(own)
    assert ids(reply.body["leads"]) == own[:100]
    # Asking for another office's leads is not an error: the page is empty.
    theirs = next(x["leadId"] for x in leads if x["lead"]["agencyOfficeId"] == other)
    for query in (f"agencyOfficeId={other}", f"leadId={theirs}"):
        reply = await api.leads(query, auth=token)
        assert (reply.status, reply.body) == (200, {"totalCount": 0, "leads": []})
    reply = await api.leads(f"agencyOfficeId={mine},{other}&size=1", auth=token)
    assert reply.body["totalCount"] == len(own)
    sent = [x for x in sandbox.outgoing_leads() if x["sender"]["agencyOfficeId"] == mine]
    reply = await api.outgoing("size=100", auth=token)
    assert ids(reply.body["leads"]) == newest_first(sent)


# --- sort (spec §5, Q2) ------------------------------------------------------------------


SORT_KEYS: dict[str, Callable[[Lead], Any]] = {
    "creationTime": lambda x: x["creationTime"],
    "modificationTime": lambda x: x["modificationTime"],
    "assignmentTime": lambda x: x.get("assignmentTime"),
    "decisionTime": lambda x: x.get("decisionTime"),
    "leadStatusCode": lambda x: x["leadStatusCode"],
}


@pytest.mark.parametrize("field", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_sort_by_each_field(
    api: Api, sandbox: OviProSandbox, field: str, direction: str
) -> None:
    expected = ordered(sandbox.leads(), (SORT_KEYS[field], direction == "desc"))
    assert ids(await api.scan(f"sort={field}|{direction}")) == expected


async def test_absent_times_sort_last_ascending_and_first_descending(
    api: Api, sandbox: OviProSandbox
) -> None:
    new = sum(1 for x in sandbox.leads() if x["leadStatusCode"] == "NEW")
    assert new
    asc = await api.scan("sort=decisionTime|asc")
    desc = await api.scan("sort=decisionTime|desc")
    assert all("decisionTime" not in x for x in asc[-new:])
    assert all("decisionTime" not in x for x in desc[:new])


async def test_multi_key_sort(api: Api, sandbox: OviProSandbox) -> None:
    leads = sandbox.leads()
    status, created = SORT_KEYS["leadStatusCode"], SORT_KEYS["creationTime"]
    expected = ordered(leads, (status, False), (created, True))
    assert ids(await api.scan("sort=leadStatusCode|asc&sort=creationTime|desc")) == expected
    assert ids(await api.scan("sort=leadStatusCode|asc,creationTime|desc")) == expected
    reversed_keys = ordered(leads, (created, True), (status, False))
    assert ids(await api.scan("sort=creationTime|desc&sort=leadStatusCode|asc")) == reversed_keys


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("validAfter|desc", "sort='validAfter|desc': unknown field 'validAfter'; Allowed: "
         "creationTime, modificationTime, assignmentTime, decisionTime, leadStatusCode"),
        ("createdAt|asc", "sort='createdAt|asc': unknown field 'createdAt'; did you mean "
         "'creationTime'? Allowed: creationTime, modificationTime, assignmentTime, "
         "decisionTime, leadStatusCode"),
        ("creationTime", "sort='creationTime' needs an order: use 'creationTime|asc' or "
         "'creationTime|desc'"),
        ("creationTime|ASC", "sort='creationTime|ASC' needs an order: use 'creationTime|asc' "
         "or 'creationTime|desc'"),
        ("creationTime|up", "sort='creationTime|up' needs an order: use 'creationTime|asc' or "
         "'creationTime|desc'"),
        ("-creationTime", "sort='-creationTime': unknown field '-creationTime'; did you mean "
         "'creationTime'? Allowed: creationTime, modificationTime, assignmentTime, "
         "decisionTime, leadStatusCode"),
        ("creationTime|asc,creationTime|desc",
         "sort='creationTime|desc': 'creationTime' is sorted on twice"),
        ("leadId|asc", "sort='leadId|asc': unknown field 'leadId'; did you mean 'leadStatusCode'? "
         "Allowed: creationTime, modificationTime, assignmentTime, decisionTime, leadStatusCode"),
    ],
)  # fmt: skip
async def test_bad_sort_is_400(api: Api, value: str, message: str) -> None:
    reply = await api.leads([("sort", value)])
    assert reply.status == 400
    assert reply.body["errors"] == [{"target": "sort", "errorCode": "INVALID_TYPE",
                                     "message": message}]  # fmt: skip


# --- outgoing leads (spec §9) ------------------------------------------------------------


async def test_outgoing_leads_page_and_equal_the_dataset(api: Api, sandbox: OviProSandbox) -> None:
    served = await api.scan("sort=creationTime|asc", kind="outgoing")
    assert served == sandbox.outgoing_leads()
    assert len(served) == 60
    reply = await api.outgoing("startIndex=50&size=20")
    assert reply.body["totalCount"] == 60
    assert ids(reply.body["leads"]) == newest_first(sandbox.outgoing_leads())[50:]
    reply = await api.outgoing("startIndex=60")
    assert reply.body == {"totalCount": 60, "leads": []}


OUTGOING_FILTERS: dict[str, Callable[[Lead], Any]] = {
    "leadId": lambda x: x["leadId"],
    "agencyOfficeId": lambda x: x["sender"]["agencyOfficeId"],
    "agentId": lambda x: x["sender"]["agentId"],
    "partyId": lambda x: x["customer"]["partyId"],
    "realtyId": lambda x: x["lead"]["realty"]["realtyId"],
}


@pytest.mark.parametrize("name", list(OUTGOING_FILTERS))
async def test_outgoing_filters(api: Api, sandbox: OviProSandbox, name: str) -> None:
    leads = sandbox.outgoing_leads()
    get = OUTGOING_FILTERS[name]
    [value] = _pick_values(leads, get, 1)
    expected = newest_first([x for x in leads if get(x) == value])
    assert ids(await api.scan(f"{name}={value}", kind="outgoing")) == expected
    reply = await api.outgoing(f"{name}=bad")
    assert (reply.status, reply.body["errors"][0]["target"]) == (400, name)


async def test_outgoing_sort_has_only_creation_time(api: Api, sandbox: OviProSandbox) -> None:
    expected = ordered(sandbox.outgoing_leads(), (SORT_KEYS["creationTime"], False))
    assert ids(await api.scan("sort=creationTime|asc", kind="outgoing")) == expected
    reply = await api.outgoing("sort=modificationTime|asc")
    assert reply.body["errors"][0]["message"] == (
        "sort='modificationTime|asc': unknown field 'modificationTime'; did you mean "
        "'creationTime'? Allowed: creationTime"
    )
    reply = await api.outgoing("leadStatusCode=NEW&size=1")  # not an outgoing filter: ignored
    assert (reply.status, reply.body["totalCount"]) == (200, 60)
