"""KPro lead records: the wire schema, the warehouse schema, and page parsing.

Written from the spec (``specs/kpro.md`` §3.3), independently of the sandbox.

Parsing is vectorised: a page's records are read by polars with an explicit schema
(:data:`WIRE_SCHEMA`), checked column-wise (required fields present, timestamps and dates
well-formed), and cast to the warehouse shape (:data:`TABLE_SCHEMA`: snake_case columns,
STRUCTs with snake_case fields, ``TIMESTAMPTZ`` in UTC). Only when the fast path fails
(a value of the wrong JSON type) are the page's records checked one by one with the pydantic
model :class:`KProLead`, so each bad record goes to ``_rejects`` with its own reason and the
rest of the page still loads.

Quirks handled (spec §7): Q6 — a local authority may be a string or an object: the name
lands in ``home_local_authority`` and the object, if any, in ``home_local_authority_details``;
Q7 — ``listing.Development`` is accepted as ``listing.development``; Q15 — codes and names
are open enums (stored, never rejected); Q16 — timestamps are parsed as ISO 8601 with any
offset and stored in UTC.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydField

from leadkit.naming import snake_case
from leadkit.systems.base import Reject
from leadkit.systems.records import (
    parse_timestamp,
    reject_from_raw,
    rename_to_snake,
    snake_dtype,
)

__all__ = [
    "REQUIRED",
    "TABLE_SCHEMA",
    "WIRE_SCHEMA",
    "KProLead",
    "ParsedPage",
    "parse_page",
    "parse_raw_page",
    "parse_records",
    "raw_hash",
]

_ID_NAME = pl.Struct({"id": pl.Int64, "name": pl.String})
_DEVELOPMENT = pl.Struct(
    {
        "id": pl.Int64,
        "externalRef": pl.String,
        "name": pl.String,
        "building": pl.String,
        "street": pl.String,
        "postcode": pl.String,
        "town": pl.String,
    }
)
_LOCAL_AUTHORITY = pl.Struct(
    {
        "id": pl.Int64,
        "name": pl.String,
        "slug": pl.String,
        "longName": pl.String,
        "mapitId": pl.Int64,
    }
)

#: The lead object as it arrives (spec §3.3), in documented order.
_WIRE: dict[str, Any] = {
    "id": pl.Int64,
    "externalRef": pl.String,
    "housingProvider": pl.Struct({"id": pl.Int64, "name": pl.String, "slug": pl.String}),
    "listing": pl.Struct(
        {
            "id": pl.Int64,
            "externalRef": pl.String,
            "name": pl.String,
            "availabilityStatus": pl.String,
            "schemeGroup": pl.String,
            "schemes": pl.List(pl.String),
            "development": _DEVELOPMENT,
        }
    ),
    "development": _DEVELOPMENT,
    "property": pl.Struct(
        {
            "id": pl.Int64,
            "externalRef": pl.String,
            "propertyNumber": pl.String,
            "name": pl.String,
            "newBuild": pl.Boolean,
            "bedrooms": pl.Int64,
            "bathrooms": pl.Int64,
        }
    ),
    "site": pl.Struct({"id": pl.Int64, "code": pl.String, "name": pl.String}),
    "source": _ID_NAME,
    "eligibilityStatus": pl.String,
    "customerId": pl.Int64,
    "email": pl.String,
    "title": pl.String,
    "firstName": pl.String,
    "lastName": pl.String,
    "fullName": pl.String,
    "phone": pl.String,
    "dateOfBirth": pl.String,
    "livingCircumstance": _ID_NAME,
    "homeAddress": pl.String,
    "homePostcode": pl.String,
    "homeLocalAuthority": pl.String,
    "workingCircumstance": _ID_NAME,
    "workAddress": pl.String,
    "workPostcode": pl.String,
    "workLocalAuthority": pl.String,
    "occupation": pl.String,
    "employerName": pl.String,
    "annualHouseholdIncome": pl.Float64,
    "deposit": pl.Float64,
    "dependants": pl.Int64,
    "eligibleCitizen": pl.Boolean,
    "firstTimeBuyer": pl.Boolean,
    "homeOwnershipStatus": pl.Int64,
    "armedForcesMember": pl.Boolean,
    "hasDisability": pl.Boolean,
    "keyworker": pl.Boolean,
    "housingWaitingList": pl.Boolean,
    "buyingInterestPeriod": _ID_NAME,
    "additionalInfo": pl.String,
    "hearAboutUs": pl.String,
    "enquiryType": pl.String,
    "updatedAt": pl.String,
    "createdAt": pl.String,
}
WIRE_SCHEMA = pl.Schema(_WIRE)

#: Fields the spec marks not nullable; a record without one is rejected.
REQUIRED = (
    "id",
    "housingProvider",
    "site",
    "eligibilityStatus",
    "customerId",
    "email",
    "updatedAt",
    "createdAt",
)

_TIMESTAMPS = ("updatedAt", "createdAt")
_LOCAL_AUTHORITIES = ("homeLocalAuthority", "workLocalAuthority")
_UTC = pl.Datetime("us", "UTC")


def _table_schema() -> pl.Schema:
    cols: dict[str, pl.DataType] = {}
    for name, dtype in WIRE_SCHEMA.items():
        col = snake_case(name)
        if name in _TIMESTAMPS:
            cols[col] = _UTC
        elif name == "dateOfBirth":
            cols[col] = pl.Date()
        else:
            cols[col] = snake_dtype(dtype)
        if name in _LOCAL_AUTHORITIES:
            cols[f"{col}_details"] = snake_dtype(_LOCAL_AUTHORITY)
    cols.update(
        {
            "_source": pl.String(),
            "_run_id": pl.String(),
            "_extracted_at": _UTC,
            "_raw": pl.String(),
            "_hash": pl.Int64(),
        }
    )
    return pl.Schema(cols)


#: The ``kpro_leads`` table: snake_case, STRUCTs kept, timestamps UTC, lineage columns.
TABLE_SCHEMA = _table_schema()


class _Obj(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _IdName(_Obj):
    id: int | None = None
    name: str | None = None


class _Site(_Obj):
    id: int
    code: str | None = None
    name: str | None = None


class KProLead(BaseModel):
    """One exported KPro lead, checked record by record on the slow path.

    Types follow spec §3.3; unknown keys are allowed (kept in ``_raw``). Nested objects are
    checked for type only; the top-level non-nullable fields must be present.
    """

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)

    id: int
    externalRef: str | None = None
    housingProvider: _Obj
    listing: _Obj | None = None
    development: _Obj | None = None
    property: _Obj | None = None
    site: _Site
    source: _IdName | None = None
    eligibilityStatus: str
    customerId: int
    email: str
    title: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    fullName: str | None = None
    phone: str | None = None
    dateOfBirth: str | None = PydField(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    livingCircumstance: _IdName | None = None
    homeAddress: str | None = None
    homePostcode: str | None = None
    homeLocalAuthority: str | _Obj | None = None
    workingCircumstance: _IdName | None = None
    workAddress: str | None = None
    workPostcode: str | None = None
    workLocalAuthority: str | _Obj | None = None
    occupation: str | None = None
    employerName: str | None = None
    annualHouseholdIncome: float | None = None
    deposit: float | None = None
    dependants: int | None = None
    eligibleCitizen: bool | None = None
    firstTimeBuyer: bool | None = None
    homeOwnershipStatus: int | None = None
    armedForcesMember: bool | None = None
    hasDisability: bool | None = None
    keyworker: bool | None = None
    housingWaitingList: bool | None = None
    buyingInterestPeriod: _IdName | None = None
    additionalInfo: str | None = None
    hearAboutUs: str | None = None
    enquiryType: str | None = None
    updatedAt: str
    createdAt: str


@dataclass
class ParsedPage:
    """The result of parsing one page of records."""

    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    max_created_at: datetime | None = None


def parse_page(
    records: list[Any], *, source: str, run_id: str, extracted_at: datetime, context: str = ""
) -> ParsedPage:
    """Turn a page's decoded records into ``kpro_leads`` rows plus rejects.

    The extract itself uses :func:`parse_raw_page` on the records' undecoded JSON text; this
    is the same for records already decoded (re-encoded compactly for ``_raw``).

    Args:
        records: the ``data`` array of the envelope, as decoded JSON.
        source: the configured source name (``_source``).
        run_id: the run's id (``_run_id``).
        extracted_at: the run's start (``_extracted_at``).
        context: where the page came from, stored with each reject.
    """
    return parse_raw_page(
        [orjson.dumps(rec) for rec in records],
        source=source,
        run_id=run_id,
        extracted_at=extracted_at,
        context=context,
    )


def parse_raw_page(
    raws: Sequence[bytes], *, source: str, run_id: str, extracted_at: datetime, context: str = ""
) -> ParsedPage:
    """Turn a page's records, each the JSON text the API sent, into ``kpro_leads`` rows
    plus rejects. ``_raw`` keeps each record's text byte for byte.

    Example:
        >>> from datetime import UTC
        >>> good = b'{"id": 1, "housingProvider": {"id": 2}, "site": {"id": 3}, '
        >>> good += b'"eligibilityStatus": "eligible", "customerId": 4, "email": "a@b.uk", '
        >>> good += b'"updatedAt": "2021-03-01T10:00:00Z", "createdAt": "2021-03-01T10:00:00Z"}'
        >>> page = parse_raw_page([good, b"7"], source="main", run_id="r1",
        ...                       extracted_at=datetime(2021, 3, 1, tzinfo=UTC))
        >>> page.frame.height, page.frame["_raw"][0] == good.decode(), page.rejects[0].reason
        (1, True, 'record is not a JSON object')
    """
    objects: list[bytes] = []
    lines: list[bytes] = []
    rejects: list[Reject] = []
    for raw in raws:
        if not raw.startswith(b"{"):
            rejects.append(
                Reject("record is not a JSON object", raw.decode("utf-8", "replace"), None, context)
            )
            continue
        objects.append(raw)
        # Q7: ``listing.Development`` is read as ``listing.development`` (rare: decode only then).
        line = _fix_development(raw) if b'"Development"' in raw else raw
        if b"\n" in line or b"\r" in line:
            # A pretty-printed record: one NDJSON line needs it on one line. Raw line breaks
            # can only be whitespace between tokens (JSON strings escape them).
            line = line.replace(b"\r", b" ").replace(b"\n", b" ")
        lines.append(line)
    frame, more = parse_records(objects, lines, context=context)
    rejects.extend(more)
    if frame.height == 0:
        return ParsedPage(_empty(), rejects)
    out = _to_table(frame, source=source, run_id=run_id, extracted_at=extracted_at)
    return ParsedPage(out, rejects, out["created_at"].max())  # type: ignore[arg-type]


def _fix_development(raw: bytes) -> bytes:
    """The record with ``listing.Development`` renamed ``development`` (Q7), if it has one."""
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # the readers below report it
    listing = rec.get("listing") if isinstance(rec, dict) else None
    if isinstance(listing, dict) and "Development" in listing and "development" not in listing:
        fixed = dict(listing)
        fixed["development"] = fixed.pop("Development")
        return orjson.dumps({**rec, "listing": fixed})
    return raw


def parse_records(
    raws: Sequence[bytes], lines: Sequence[bytes], *, context: str = ""
) -> tuple[pl.DataFrame, list[Reject]]:
    """Read records with :data:`WIRE_SCHEMA` plus a ``_raw`` column; return rows and rejects.

    ``raws`` are the records as received; ``lines`` the same records after quirk fixes.
    """
    rejects: list[Reject] = []
    if not lines:
        return _wire_empty(), rejects
    try:
        frame = _read(lines)
    except pl.exceptions.PolarsError:
        good_raw: list[bytes] = []
        good_lines: list[bytes] = []
        for raw, line in zip(raws, lines, strict=True):
            reason = _record_problem(line)
            if reason is None:
                good_raw.append(raw)
                good_lines.append(line)
            else:
                rejects.append(reject_from_raw(raw, reason, context, "id"))
        if not good_lines:
            return _wire_empty(), rejects
        frame = _read(good_lines)
        raws = good_raw
    frame = frame.with_columns(
        _raw_text(raws),
        pl.Series("_hash", [raw_hash(r) for r in raws], pl.Int64),
    )
    return _check(frame, rejects, context)


def _raw_text(raws: Sequence[bytes]) -> pl.Series:
    """The ``_raw`` column: each record's bytes as text (invalid UTF-8 replaced, which the
    JSON reader has already refused, so it does not happen for rows that load)."""
    try:
        return pl.Series("_raw", raws, pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return pl.Series("_raw", [r.decode("utf-8", "replace") for r in raws], pl.String)


def raw_hash(raw: bytes) -> int:
    """A stable 64-bit fingerprint of a raw record (``_hash``): tells changed rows apart
    without comparing the whole ``_raw`` text.

    Example:
        >>> raw_hash(b'{"id":1}') == raw_hash(b'{"id":1}') != raw_hash(b'{"id":2}')
        True
    """
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little", signed=True)


def _read(lines: Sequence[bytes]) -> pl.DataFrame:
    """Records (one JSON object per line) as a :data:`WIRE_SCHEMA` frame.

    Arrow's JSON reader goes first: it reads a page in about two thirds of the CPU time
    polars' reader takes. It refuses any value of another JSON type than the schema's
    (e.g. Q6's object-shaped local authority); polars' reader, which turns such a value
    into text where it can, then reads the page as before.
    """
    data = b"\n".join(lines)
    import pyarrow as pa

    try:
        return _read_arrow(data)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pl.read_ndjson(io.BytesIO(data), schema=WIRE_SCHEMA)


def _read_arrow(data: bytes) -> pl.DataFrame:
    import pyarrow as pa
    import pyarrow.json as pa_json

    parse, read = _arrow_options()
    table = pa_json.read_json(pa.BufferReader(data), read_options=read, parse_options=parse)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@functools.cache
def _arrow_options() -> tuple[Any, Any]:
    """Arrow's JSON options for :data:`WIRE_SCHEMA` (Arrow reads JSON into the classic
    string and list types only, polars' large ones converted)."""
    import pyarrow as pa
    import pyarrow.json as pa_json

    def classic(t: Any) -> Any:
        if pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_large_list(t):
            return pa.list_(classic(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, classic(f.type)) for f in t])
        return t

    wire = pl.DataFrame(schema=WIRE_SCHEMA).to_arrow().schema
    schema = pa.schema([pa.field(f.name, classic(f.type)) for f in wire])
    parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    # One thread and one block per page: the engine parses several pages at once.
    read = pa_json.ReadOptions(use_threads=False, block_size=1 << 24)
    return parse, read


def _record_problem(line: bytes) -> str | None:
    """Why one record cannot be read, or ``None`` if it can (slow path only)."""
    try:
        KProLead.model_validate_json(line)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
    try:
        _read([line])
    except pl.exceptions.PolarsError as exc:
        return f"unreadable record: {str(exc).splitlines()[0][:200]}"
    return None


def _check(
    frame: pl.DataFrame, rejects: list[Reject], context: str
) -> tuple[pl.DataFrame, list[Reject]]:
    """Column-wise checks: required fields, timestamp and date formats."""
    checks: list[pl.Expr] = []
    for name in REQUIRED:
        checks.append(pl.when(pl.col(name).is_null()).then(pl.lit(f"{name} is missing or null")))
    for name in _TIMESTAMPS:
        bad = pl.col(name).is_not_null() & parse_timestamp(pl.col(name)).is_null()
        checks.append(
            pl.when(bad).then(
                pl.format("{} {} is not an ISO 8601 date-time", pl.lit(name), pl.col(name))
            )
        )
    dob = pl.col("dateOfBirth")
    bad_dob = dob.is_not_null() & dob.str.to_date("%Y-%m-%d", strict=False).is_null()
    checks.append(pl.when(bad_dob).then(pl.format("dateOfBirth {} is not a YYYY-MM-DD date", dob)))
    reason = pl.concat_str(checks, separator="; ", ignore_nulls=True)
    is_bad = pl.col("_reason").is_not_null() & (pl.col("_reason") != "")
    reasons = frame.select(reason.alias("_reason"))
    if not reasons.select(is_bad.any()).item():
        return frame, rejects  # the usual case: nothing to split off (no copy of the page)
    flagged = frame.with_columns(reasons.get_column("_reason"))
    bad_rows = flagged.filter(is_bad)
    for row in bad_rows.select("id", "_raw", "_reason").iter_rows():
        rid = None if row[0] is None else str(row[0])
        rejects.append(Reject(row[2], row[1], rid, context))
    good = flagged.filter(pl.col("_reason").is_null() | (pl.col("_reason") == "")).drop("_reason")
    return good, rejects


def _local_authority(col: str) -> list[pl.Expr]:
    """Q6: a local authority is a name string or a details object (arrives as JSON text)."""
    text = pl.col(col)
    is_obj = text.str.starts_with("{")
    details = (
        pl.when(is_obj)
        .then(text)
        .otherwise(pl.lit(None, pl.String))
        .str.json_decode(_LOCAL_AUTHORITY)
    )
    details = rename_to_snake(details, _LOCAL_AUTHORITY)
    name = pl.when(is_obj).then(details.struct.field("name")).otherwise(text)
    snake = snake_case(col)
    return [name.alias(snake), details.alias(f"{snake}_details")]


def _to_table(
    frame: pl.DataFrame, *, source: str, run_id: str, extracted_at: datetime
) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for name, dtype in WIRE_SCHEMA.items():
        col = snake_case(name)
        if name in _TIMESTAMPS:
            exprs.append(parse_timestamp(pl.col(name)).alias(col))
        elif name == "dateOfBirth":
            exprs.append(pl.col(name).str.to_date("%Y-%m-%d", strict=False).alias(col))
        elif name in _LOCAL_AUTHORITIES:
            exprs.extend(_local_authority(name))
        elif isinstance(dtype, pl.Struct):
            exprs.append(rename_to_snake(pl.col(name), dtype).alias(col))
        else:
            exprs.append(pl.col(name).alias(col))
    exprs += [
        pl.lit(source, pl.String).alias("_source"),
        pl.lit(run_id, pl.String).alias("_run_id"),
        pl.lit(extracted_at, _UTC).alias("_extracted_at"),
        pl.col("_raw"),
        pl.col("_hash"),
    ]
    out = frame.select(exprs)
    # One row per id: a page that repeats an id keeps its last occurrence.
    if out.get_column("id").is_duplicated().any():
        out = out.unique(subset=["id"], keep="last", maintain_order=True)
    return out.select([pl.col(c).cast(t) for c, t in TABLE_SCHEMA.items()])


def _wire_empty() -> pl.DataFrame:
    return pl.DataFrame(schema={**WIRE_SCHEMA, "_raw": pl.String, "_hash": pl.Int64})


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=TABLE_SCHEMA)
