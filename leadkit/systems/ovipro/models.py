"""OviPro lead records: wire schemas, warehouse schemas, and page parsing.

Written from the spec (``specs/ovipro.md`` §5.1, §5.2, §9), independently of the sandbox.

Two record shapes, one per list endpoint:

* ``GET /leads`` → :data:`LEADS` (``ovipro_leads``): ``LeadListItem`` with the nested
  ``lead`` object;
* ``GET /outgoingLeads`` → :data:`OUTGOING` (``ovipro_outgoing_leads``): ``OutgoingItem``
  with ``lead``, ``customer`` and ``sender``.

Parsing works on the records' JSON text as sent (the extract splits each response without
decoding it). Each record is decoded once (:class:`RawRecords`), for its fingerprint
``_hash``: the record re-encoded compactly with sorted keys, hashed (:func:`raw_hash`; key
order and formatting do not change it). Records of exactly the documented shape decode into
msgspec structs, anything else (extra keys, other JSON types) into plain objects; both give
the same bytes. polars then reads a page's re-encoded records in one call with the
explicit wire schema, checks them column-wise, and converts them to the warehouse shape in
one ``select``: snake_case columns, nested objects kept as STRUCTs with snake_case fields
(lists of objects as LISTs of STRUCTs), timestamps as ``TIMESTAMPTZ`` in UTC, and lineage
columns (``_source``, ``_run_id``, ``_extracted_at``, ``_raw`` — the text as sent,
``_hash``, ``_vanished_at``). Only when a value has the wrong JSON type are the records
checked one by one (pydantic), so each bad record goes to ``_rejects`` with its own reason
and the rest of the page loads.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Literal

import msgspec
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
    "RawRecords",
    "RecordShape",
    "parse_page",
    "parse_raw_page",
    "parse_records",
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

    @cached_property
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

    @cached_property
    def problems(self) -> pl.Expr:
        """Why a row of the wire frame is rejected (null if it is not): a required field
        missing, or a timestamp that is not ISO 8601. Expects ``""`` read as null."""
        checks: list[pl.Expr] = []
        for name in self.required:
            missing = pl.col(name).is_null()
            checks.append(pl.when(missing).then(pl.lit(f"{name} is missing, null or empty")))
        for name in self.timestamps:
            value = pl.col(name)
            bad = value.is_not_null() & parse_timestamp(value).is_null()
            checks.append(
                pl.when(bad).then(
                    pl.format("{} {} is not an ISO 8601 date-time", pl.lit(name), value)
                )
            )
        reason = pl.concat_str(checks, separator="; ", ignore_nulls=True)
        return pl.when(reason != "").then(reason)

    @cached_property
    def _columns(self) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        for name, dtype in self.wire.items():
            col = snake_case(name)
            if name in self.timestamps:
                exprs.append(parse_timestamp(pl.col(name)).alias(col))
            else:
                exprs.append(rename_to_snake(pl.col(name), dtype).alias(col))
        return exprs

    def columns(self, lineage: list[pl.Expr]) -> list[pl.Expr]:
        """The table's columns, in order, from the wire columns plus ``_raw`` and ``_hash``;
        ``lineage`` gives ``_source``, ``_run_id`` and ``_extracted_at``."""
        exprs = [
            *self._columns,
            *lineage,
            pl.col("_raw"),
            pl.col("_hash"),
            pl.lit(None, _UTC).alias("_vanished_at"),
        ]
        return [e.cast(t) for e, t in zip(exprs, self.schema.values(), strict=True)]

    @cached_property
    def decoder(self) -> msgspec.json.Decoder[Any]:
        """Decodes a record of exactly the documented shape (see :meth:`RawRecords.add`):
        every field optional, text where text is documented, no other keys."""
        return msgspec.json.Decoder(_typed(f"{self.endpoint}_item", pl.Struct(self.wire)))

    @cached_property
    def lists(self) -> _ListSpec:
        """Where the wire record has LISTs (see :func:`_lists_ok`)."""
        return _list_spec(pl.Struct(self.wire))

    @cached_property
    def no_blanks(self) -> list[pl.Expr]:
        """The wire columns with every ``""`` text value, at any depth, as null (Q7)."""
        return [_no_blanks(pl.col(name), dtype).alias(name) for name, dtype in self.wire.items()]


#: Per field of an object that leads to LISTs: whether the field is itself a LIST, and the
#: same map for the objects inside it (``None``: nothing further down to check).
_ListSpec = dict[str, tuple[bool, "_ListSpec | None"]]


def _typed(name: str, dtype: Any) -> Any:
    """The msgspec type of a wire value of polars type ``dtype``: objects are Structs whose
    fields may be absent (``UNSET``, so they stay absent when re-encoded) or null, and that
    allow no other keys."""
    if isinstance(dtype, pl.Struct):
        fields = [
            (f.name, _typed(f"{name}_{f.name}", f.dtype) | None | msgspec.UnsetType, msgspec.UNSET)
            for f in dtype.fields
        ]
        return msgspec.defstruct(
            name, fields, forbid_unknown_fields=True, omit_defaults=True, gc=False
        )
    if isinstance(dtype, pl.List):
        return list[_typed(name, dtype.inner) | None]  # type: ignore[misc]
    if dtype != pl.String:
        raise TypeError(f"no msgspec type for {dtype!r}")
    return str


#: Re-encodes a decoded record compactly with sorted keys, as ``orjson.OPT_SORT_KEYS`` does.
_SORTED = msgspec.json.Encoder(order="sorted")


def _has_list(dtype: Any) -> bool:
    if isinstance(dtype, pl.List):
        return True
    return isinstance(dtype, pl.Struct) and any(_has_list(f.dtype) for f in dtype.fields)


def _list_spec(dtype: pl.Struct) -> _ListSpec:
    spec: _ListSpec = {}
    for f in dtype.fields:
        if isinstance(f.dtype, pl.List):
            inner = f.dtype.inner
            nested = isinstance(inner, pl.Struct) and _has_list(inner)
            spec[f.name] = (True, _list_spec(inner) if nested else None)  # type: ignore[arg-type]
        elif isinstance(f.dtype, pl.Struct) and _has_list(f.dtype):
            spec[f.name] = (False, _list_spec(f.dtype))
    return spec


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

    The extract itself works on the records' undecoded JSON text (:class:`RawRecords`,
    :func:`parse_records`); this is the same for records already decoded (re-encoded
    compactly for ``_raw``).

    Args:
        records: the ``leads`` array of the response, as decoded JSON.
        endpoint: which list endpoint it came from (``leads`` or ``outgoing``).
        source: the configured source name (``_source``).
        run_id: the run's id (``_run_id``).
        extracted_at: the run's start (``_extracted_at``).
        context: where the page came from, stored with each reject.
    """
    return parse_raw_page(
        [orjson.dumps(rec) for rec in records],
        endpoint,
        source=source,
        run_id=run_id,
        extracted_at=extracted_at,
        context=context,
    )


@dataclass
class RawRecords:
    """Records of one or more list responses, each decoded once, ready for
    :func:`parse_records`.

    :meth:`add` does the per-record work, cheap enough to run on the event loop as each
    response arrives (about 6 ms per 1,000 leads): it decodes a record, re-encodes it
    compactly with sorted keys, hashes that (``_hash``, see :func:`raw_hash`) and keeps it
    as the text polars reads (key order does not matter to polars). A record of exactly the
    documented shape decodes into msgspec structs (no dicts: about 40 % faster); any other
    record into plain objects with orjson. Both re-encode to the same bytes.

    Attributes:
        endpoint: the list endpoint the records came from.
        raws: the records that are JSON objects, as sent (``_raw``).
        lines: the same, as the compact text polars reads (Q11 applied).
        hashes: their fingerprints.
        problems: ``(reason, raw)`` of records that are not JSON objects (or not JSON).
        lists_ok: every LIST position holds an array or null (see :func:`_lists_ok`).
        received: records added.
    """

    endpoint: Endpoint
    raws: list[bytes] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    hashes: list[int] = field(default_factory=list)
    problems: list[tuple[str, bytes]] = field(default_factory=list)
    lists_ok: bool = True
    received: int = 0

    def add(self, raws: Iterable[bytes]) -> None:
        """Decode and fingerprint records, each the JSON text the API sent."""
        endpoint = self.endpoint
        shape = shape_of(endpoint)
        lists = shape.lists
        decode, encode = shape.decoder.decode, _SORTED.encode
        loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
        for raw in raws:
            self.received += 1
            # The usual case, a record of exactly the documented shape, decodes into structs
            # (faster than dicts) and re-encodes to the very bytes orjson would give.
            try:
                canonical = encode(decode(raw))
            except (msgspec.DecodeError, ValueError):
                pass  # anything else (extra keys, other types, Q11…): the general way below
            else:
                self.raws.append(raw)
                self.hashes.append(_digest(canonical))
                self.lines.append(canonical)
                continue
            try:
                rec = loads(raw)
                canonical = dumps(rec, option=sort_keys)
            except (orjson.JSONDecodeError, orjson.JSONEncodeError) as exc:
                self.problems.append((f"record is not valid JSON: {exc}", raw))
                continue
            if not isinstance(rec, dict):
                self.problems.append(("record is not a JSON object", raw))
                continue
            self.raws.append(raw)
            self.hashes.append(_digest(canonical))
            self.lines.append(_fix_quirks(rec, endpoint) or canonical)
            if self.lists_ok and not _lists_ok(rec, lists):
                self.lists_ok = False


def parse_raw_page(
    raws: Sequence[bytes],
    endpoint: Endpoint,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
    context: str = "",
) -> ParsedPage:
    """Turn one page's records, each the JSON text the API sent, into table rows plus
    rejects. ``_raw`` keeps each record's text byte for byte.

    Example:
        >>> from datetime import UTC
        >>> good = b'{"leadId": "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd", "leadStatusCode": "", '
        >>> good += b'"creationTime": "2023-08-02T13:32:28Z"}'
        >>> page = parse_raw_page([good, b"7"], "leads", source="main", run_id="r1",
        ...                       extracted_at=datetime(2024, 1, 1, tzinfo=UTC))
        >>> row = page.frame.row(0, named=True)
        >>> row["lead_status_code"], row["_raw"] == good.decode(), page.rejects[0].reason
        (None, True, 'record is not a JSON object')
    """
    records = RawRecords(endpoint)
    records.add(raws)
    return parse_records(
        records, source=source, run_id=run_id, extracted_at=extracted_at, context=context
    )


def parse_records(
    records: RawRecords, *, source: str, run_id: str, extracted_at: datetime, context: str = ""
) -> ParsedPage:
    """Turn records prepared by :meth:`RawRecords.add` into table rows plus rejects: polars
    reads them in one call, ``""`` values become null column-wise (Q7), and checks and
    conversions run column-wise too.

    Module-level and of plain arguments, so the engine can run it in a worker process.
    """
    shape = shape_of(records.endpoint)
    rejects = [
        Reject(reason, raw.decode("utf-8", "replace"), None, context)
        for reason, raw in records.problems
    ]
    lineage = _lineage(source, run_id, extracted_at)
    if records.lines and records.lists_ok:
        # The usual case, in one polars query (it runs without the GIL, so the event loop
        # and the warehouse writer are not held up, nor is it by them).
        checked: list[Reject] = []
        try:
            wire = _fast_wire(shape, records.raws, records.lines, records.hashes)
            frame = _to_table(shape, wire, lineage, checked, context)
        except pl.exceptions.PolarsError:
            pass  # a value of the wrong JSON type: the careful readers below say which
        else:
            return ParsedPage(frame, rejects + checked)
    careful, more = _read_records(shape, records.raws, records.lines, records.hashes, context)
    rejects.extend(more)
    if careful is None:
        return ParsedPage(pl.DataFrame(schema=shape.schema), rejects)
    return ParsedPage(_to_table(shape, careful, lineage, rejects, context), rejects)


def raw_hash(raw: bytes) -> int:
    """A stable 64-bit fingerprint of a record (``_hash``), independent of key order, so a
    row counts as updated only when a value changed.

    Example:
        >>> raw_hash(b'{"a":1,"b":2}') == raw_hash(b'{"b":2,"a":1}') != raw_hash(b'{"a":2}')
        True
    """
    return _fingerprint(orjson.loads(raw))


def _fingerprint(record: Any) -> int:
    return _digest(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))


def _digest(canonical: bytes) -> int:
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
    """Q7 in one pass over compact JSON text: every ``""`` value, at any depth, becomes
    ``null`` (the slow path's way; the fast path does it column-wise, :func:`_no_blanks`).

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


def _has_text(dtype: Any) -> bool:
    if isinstance(dtype, pl.List):
        return _has_text(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(_has_text(f.dtype) for f in dtype.fields)
    return bool(dtype == pl.String)


def _no_blanks(expr: pl.Expr, dtype: Any) -> pl.Expr:
    """Q7 column-wise: every ``""`` text value inside ``expr`` (of wire type ``dtype``, at any
    depth) becomes null; null objects stay null."""
    if isinstance(dtype, pl.List):
        return expr.list.eval(_no_blanks(pl.element(), dtype.inner)) if _has_text(dtype) else expr
    if isinstance(dtype, pl.Struct):
        fields = [
            _no_blanks(pl.field(f.name), f.dtype).alias(f.name)
            for f in dtype.fields
            if _has_text(f.dtype)
        ]
        return expr.struct.with_fields(fields) if fields else expr
    if dtype == pl.String:
        return pl.when(expr != "").then(expr)
    return expr


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


def _lists_ok(record: dict[str, Any], spec: _ListSpec) -> bool:
    """Whether every LIST position of the wire schema holds an array (or null) in ``record``.

    The fast reader would read a lone value there as a one-element list (``""`` as
    ``[""]``); a page with one takes the careful path, which reads ``""`` as null (Q7) and
    rejects any other lone value, with its reason.
    """
    for key, (is_list, sub) in spec.items():
        item = record.get(key)
        if item is None:
            continue
        if is_list:
            if not isinstance(item, list):
                return False
            if sub is not None and not all(_lists_ok(x, sub) for x in item if isinstance(x, dict)):
                return False
        elif sub is not None and isinstance(item, dict) and not _lists_ok(item, sub):
            return False
    return True


def _read(shape: RecordShape, lines: list[bytes]) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(_blanks_to_null(b"\n".join(lines))), schema=shape.wire)


@lru_cache(maxsize=8)
def _lineage(source: str, run_id: str, extracted_at: datetime) -> list[pl.Expr]:
    """The ``_source``, ``_run_id`` and ``_extracted_at`` columns (the same for a whole run;
    a datetime literal costs polars a few milliseconds to build)."""
    return [
        pl.lit(source, pl.String).alias("_source"),
        pl.lit(run_id, pl.String).alias("_run_id"),
        pl.lit(extracted_at, _UTC).alias("_extracted_at"),
    ]


def _fast_wire(
    shape: RecordShape, raws: list[bytes], lines: list[bytes], hashes: list[int]
) -> pl.LazyFrame:
    """The records as wire columns, ``""`` values null (Q7), plus ``_raw`` and ``_hash``:
    the compact texts (orjson's output) read in one go. Raises a polars error at ``collect``
    when a value has the wrong JSON type."""
    columns = [
        pl.Series("_line", lines, pl.Binary),
        pl.Series("_raw", raws, pl.Binary),
        pl.Series("_hash", hashes, pl.Int64),
    ]
    return (
        pl.LazyFrame(columns)
        .select(
            pl.col("_line").cast(pl.String).str.json_decode(pl.Struct(shape.wire)).struct.unnest(),
            pl.col("_raw").cast(pl.String),
            "_hash",
        )
        .select(*shape.no_blanks, "_raw", "_hash")
    )


def _read_records(
    shape: RecordShape, raws: list[bytes], lines: list[bytes], hashes: list[int], context: str
) -> tuple[pl.LazyFrame | None, list[Reject]]:
    """The careful way to :func:`_fast_wire`'s result (``None`` when no record is
    readable), and the records that are not readable, with reasons: the page's records in
    one call if they all read, else record by record."""
    rejects: list[Reject] = []
    if not lines:
        return None, rejects
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
            return None, rejects
        lines = [lines[i] for i in good]
        raws = [raws[i] for i in good]
        hashes = [hashes[i] for i in good]
        frame = _read(shape, lines)
    frame = frame.with_columns(
        pl.Series("_raw", raws, pl.Binary).cast(pl.String),
        pl.Series("_hash", hashes, pl.Int64),
    )
    return frame.lazy().select(*shape.no_blanks, "_raw", "_hash"), rejects


def _record_problem(shape: RecordShape, line: bytes) -> str | None:
    """Why one record cannot be read, or ``None`` if it can (slow path only). Its ``""``
    values count as null (Q7), as on the fast path."""
    try:
        _MODELS[shape.endpoint].model_validate_json(_blanks_to_null(line))
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


def _to_table(
    shape: RecordShape,
    wire: pl.LazyFrame,
    lineage: list[pl.Expr],
    rejects: list[Reject],
    context: str,
) -> pl.DataFrame:
    """Wire columns → table rows in one pass, checked column-wise: rows missing a required
    field or with a timestamp that is not ISO 8601 go to ``rejects``; Q8, one row per lead
    id (the last). ``lineage`` gives ``_source``, ``_run_id`` and ``_extracted_at``."""
    # One query, then only calls that do not go through polars' query engine: each query
    # lets go of the GIL and must get it back, which costs up to 5 ms while the event loop
    # is busy.
    out = wire.select(*shape.columns(lineage), shape.problems.alias("_reason")).collect()
    reason = out.drop_in_place("_reason")
    if reason.null_count() < out.height:
        bad = reason.is_not_null()
        for rid, raw, why in zip(
            out.get_column("lead_id").filter(bad),
            out.get_column("_raw").filter(bad),
            reason.filter(bad),
            strict=True,
        ):
            rejects.append(Reject(why, raw, rid or None, context))
        out = out.filter(~bad)
    if out.get_column("lead_id").n_unique() < out.height:
        out = out.unique(subset=["lead_id"], keep="last", maintain_order=True)
    return out
