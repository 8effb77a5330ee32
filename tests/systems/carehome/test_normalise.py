"""Carehome normalisation of real sandbox responses (fetched over 127.0.0.1)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import polars as pl

from leadkit.systems.carehome.normalise import NormalisedPage, normalise, split_body
from leadkit.systems.carehome.sandbox import CarehomeSandbox
from tests.systems.carehome.conftest import Api


def blake2b64(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


async def fetch(api: Api, query: str = "") -> tuple[NormalisedPage, list[str]]:
    reply = await api.get(query)
    assert reply.status == 200
    records, raws = split_body(reply.raw)
    page = normalise(
        records, raws, source="ch", run_id="r1", extracted_at=datetime(2024, 4, 1, tzinfo=UTC)
    )
    return page, raws


async def test_hash_is_a_stable_blake2b_of_the_raw_record(api: Api) -> None:
    page, raws = await fetch(api)
    assert page.frame.height == len(raws) > 100
    rows = page.frame.select("_raw", "_hash").rows()
    # Not polars' seeded hash (which changes between polars versions): the same function
    # as KPro's raw_hash, over the record's exact bytes.
    assert [h for _, h in rows] == [blake2b64(raw) for raw, _ in rows]
    assert [raw for raw, _ in rows] == raws
    assert page.frame.schema["_hash"] == pl.Int64


def _record(sandbox: CarehomeSandbox, lead_id: int, **changes: Any) -> dict[str, Any]:
    record = dict(sandbox.leads(anonymised=False)[0])
    record.update(id=lead_id, date="2024-03-06T08:00:00.000Z", **changes)
    return record


async def test_current_circumstances_of_any_shape_is_kept_not_rejected(
    api: Api, sandbox: CarehomeSandbox
) -> None:
    # Q14: accept currentCircumstances if present, at the top level or in
    # categorySpecificData; a JSON list must not make the record a reject.
    sandbox.add_record(_record(sandbox, 90_001, currentCircumstances=["Care Home"]))
    csd = {"instruction": "", "currentCircumstances": "Hospital Discharge"}
    sandbox.add_record(_record(sandbox, 90_002, categorySpecificData=csd))
    sandbox.add_record(_record(sandbox, 90_003, currentCircumstances="At Home With Care"))
    page, _ = await fetch(api, "dateTimeFrom=2024-03-06T08:00:00&dateTimeTo=2024-03-06T08:00:00")
    assert page.rejects == []
    got = dict(page.frame.select("id", "current_circumstances").rows())
    assert got == {
        90_001: '["Care Home"]',
        90_002: "Hospital Discharge",
        90_003: "At Home With Care",
    }


async def test_visit_date_must_be_yyyy_mm_dd(api: Api, sandbox: CarehomeSandbox) -> None:
    base = sandbox.leads(anonymised=False)[0]
    for n, text in enumerate(["2021-04-29", "2021-4-29", "+2021-04-29", "2021-02-30"]):
        csd = {"visitDate": text, "visitTime": "We don't get this", "instruction": "x"}
        cat = {"id": 2, "name": "In Person Visit Request"}
        sandbox.add_record(
            {**base, "id": 91_000 + n, "category": cat, "categorySpecificData": csd,
             "date": "2024-03-07T08:00:00.000Z"}
        )  # fmt: skip
    page, _ = await fetch(api, "dateTimeFrom=2024-03-07T08:00:00&dateTimeTo=2024-03-07T08:00:00")
    rows = {r["id"]: r for r in page.frame.iter_rows(named=True)}
    assert str(rows[91_000]["visit_date"]) == "2021-04-29"
    assert rows[91_000]["dq_warnings"] == []
    for lead_id in (91_001, 91_002, 91_003):
        assert rows[lead_id]["visit_date"] is None
        assert rows[lead_id]["dq_warnings"] == ["visit_date_invalid"]
        assert rows[lead_id]["visit_time"] == "We don't get this"
