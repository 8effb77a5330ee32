"""OviPro records parsed from the JSON text the API sent (the extract's path): ``_raw`` kept
byte for byte, the fingerprint unchanged, the fast readers equal to the careful ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadkit.systems.ovipro import models
from leadkit.systems.ovipro.client import build_page, read_response
from leadkit.systems.ovipro.models import (
    LEADS,
    OUTGOING,
    RawRecords,
    parse_page,
    parse_raw_page,
    raw_hash,
)

from .test_models import ITEM, OUT_ITEM, item

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def parse(raws: list[bytes], endpoint: Any = "leads") -> Any:
    return parse_raw_page(
        raws, endpoint, source="main", run_id="run1", extracted_at=WHEN, context="test"
    )


def test_raw_keeps_the_text_as_sent_and_the_fingerprint_ignores_formatting() -> None:
    sent = json.dumps(ITEM, indent=2, ensure_ascii=True).encode()  # "\u00e4", spaces, newlines
    page = parse([sent])
    assert page.rejects == []
    row = page.frame.row(0, named=True)
    assert row["_raw"] == sent.decode()
    assert row["lead"]["message"] == "Haluan lisätietoja asunnosta"
    assert row["lead"]["customer"]["email_address"] is None  # Q7
    compact = parse([orjson.dumps(ITEM)]).frame.row(0, named=True)
    assert row["_hash"] == compact["_hash"] == raw_hash(sent) == raw_hash(orjson.dumps(ITEM))
    assert {k: v for k, v in row.items() if k != "_raw"} == {
        k: v for k, v in compact.items() if k != "_raw"
    }


def test_records_as_text_and_as_decoded_json_give_the_same_rows() -> None:
    records = [ITEM, item(leadStatusCode="", extra={"a": [1, 2]}), item("x" * 3, lead=None)]
    by_text = parse([orjson.dumps(r) for r in records]).frame
    by_json = parse_page(
        records, "leads", source="main", run_id="run1", extracted_at=WHEN, context="test"
    ).frame
    assert by_text.equals(by_json)
    assert by_text["_hash"].to_list() == [raw_hash(orjson.dumps(r)) for r in records]


def test_unknown_keys_take_the_general_way_and_are_kept() -> None:
    rec = item(extra={"nested": {"b": 1, "a": [None, True]}})
    rec["lead"]["unknownInside"] = "x"
    raw = orjson.dumps(rec)
    batch = RawRecords("leads")
    batch.add([raw])
    assert batch.lines == [orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)]
    assert batch.hashes == [raw_hash(raw)]
    row = parse([raw]).frame.row(0, named=True)
    assert orjson.loads(row["_raw"])["lead"]["unknownInside"] == "x"


def test_a_record_that_is_not_valid_json_is_rejected_and_the_rest_loads() -> None:
    bad = b'{"leadId": "\xff\xfe", "creationTime": "2023-08-02T13:32:28Z"}'
    page = parse([orjson.dumps(ITEM), bad])
    assert page.frame.height == 1
    assert len(page.rejects) == 1
    assert page.rejects[0].reason.startswith("record is not valid JSON")
    assert page.rejects[0].context == "test"


def test_a_lone_value_where_a_list_is_documented_is_rejected_and_blank_is_null() -> None:
    """The fast reader would take ``"CALLED"`` as ``["CALLED"]``; such a page is read the
    careful way: a lone value is rejected with its reason, ``""`` is null (Q7)."""
    lone = item("55555555-5555-4555-8555-555555555555", leadActionCodes="CALLED")
    blank = item("66666666-6666-4666-8666-666666666666")
    blank["lead"]["tags"] = ""
    page = parse([orjson.dumps(r) for r in (ITEM, lone, blank)])
    assert [r.record_id for r in page.rejects] == [lone["leadId"]]
    assert "leadActionCodes" in page.rejects[0].reason
    rows = {r["lead_id"]: r for r in page.frame.iter_rows(named=True)}
    assert rows[blank["leadId"]]["lead"]["tags"] is None
    assert rows[ITEM["leadId"]]["lead"]["tags"] == ["Kesäkampanja 2024", "Toimistoyhteydenotto"]


def test_blank_objects_and_lists_at_any_depth_are_null() -> None:
    rec = item("77777777-7777-4777-8777-777777777777", leadActionCodes=["", "A"])
    rec["lead"]["realty"] = ""
    rec["lead"]["supplierAssignedIdentifiers"] = [{"schemeId": "", "supplierAssignedId": "x"}]
    row = parse([orjson.dumps(rec)]).frame.row(0, named=True)
    assert row["lead_action_codes"] == [None, "A"]
    assert row["lead"]["realty"] is None
    assert row["lead"]["supplier_assigned_identifiers"] == [
        {"scheme_id": None, "supplier_assigned_id": "x"}
    ]


def test_outgoing_quirk_q11_on_the_text_path() -> None:
    rec = json.loads(json.dumps(OUT_ITEM))
    rec["lead"]["customer"] = rec.pop("customer")
    rec["lead"]["sender"] = rec.pop("sender")
    raw = json.dumps(rec, indent=1).encode()
    page = parse([raw], "outgoing")
    row = page.frame.row(0, named=True)
    assert row["customer"]["first_name"] == "Teemu"
    assert row["sender"]["agent_id"] == "7b2a906c-9e68-4c06-be27-3d8a3fd79651"
    assert row["_raw"] == raw.decode()
    assert row["_hash"] == raw_hash(raw)


def test_build_page_takes_text_or_prepared_records() -> None:
    raws, _ = read_response(
        orjson.dumps({"totalCount": 3, "leads": [ITEM, item(), 5]}),
        "leads",
        0,
        source="main",
        shown_url="u",
    )
    prepared = RawRecords("leads")
    prepared.add(raws)
    a = build_page(raws, "leads", "c", source="main", run_id="r", extracted_at=WHEN)
    b = build_page(prepared, "leads", "c", source="main", run_id="r", extracted_at=WHEN)
    assert a.frame is not None
    assert b.frame is not None
    assert a.frame.equals(b.frame)
    assert (a.received, b.received, len(a.rejects), len(b.rejects)) == (3, 3, 1, 1)


def test_boundary_lead_ids_come_from_the_text() -> None:
    leads = [{"leadId": 7}, item("a-b"), {"x": 1}, "text", item("c-d")]
    _, edge = read_response(
        orjson.dumps({"totalCount": 9, "leads": leads}), "leads", 0, source="m", shown_url="u"
    )
    assert (edge.first, edge.last, edge.count) == (None, "c-d", 5)
    _, edge = read_response(
        orjson.dumps({"totalCount": 9, "leads": leads[1:3]}), "leads", 0, source="m", shown_url="u"
    )
    assert (edge.first, edge.last) == ("a-b", None)


# --- the fast readers agree with the careful ones, whatever the records hold ---------------

ODD = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.just(1.5),
    st.just({}),
    st.just([]),
    st.just({"k": "v"}),
    st.just(["x", 1]),
)
TEXT = st.one_of(st.just(""), st.text(max_size=8), st.sampled_from(["2023-08-02T13:32:28Z"]))


def _value(dtype: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    if isinstance(dtype, pl.Struct):
        fields = {f.name: _value(f.dtype, depth + 1) for f in dtype.fields}
        obj = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(dtype, pl.List):
        obj = st.lists(st.one_of(st.none(), _value(dtype.inner, depth + 1)), max_size=3)
    else:
        obj = TEXT
    return st.one_of(obj, obj, obj, obj, obj, obj, st.none(), st.just(""), ODD)


def _record(shape: Any) -> st.SearchStrategy[Any]:
    fields = {name: _value(dtype) for name, dtype in shape.wire.items()}
    extra = {"extraKey": st.one_of(TEXT, ODD)}
    base = st.fixed_dictionaries({}, optional={**fields, **extra})
    return st.one_of(base, base, base, base, base, base, base, base, ODD, TEXT)


def _text(rec: Any, style: int) -> bytes:
    if style == 0:
        return orjson.dumps(rec)
    return json.dumps(rec, indent=style - 1 or None, ensure_ascii=style % 2 == 0).encode()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([LEADS, OUTGOING]).flatmap(
        lambda shape: st.tuples(st.just(shape), st.lists(_record(shape), max_size=4))
    ),
    st.integers(0, 3),
)
def test_fast_and_careful_readers_agree(case: Any, style: int) -> None:
    shape, records = case
    raws = [_text(rec, style) for rec in records]
    batch = RawRecords(shape.endpoint)
    batch.add(raws)
    # The fingerprint and the text polars reads are orjson's, however the record decoded.
    objects = [rec for rec in records if isinstance(rec, dict)]
    assert batch.hashes == [raw_hash(orjson.dumps(rec)) for rec in objects]
    assert [orjson.loads(line) for line in batch.lines] == [
        orjson.loads(models._fix_quirks(rec, shape.endpoint) or orjson.dumps(rec))
        for rec in objects
    ]
    assert len(batch.problems) == len(records) - len(objects)
    # Column-wise Q7 on the fast reader's frame equals byte-wise Q7 before the careful one.
    careful, rejects = models._read_records(shape, batch.raws, batch.lines, batch.hashes, "c")
    if not batch.lines or not batch.lists_ok:
        return
    try:
        fast = models._fast_wire(shape, batch.raws, batch.lines, batch.hashes).collect()
    except pl.exceptions.PolarsError:
        return  # the careful reader's case
    assert careful is not None
    assert rejects == []
    assert fast.equals(careful.collect())
