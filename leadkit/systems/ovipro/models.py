"""OviPro lead records: wire schemas, warehouse schemas, and page parsing.

Written from the spec (``specs/ovipro.md`` §5.1, §5.2, §9), independently of the sandbox.

Two record shapes, one per list endpoint:

* ``GET /leads`` → :data:`LEADS` (``ovipro_leads``): ``LeadListItem`` with the nested
  ``lead`` object;
* ``GET /outgoingLeads`` → :data:`OUTGOING` (``ovipro_outgoing_leads``): ``OutgoingItem``
  with ``lead``, ``customer`` and ``sender``.

Parsing is vectorised like KPro's: polars reads a page's records with an explicit wire
schema, checks them column-wise, and converts them to the warehouse shape in one
``select``: snake_case columns, nested objects kept as STRUCTs with snake_case fields (lists
of objects as LISTs of STRUCTs), timestamps as ``TIMESTAMPTZ`` in UTC, and lineage columns
(``_source``, ``_run_id``, ``_extracted_at``, ``_raw``, ``_hash``, ``_vanished_at``). Only
when a value has the wrong JSON type are the records checked one by one (pydantic), so each
bad record goes to ``_rejects`` with its own reason and the rest of the page loads.

Quirks handled (spec §12): Q7 — every empty string, nested ones included, becomes null in
the warehouse (``_raw`` keeps the original); Q8 — a page repeating a ``leadId`` keeps one
row (the last); Q11 — outgoing ``customer``/``sender`` found inside ``lead`` are read as the
top-level objects; Q12 — enum values are open (any string is stored, never rejected).

Example:
    >>> from datetime import UTC
    >>> rec = {"leadId": "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd", "leadStatusCode": "NEW",
    ...        "lead": {"message": "", "customer": {"firstName": "Teemu"}},
    ...        "creationTime": "2023-08-02T13:32:28Z", "modificationTime": "2023-08-03T11:45:09Z"}
    >>> page = parse_page([rec], "leads", source="main", run_id="r1",
    ...                   extracted_at=datetime(2024, 1, 1, tzinfo=UTC))
    >>> row = page.frame.row(0, named=True)
    >>> row["lead"]["customer"]["first_name"], row["lead"]["message"], row["creation_time"].year
    ('Teemu', None, 2023)
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from leadkit.naming import snake_case
from leadkit.systems.base import Reject
from leadkit.systems.records import (
    parse_timestamp,
    reject_from_raw,
    rename_to_snake,
    snake_dtype,
)

__all__ = [
    "LEADS",
    "OUTGOING",
    "Endpoint",
    "OviProLeadItem",
    "OviProOutgoingItem",
    "ParsedPage",
    "RecordShape",
    "parse_page",
    "raw_hash",
    "shape_of",
]

Endpoint = Literal["leads", "outgoing"]

_S = pl.String
_UTC = pl.Datetime("us", "UTC")

_ADDRESS = pl.Struct(
    {"streetAddress": _S, "stairwell": _S, "apartmentNumber": _S, "postcode": _S, "postalArea": _S}
)
_LEAD = pl.Struct(
    {
        "leadTypeCode": _S,
        "leadSourceTypeCode": _S,
        "agencyOfficeId": _S,
        "agentId": _S,
        "realty": pl.Struct({"friendlyId": _S, "address": _ADDRESS}),
        "message": _S,
        "additionalNote": _S,
        "customer": pl.Struct(
            {
                "firstName": _S,
                "lastName": _S,
                "emailAddress": _S,
                "phoneNumber": _S,
                "partyId": _S,
            }
        ),
        "recipient": pl.Struct({"name": _S, "emailAddress": _S, "agencyOfficeId": _S}),
        "supplierAssignedIdentifiers": pl.List(
            pl.Struct({"schemeId": _S, "supplierAssignedId": _S})
        ),
        "tags": pl.List(_S),
    }
)
_OUT_LEAD = pl.Struct(
    {
        "languageCode": _S,
        "subject": _S,
        "message": _S,
        "additionalNote": _S,
        "realty": pl.Struct({"realtyId": _S, "friendlyId": _S}),
        "documents": pl.List(pl.Struct({"documentId": _S, "documentTypeCode": _S})),
    }
)

#: ``LeadListItem`` as it arrives (spec §5.1), in documented order.
_LEADS_WIRE: dict[str, Any] = {
    "leadId": _S,
    "leadStatusCode": _S,
    "leadActionCodes": pl.List(_S),
    "lead": _LEAD,
    "assignmentTime": _S,
    "decisionTime": _S,
    "creationTime": _S,
    "modificationTime": _S,
}
#: ``OutgoingItem`` as it arrives (spec §9).
_OUTGOING_WIRE: dict[str, Any] = {
    "leadId": _S,
    "lead": _OUT_LEAD,
    "customer": pl.Struct({"firstName": _S, "lastName": _S, "emailAddress": _S, "partyId": _S}),
    "sender": pl.Struct(
        {
            "firstName": _S,
            "lastName": _S,
            "emailAddress": _S,
            "phoneNumber": _S,
            "agencyOfficeId": _S,
            "agentId": _S,
        }
    ),
    "creationTime": _S,
}


@dataclass(frozen=True)
class RecordShape:
    """What one list endpoint returns and where it lands.

    Attributes:
        endpoint: ``leads`` or ``outgoing``.
        table: the warehouse table.
        wire: the record as it arrives (camelCase, documented order).
        required: fields a record must have (else it is rejected).
        timestamps: ISO 8601 fields stored as ``TIMESTAMPTZ``.
    """

    endpoint: Endpoint
    table: str
    wire: pl.Schema
    required: tuple[str, ...]
    timestamps: tuple[str, ...]

    @property
    def schema(self) -> pl.Schema:
        """The warehouse table's columns (snake_case, STRUCTs kept, lineage last)."""
        cols: dict[str, Any] = {}
        for name, dtype in self.wire.items():
            cols[snake_case(name)] = _UTC if name in self.timestamps else snake_dtype(dtype)
        cols.update(
            {
                "_source": pl.String(),
                "_run_id": pl.String(),
                "_extracted_at": _UTC,
                "_raw": pl.String(),
                "_hash": pl.Int64(),
                "_vanished_at": _UTC,
            }
        )
        return pl.Schema(cols)


#: ``GET /leads`` → ``ovipro_leads`` (spec §5.1, §5.2).
LEADS = RecordShape(
    endpoint="leads",
    table="ovipro_leads",
    wire=pl.Schema(_LEADS_WIRE),
    required=("leadId", "creationTime"),
    timestamps=("assignmentTime", "decisionTime", "creationTime", "modificationTime"),
)

#: ``GET /outgoingLeads`` → ``ovipro_outgoing_leads`` (spec §9).
OUTGOING = RecordShape(
    endpoint="outgoing",
    table="ovipro_outgoing_leads",
    wire=pl.Schema(_OUTGOING_WIRE),
    required=("leadId", "creationTime"),
    timestamps=("creationTime",),
)

_SHAPES: dict[str, RecordShape] = {"leads": LEADS, "outgoing": OUTGOING}


def shape_of(endpoint: Endpoint) -> RecordShape:
    """The :class:`RecordShape` of ``endpoint`` (``"leads"`` or ``"outgoing"``)."""
    return _SHAPES[endpoint]


# --- slow path: one record at a time -------------------------------------------------------


class _Obj(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Address(_Obj):
    streetAddress: str | None = None
    stairwell: str | None = None
    apartmentNumber: str | None = None
    postcode: str | None = None
    postalArea: str | None = None


class _Realty(_Obj):
    friendlyId: str | None = None
    address: _Address | None = None


class _Customer(_Obj):
    firstName: str | None = None
    lastName: str | None = None
    emailAddress: str | None = None
    phoneNumber: str | None = None
    partyId: str | None = None


class _Recipient(_Obj):
    name: str | None = None
    emailAddress: str | None = None
    agencyOfficeId: str | None = None


class _SupplierId(_Obj):
    schemeId: str | None = None
    supplierAssignedId: str | None = None


class _Lead(_Obj):
    leadTypeCode: str | None = None
    leadSourceTypeCode: str | None = None
    agencyOfficeId: str | None = None
    agentId: str | None = None
    realty: _Realty | None = None
    message: str | None = None
    additionalNote: str | None = None
    customer: _Customer | None = None
    recipient: _Recipient | None = None
    supplierAssignedIdentifiers: list[_SupplierId] | None = None
    tags: list[str | None] | None = None


class OviProLeadItem(_Obj):
    """One ``LeadListItem`` (spec §5.1), checked on the slow path. Unknown keys are allowed
    (kept in ``_raw``); enum values are open (Q12)."""

    leadId: str
    leadStatusCode: str | None = None
    leadActionCodes: list[str | None] | None = None
    lead: _Lead | None = None
    assignmentTime: str | None = None
    decisionTime: str | None = None
    creationTime: str
    modificationTime: str | None = None


class _OutRealty(_Obj):
    realtyId: str | None = None
    friendlyId: str | None = None


class _Document(_Obj):
    documentId: str | None = None
    documentTypeCode: str | None = None


class _OutLead(_Obj):
    languageCode: str | None = None
    subject: str | None = None
    message: str | None = None
    additionalNote: str | None = None
    realty: _OutRealty | None = None
    documents: list[_Document] | None = None


class _Sender(_Obj):
    firstName: str | None = None
    lastName: str | None = None
    emailAddress: str | None = None
    phoneNumber: str | None = None
    agencyOfficeId: str | None = None
    agentId: str | None = None


class OviProOutgoingItem(_Obj):
    """One ``OutgoingItem`` (spec §9), checked on the slow path."""

    leadId: str
    lead: _OutLead | None = None
    customer: _Customer | None = None
    sender: _Sender | None = None
    creationTime: str


_MODELS: dict[str, type[BaseModel]] = {"leads": OviProLeadItem, "outgoing": OviProOutgoingItem}


# --- parsing -------------------------------------------------------------------------------


@dataclass
class ParsedPage:
    """The result of parsing one page of records.

    Attributes:
        frame: rows in the warehouse shape of the endpoint's table.
        rejects: records that failed validation.
    """

    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)


def parse_page(
    records: list[Any],
    endpoint: Endpoint,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
    context: str = "",
) -> ParsedPage:
    """Turn one page's decoded records into table rows plus rejects.

    Args:
        records: the ``leads`` array of the response, as decoded JSON.
        endpoint: which list endpoint it came from (``leads`` or ``outgoing``).
        source: the configured source name (``_source``).
        run_id: the run's id (``_run_id``).
        extracted_at: the run's start (``_extracted_at``).
        context: where the page came from, stored with each reject.
    """
    shape = shape_of(endpoint)
    raws: list[bytes] = []
    lines: list[bytes] = []
    hashes: list[int] = []
    rejects: list[Reject] = []
    for rec in records:
        raw = orjson.dumps(rec)
        if not isinstance(rec, dict):
            rejects.append(Reject("record is not a JSON object", raw.decode(), context=context))
            continue
        raws.append(raw)
        hashes.append(_fingerprint(rec))
        lines.append(_fix_quirks(rec, endpoint) or raw)
    frame, more = _read_records(shape, raws, lines, hashes, context)
    rejects.extend(more)
    if frame.height == 0:
        return ParsedPage(pl.DataFrame(schema=shape.schema), rejects)
    return ParsedPage(_to_table(shape, frame, source, run_id, extracted_at), rejects)


def raw_hash(raw: bytes) -> int:
    """A stable 64-bit fingerprint of a record (``_hash``), independent of key order, so a
    row counts as updated only when a value changed.

    Example:
        >>> raw_hash(b'{"a":1,"b":2}') == raw_hash(b'{"b":2,"a":1}') != raw_hash(b'{"a":2}')
        True
    """
    return _fingerprint(orjson.loads(raw))


def _fingerprint(record: Any) -> int:
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(canonical, digest_size=8).digest(), "little", signed=True)


#: Every way an empty-string *value* can appear in compact JSON (what orjson writes: no
#: whitespace), and its replacement. A ``"`` inside a string is always escaped, so these byte
#: sequences can only be an empty string value — never a key (``"":``) and never text inside
#: another string. ``,"",`` is applied twice: one pass leaves every other element of a run
#: like ``["","",""]``.
_BLANK_VALUES = (
    (b':"",', b":null,"),
    (b':""}', b":null}"),
    (b'["",', b"[null,"),
    (b'[""]', b"[null]"),
    (b',"",', b",null,"),
    (b',"",', b",null,"),
    (b',""]', b",null]"),
)


def _blanks_to_null(ndjson: bytes) -> bytes:
    """Q7 in one pass over the page: every ``""`` value, at any depth, becomes ``null``.

    Example:
        >>> out = _blanks_to_null(orjson.dumps({"a": "", "b": ["", "", "x"], "c": {"": 'say ""'}}))
        >>> orjson.loads(out)
        {'a': None, 'b': [None, None, 'x'], 'c': {'': 'say ""'}}
    """
    if b'""' not in ndjson:
        return ndjson
    for blank, null in _BLANK_VALUES:
        ndjson = ndjson.replace(blank, null)
    return ndjson


def _fix_quirks(rec: dict[str, Any], endpoint: Endpoint) -> bytes | None:
    """Q11: outgoing ``customer``/``sender`` nested in ``lead`` move to the top level."""
    if endpoint != "outgoing":
        return None
    lead = rec.get("lead")
    if not isinstance(lead, dict):
        return None
    lifted = {k: lead[k] for k in ("customer", "sender") if rec.get(k) is None and k in lead}
    if not lifted:
        return None
    inner = {k: v for k, v in lead.items() if k not in lifted}
    return orjson.dumps({**rec, **lifted, "lead": inner})


def _read(shape: RecordShape, lines: list[bytes]) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(_blanks_to_null(b"\n".join(lines))), schema=shape.wire)


def _read_records(
    shape: RecordShape, raws: list[bytes], lines: list[bytes], hashes: list[int], context: str
) -> tuple[pl.DataFrame, list[Reject]]:
    rejects: list[Reject] = []
    empty = pl.DataFrame(schema={**shape.wire, "_raw": pl.String, "_hash": pl.Int64})
    if not lines:
        return empty, rejects
    try:
        frame = _read(shape, lines)
    except pl.exceptions.PolarsError:
        good: list[int] = []
        for i, (raw, line) in enumerate(zip(raws, lines, strict=True)):
            reason = _record_problem(shape, line)
            if reason is None:
                good.append(i)
            else:
                rejects.append(reject_from_raw(raw, reason, context, "leadId"))
        if not good:
            return empty, rejects
        lines = [lines[i] for i in good]
        raws = [raws[i] for i in good]
        hashes = [hashes[i] for i in good]
        frame = _read(shape, lines)
    frame = frame.with_columns(
        pl.Series("_raw", [r.decode() for r in raws], pl.String),
        pl.Series("_hash", hashes, pl.Int64),
    )
    return _check(shape, frame, rejects, context)


def _record_problem(shape: RecordShape, line: bytes) -> str | None:
    """Why one record cannot be read, or ``None`` if it can (slow path only)."""
    try:
        _MODELS[shape.endpoint].model_validate_json(line)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
    try:
        _read(shape, [line])
    except pl.exceptions.PolarsError as exc:
        return f"unreadable record: {str(exc).splitlines()[0][:200]}"
    return None


def _check(
    shape: RecordShape, frame: pl.DataFrame, rejects: list[Reject], context: str
) -> tuple[pl.DataFrame, list[Reject]]:
    """Column-wise checks: required fields present and non-empty, timestamps well-formed.
    (Empty strings are already nulls here.)"""
    checks: list[pl.Expr] = []
    for name in shape.required:
        missing = pl.col(name).is_null()
        checks.append(pl.when(missing).then(pl.lit(f"{name} is missing, null or empty")))
    for name in shape.timestamps:
        value = pl.col(name)
        bad = value.is_not_null() & parse_timestamp(value).is_null()
        checks.append(
            pl.when(bad).then(pl.format("{} {} is not an ISO 8601 date-time", pl.lit(name), value))
        )
    reason = pl.concat_str(checks, separator="; ", ignore_nulls=True)
    flagged = frame.with_columns(reason.alias("_reason"))
    is_bad = pl.col("_reason").is_not_null() & (pl.col("_reason") != "")
    for rid, raw, why in flagged.filter(is_bad).select("leadId", "_raw", "_reason").iter_rows():
        rejects.append(Reject(why, raw, rid or None, context))
    return flagged.filter(~is_bad).drop("_reason"), rejects


def _to_table(
    shape: RecordShape, frame: pl.DataFrame, source: str, run_id: str, extracted_at: datetime
) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for name, dtype in shape.wire.items():
        col = snake_case(name)
        if name in shape.timestamps:
            exprs.append(parse_timestamp(pl.col(name)).alias(col))
        else:
            exprs.append(rename_to_snake(pl.col(name), dtype).alias(col))
    exprs += [
        pl.lit(source, pl.String).alias("_source"),
        pl.lit(run_id, pl.String).alias("_run_id"),
        pl.lit(extracted_at, _UTC).alias("_extracted_at"),
        pl.col("_raw"),
        pl.col("_hash"),
        pl.lit(None, _UTC).alias("_vanished_at"),
    ]
    out = frame.select(exprs)
    # Q8: one row per lead id; a page that repeats an id keeps its last occurrence.
    out = out.unique(subset=["lead_id"], keep="last", maintain_order=True)
    return out.select([pl.col(c).cast(t) for c, t in shape.schema.items()])
