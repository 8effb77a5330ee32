"""The carehome sandbox over real HTTP: shapes, window semantics, filters, errors, faults."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from leadkit.systems.carehome.sandbox import QUIRKS, CarehomeSandbox, CarehomeSandboxConfig
from tests.systems.carehome.conftest import START, Api, SandboxFactory

TOP_KEYS = [
    "id", "category", "service", "to", "from", "date", "content", "enquirerFirstName",
    "enquirerSurname", "onBehalfOf", "residentFirstName", "residentSurname", "telephone",
    "isAnonymised", "funding", "timescales", "categorySpecificData",
]  # fmt: skip
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def ms(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_default_answer_is_a_bare_array_of_every_non_anonymised_lead(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    reply = await api.get()
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert isinstance(reply.body, list)
    assert [r["id"] for r in reply.body] == [r["id"] for r in sandbox.leads(anonymised=False)]
    assert len(reply.body) < len(sandbox.leads())  # some are anonymised
    # Python's json.dumps rendering, served byte for byte.
    assert reply.raw == ("[" + ", ".join(sandbox.raw(r["id"]) for r in reply.body) + "]").encode()


async def test_every_record_has_every_key_and_the_documented_formats(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    records = sandbox.leads()
    assert len({r["id"] for r in records}) == len(records)  # ids unique (Q6)
    for rec in records:
        assert list(rec) == TOP_KEYS
        assert DATE.match(rec["date"]), rec["date"]
        assert isinstance(rec["categorySpecificData"], dict)
        cat = rec["category"]["id"]
        keys = set(rec["categorySpecificData"])
        if cat in (2, 3):
            assert keys == {"visitDate", "visitTime", "instruction"}
        elif cat >= 6:
            assert {"instruction", "emailPermission", "phonePermission"} <= keys
            assert len(keys) == 6
            if cat in (7, 8):
                assert not rec["categorySpecificData"]["emailPermission"]
                assert not rec["categorySpecificData"]["phonePermission"]
        else:
            assert keys == {"instruction"}
    assert {r["category"]["id"] for r in records} == set(range(1, 9))


async def test_same_seed_same_data_other_seed_other_data(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(seed=3) as a, make_sandbox(seed=3) as b, make_sandbox(seed=4) as c:
        assert a.leads() == b.leads()
        assert a.leads() != c.leads()


async def test_quirks_are_all_present_in_the_configured_share(
    make_sandbox: SandboxFactory,
) -> None:
    async with make_sandbox(leads=1000, quirk_rate=0.3) as sb:
        counts = Counter(lead.quirk for lead in sb.dataset)
    assert set(QUIRKS) <= set(counts)
    assert 0.2 < (1000 - counts[None]) / 1000 < 0.4
    async with make_sandbox(leads=200, quirk_rate=0) as clean:
        assert all(lead.quirk is None for lead in clean.dataset)


async def test_quirk_values_are_exact_python_repr(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(leads=600, quirk_rate=0.5) as sb:
        by = {}
        for lead in sb.dataset:
            by.setdefault(lead.quirk, lead.record)
    assert by["comma_value"]["funding"] == "['Part Buy, Part Rent']"
    assert by["apostrophe_value"]["onBehalfOf"] == "['Family member', \"Friend's parent\"]"
    assert by["padding"]["service"]["name"].startswith(" ")
    assert by["padding"]["from"].endswith(" ")
    assert by["visit_time_text"]["categorySpecificData"]["visitTime"] == "We don't get this"
    assert "budgetMin" in by["camel_budget"]["categorySpecificData"]
    assert by["empty_names"]["enquirerFirstName"] == ""
    assert by["null_names"]["enquirerFirstName"] is None


@pytest.mark.parametrize("path", ["/api/leads/", "/api/leads"])
async def test_both_paths_serve(api: Api, path: str) -> None:
    assert (await api.get(path=path)).status == 200


async def test_envelope_knob(make_sandbox: SandboxFactory, http: aiohttp.ClientSession) -> None:
    async with make_sandbox(envelope=True) as sb:
        reply = await Api(http, sb).get()
    assert set(reply.body) == {"data", "error"}
    assert len(reply.body["data"]) == len(sb.leads(anonymised=False))


async def test_datetime_window_bounds_are_inclusive_at_millisecond_precision(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    on = START + timedelta(days=2)
    sandbox.add_leads(1, at=on)  # exactly 00:00:00.000
    sandbox.add_leads(1, at=on + timedelta(milliseconds=517))
    day1 = await api.get("dateTimeFrom=2024-03-02T00:00:00&dateTimeTo=2024-03-03T00:00:00")
    day2 = await api.get("dateTimeFrom=2024-03-03T00:00:00&dateTimeTo=2024-03-04T00:00:00")
    ids1 = {r["id"]: r["date"] for r in day1.body}
    ids2 = {r["id"]: r["date"] for r in day2.body}
    assert "2024-03-03T00:00:00.000Z" in ids1.values()
    assert "2024-03-03T00:00:00.000Z" in ids2.values()  # on the boundary: in both
    assert "2024-03-03T00:00:00.517Z" in ids2.values()
    assert "2024-03-03T00:00:00.517Z" not in ids1.values()
    for date in ids1.values():
        assert START + timedelta(days=1) <= ms(date) <= on


async def test_date_to_covers_the_whole_day_and_forms_combine(api: Api) -> None:
    day = await api.get("dateFrom=2024-03-04&dateTo=2024-03-04")
    assert day.body
    assert all(r["date"].startswith("2024-03-04") for r in day.body)
    both = await api.get("dateFrom=2024-03-04&dateTo=2024-03-04&dateTimeFrom=2024-03-04T12:00:00")
    assert both.body
    assert all(r["date"] >= "2024-03-04T12" for r in both.body)
    assert len(both.body) < len(day.body)


@pytest.mark.parametrize("flag", ["true", "True", "TRUE"])
async def test_is_anonymised_is_case_insensitive(
    api: Api, sandbox: CarehomeSandbox, flag: str
) -> None:
    reply = await api.get(f"isAnonymised={flag}")
    assert reply.body
    assert all(r["isAnonymised"] for r in reply.body)
    assert len(reply.body) == len(sandbox.leads(anonymised=True))
    assert (await api.get("isAnonymised=False")).body == sandbox.leads(anonymised=False)


async def test_category_and_service_filters(api: Api, sandbox: CarehomeSandbox) -> None:
    for cat in range(1, 9):
        reply = await api.get(f"categoryId={cat}")
        assert reply.body
        assert {r["category"]["id"] for r in reply.body} == {cat}
    service = sandbox.leads(anonymised=False)[0]["service"]["id"]
    reply = await api.get(f"serviceId={service}")
    assert reply.body
    assert {r["service"]["id"] for r in reply.body} == {service}
    assert (await api.get("serviceId=1")).body == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("dateFrom=2024-3-1", "Invalid dateFrom"),
        ("dateTo=yesterday", "Invalid dateTo"),
        ("dateTimeFrom=2024-03-01", "Invalid dateTimeFrom"),
        ("dateTimeTo=2024-03-01T25:00:00", "Invalid dateTimeTo"),
        ("isAnonymised=yes", "Invalid isAnonymised"),
        ("categoryId=9", "Invalid categoryId"),
        ("categoryId=1,2", "Invalid categoryId"),
        ("categoryId=1&categoryId=2", "Invalid categoryId"),  # repeated = a list (Q11)
        ("categoryId=%C2%B2", "Invalid categoryId"),  # "²" is no digit for the API
        ("serviceId=%D9%A1", "Invalid serviceId"),  # nor is an Arabic-Indic one
        ("dateFrom=%D9%A2%D9%A0%D9%A2%D9%A4-03-01", "Invalid dateFrom"),
        ("serviceId=abc", "Invalid serviceId"),
    ],
)
async def test_bad_parameters_are_500_with_the_documented_message(
    api: Api, query: str, message: str
) -> None:
    reply = await api.get(query)
    assert (reply.status, reply.body) == (500, {"message": message})


async def test_an_added_record_is_filtered_by_its_own_anonymised_flag(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    record = sandbox.leads(anonymised=False)[0]
    record.update(id=99_001, isAnonymised=True, date="2024-03-05T10:00:00.000Z")
    sandbox.add_record(record)
    window = "dateTimeFrom=2024-03-05T10:00:00&dateTimeTo=2024-03-05T10:00:00"
    assert [r["id"] for r in (await api.get(window + "&isAnonymised=true")).body] == [99_001]
    assert 99_001 not in [r["id"] for r in (await api.get(window)).body]


async def test_wrong_or_missing_key_is_500_invalid_api_key(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    assert (await api.get(key=False)).body == {"message": "Invalid API key"}
    reply = await api.get("api_key=" + "x" * 40, key=False)
    assert (reply.status, reply.body) == (500, {"message": "Invalid API key"})
    # The key is checked before the parameters, and never logged.
    assert (await api.get("categoryId=99", key=False)).body == {"message": "Invalid API key"}
    assert all("api_key" not in dict(r.params) for r in sandbox.requests)
    assert sandbox.api_key not in repr(sandbox.requests)


async def test_multi_category_knob(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(multi_category=True) as sb:
        reply = await Api(http, sb).get("categoryId=2,3")
    assert {r["category"]["id"] for r in reply.body} == {2, 3}


async def test_unknown_path_and_method_are_500(api: Api, http: aiohttp.ClientSession) -> None:
    assert (await api.get(path="/api/other/")).body == {"message": "Not found"}
    async with http.post(api.sb.leads_url) as resp:
        assert resp.status == 500
        assert json.loads(await resp.read()) == {"message": "Method not allowed"}


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("502", 502), ("503", 503)])
async def test_faults(api: Api, sandbox: CarehomeSandbox, kind: str, status: int) -> None:
    sandbox.configure(fault_rate=1.0, fault_kinds=(kind,))
    reply = await api.get()
    assert reply.status == status
    if kind == "500":
        assert reply.body == {"message": "Internal error"}


async def test_malformed_body_knob_gives_the_curly_quote_example(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    sandbox.configure(malformed_rate=1.0)
    reply = await api.get("dateFrom=2024-03-02&dateTo=2024-03-02")
    assert reply.status == 200
    assert reply.body is None
    assert '"onBehalfOf": “[' in reply.raw.decode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.raw)


async def test_large_windows_are_slow_or_refused(api: Api, sandbox: CarehomeSandbox) -> None:
    sandbox.configure(slow_over=100, slow_s=0.5)
    t0 = time.monotonic()
    assert (await api.get("dateFrom=2024-03-02&dateTo=2024-03-02")).status == 200
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    assert (await api.get()).status == 200
    assert time.monotonic() - t0 >= 0.5 > fast
    sandbox.configure(slow_over=None, max_results=100)
    reply = await api.get()
    assert reply.status == 500
    assert "Too many leads" in reply.body["message"]


async def test_config_and_runtime_knob_errors() -> None:
    with pytest.raises(ValueError, match="fault_kinds"):
        CarehomeSandboxConfig(fault_kinds=("404",))  # type: ignore[arg-type]
    async with CarehomeSandbox(CarehomeSandboxConfig(leads=5)) as sb:
        with pytest.raises(ValueError, match="cannot change"):
            sb.configure(leads=10)
        # Without a start, the data spans the days before today.
        last = max(datetime.fromisoformat(r["date"].replace("Z", "+00:00")) for r in sb.leads())
        assert last <= datetime.now(UTC)
