"""Care-home responses → clean, typed ``carehome_leads`` rows (spec §2, §5, §6).

Two steps, both pure functions the engine can run off the event loop:

1. :func:`split_body` decodes a response — a bare JSON array or the ``{"data": [...]}``
   envelope — and returns every record together with **its exact text** in the body, so
   ``_raw`` keeps the record byte for byte. A body that is not such JSON raises
   :class:`BodyError` (no repair: spec Q5).
2. :func:`normalise` turns the records into one polars frame in the warehouse shape,
   column-wise: strings stripped (blank → null); list-strings parsed by
   :func:`~leadkit.systems.carehome.values.parse_list_string` once per distinct value and
   joined back; e-mails lower-cased; telephones to E.164 once per distinct value; ``date`` →
   TIMESTAMPTZ; ``visitDate`` → DATE; budget keys in snake_case or camelCase. Problems that
   do not make a record unusable are **data-quality warnings**: codes in the row's
   ``dq_warnings`` (see :data:`WARNINGS`), counted per run in ``_runs.warnings``. A record
   without a usable ``id``, ``category.id`` or ``date`` is rejected (``_rejects``), and so is
   one that reuses an ``id`` with another category (spec Q6, :func:`quarantine`).

Example:
    >>> from datetime import UTC, datetime
    >>> body = (b'[{"id": 7, "category": {"id": 2, "name": "In Person Visit Request"}, '
    ...         b'"from": " Jo@Example.COM ", "date": "2021-04-26T10:06:45.724Z", '
    ...         b'"onBehalfOf": "[\\'Family member\\']", "funding": "[\\'Part Buy, Part Rent\\']", '
    ...         b'"timescales": null, "telephone": "01900 000000", '
    ...         b'"categorySpecificData": {"visitDate": "2021-02-30", '
    ...         b'"visitTime": "We don\\'t get this"}}]')
    >>> records, raws = split_body(body)
    >>> page = normalise(records, raws, source="ch", run_id="r1",
    ...                  extracted_at=datetime(2024, 1, 1, tzinfo=UTC))
    >>> row = page.frame.row(0, named=True)
    >>> row["from_email"], row["funding"], row["timescales"], row["telephone"]
    ('jo@example.com', ['Part Buy, Part Rent'], [], '+441900000000')
    >>> row["visit_date"], row["visit_time"], row["dq_warnings"], page.warnings
    (None, "We don't get this", ['visit_date_invalid'], 1)
    >>> row["_raw"] == raws[0] == body[1:-1].decode()
    True
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from leadkit.systems.base import Reject
from leadkit.systems.carehome.reference import ALL_CATEGORY_IDS
from leadkit.systems.carehome.values import _parse, normalise_phone

__all__ = [
    "LIST_FIELDS",
    "TABLE_SCHEMA",
    "WARNINGS",
    "WIRE_SCHEMA",
    "BodyError",
    "NormalisedPage",
    "normalise",
    "quarantine",
    "raw_hash",
    "split_body",
]

_S = pl.String
_UTC = pl.Datetime("us", "UTC")

_CSD = pl.Struct(
    {
        "instruction": _S,
        "visitDate": _S,
        "visitTime": _S,
        "emailPermission": pl.Boolean,
        "phonePermission": pl.Boolean,
        "budget_type": _S,
        "budget_min": pl.Int64,
        "budget_max": pl.Int64,
        "budgetType": _S,
        "budgetMin": pl.Int64,
        "budgetMax": pl.Int64,
        "currentCircumstances": _S,
    }
)

#: A Lead object as it arrives (spec §2.1), plus Q14's optional ``currentCircumstances``.
_WIRE: dict[str, Any] = {
    "id": pl.Int64,
    "category": pl.Struct({"id": pl.Int64, "name": _S}),
    "service": pl.Struct({"id": pl.Int64, "name": _S, "postcode": _S}),
    "to": _S,
    "from": _S,
    "date": _S,
    "content": _S,
    "enquirerFirstName": _S,
    "enquirerSurname": _S,
    "onBehalfOf": _S,
    "residentFirstName": _S,
    "residentSurname": _S,
    "telephone": _S,
    "isAnonymised": pl.Boolean,
    "funding": _S,
    "timescales": _S,
    "currentCircumstances": _S,
    "categorySpecificData": _CSD,
}

WIRE_SCHEMA = pl.Schema(_WIRE)

#: ``carehome_leads`` columns, in order.
_TABLE: dict[str, Any] = {
    "id": pl.Int64,
    "category_id": pl.Int32,
    "category_name": _S,
    "service": pl.Struct({"id": pl.Int64, "name": _S, "postcode": _S}),
    "to_email": _S,
    "from_email": _S,
    "date": _UTC,
    "content": _S,
    "enquirer_first_name": _S,
    "enquirer_surname": _S,
    "on_behalf_of": pl.List(_S),
    "resident_first_name": _S,
    "resident_surname": _S,
    "telephone": _S,
    "is_anonymised": pl.Boolean,
    "funding": pl.List(_S),
    "timescales": pl.List(_S),
    "instruction": _S,
    "visit_date": pl.Date,
    "visit_time": _S,
    "email_permission": pl.Boolean,
    "phone_permission": pl.Boolean,
    "budget_type": _S,
    "budget_min": pl.Int64,
    "budget_max": pl.Int64,
    "current_circumstances": _S,
    "dq_warnings": pl.List(_S),
    "_source": _S,
    "_run_id": _S,
    "_extracted_at": _UTC,
    "_raw": _S,
    "_hash": pl.Int64,
}

TABLE_SCHEMA = pl.Schema(_TABLE)

#: API field → column of the three list-strings (spec Q4).
LIST_FIELDS = {"onBehalfOf": "on_behalf_of", "funding": "funding", "timescales": "timescales"}

WARNINGS: dict[str, str] = {
    "on_behalf_of_unparseable": "onBehalfOf is not a list of strings; the text is kept as one item",
    "funding_unparseable": "funding is not a list of strings; the text is kept as one item",
    "timescales_unparseable": "timescales is not a list of strings; the text is kept as one item",
    "telephone_unparseable": "telephone is not a valid number; the text is kept as it was",
    "visit_date_invalid": "visitDate is not a YYYY-MM-DD date; visit_date is null",
    "email_invalid": "from is not an e-mail address; kept as it was (lower-cased)",
    "category_unknown": "category.id is not one of the documented 1..8; kept",
}
"""Data-quality warning codes stored in ``dq_warnings`` → what they mean."""

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class BodyError(ValueError):
    """A response body that is not a JSON array of records (nor the ``data`` envelope)."""


@dataclass
class NormalisedPage:
    """Rows for ``carehome_leads`` from one response.

    Attributes:
        frame: rows in :data:`TABLE_SCHEMA`.
        rejects: records that could not be used.
        warnings: data-quality warnings in ``frame`` (sum of ``dq_warnings`` lengths).
        received: records in the response that belong to it (after ``before``).
    """

    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    warnings: int = 0
    received: int = 0


def split_body(body: bytes) -> tuple[list[Any], list[str]]:
    """Decode a response into its records and each record's exact text.

    Raises:
        BodyError: not UTF-8, not JSON, or neither an array nor an object with ``data``.

    Example:
        >>> split_body(b' [ {"id": 1} ,{"id":2}]')
        ([{'id': 1}, {'id': 2}], ['{"id": 1}', '{"id":2}'])
        >>> split_body(b'{"data": [{"id": 1}], "error": []}')[1]
        ['{"id": 1}']
        >>> split_body('[{"onBehalfOf": “[]”}]'.encode())
        Traceback (most recent call last):
        ...
        leadkit.systems.carehome.normalise.BodyError: not valid JSON: Expecting value: line 1 column 17 (char 16)
    """  # noqa: E501
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"not UTF-8: {exc}") from None
    try:
        i = _WS.match(text, 0).end()  # type: ignore[union-attr]
        if text.startswith("[", i):
            records, raws, end = _array(text, i)
        elif text.startswith("{", i):
            records, raws, end = _envelope(text, i)
        else:
            _DECODER.raw_decode(text, i)  # the decoder's own message for what is there
            raise BodyError("neither a JSON array nor an object with `data`")
        if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
            raise BodyError(f"extra data after the JSON value at char {end}")
    except json.JSONDecodeError as exc:
        raise BodyError(f"not valid JSON: {exc}") from None
    except (IndexError, RecursionError) as exc:
        raise BodyError(f"not valid JSON: {type(exc).__name__}") from None
    return records, raws


def _array(text: str, i: int) -> tuple[list[Any], list[str], int]:
    """The elements of the array starting at ``text[i] == '['``, and the index after it."""
    records: list[Any] = []
    raws: list[str] = []
    i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", i):
        return records, raws, i + 1
    while True:
        obj, end = _DECODER.raw_decode(text, i)
        records.append(obj)
        raws.append(text[i:end])
        i = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith("]", i):
            return records, raws, i + 1
        if not text.startswith(",", i):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]


def _envelope(text: str, i: int) -> tuple[list[Any], list[str], int]:
    """``{"data": [...], ...}``: the records of ``data`` (other keys are skipped)."""
    found: tuple[list[Any], list[str]] | None = None
    i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", i):
        raise BodyError("an object without `data`")
    while True:
        key, i = _DECODER.raw_decode(text, i)
        if not isinstance(key, str):
            raise json.JSONDecodeError("Expecting property name", text, i)
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if not text.startswith(":", i):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        if key == "data" and text.startswith("[", i):
            records, raws, i = _array(text, i)
            found = (records, raws)
        else:
            _, i = _DECODER.raw_decode(text, i)
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if text.startswith("}", i):
            if found is None:
                raise BodyError("an object without a `data` array")
            return found[0], found[1], i + 1
        if not text.startswith(",", i):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]


def raw_hash(raw: str) -> int:
    """A stable 64-bit fingerprint of a record's exact text (``_hash``): BLAKE2b of its
    UTF-8 bytes, the same function as KPro's, so it does not change with the polars version
    (a seeded polars hash would make every row look updated after an upgrade).

    Example:
        >>> raw_hash('{"id": 1}') == raw_hash('{"id": 1}') != raw_hash('{"id": 2}')
        True
        >>> raw_hash("")
        -5426141060434712860
    """
    digest = hashlib.blake2b(raw.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _with_raw(frame: pl.DataFrame, raws: list[str]) -> pl.DataFrame:
    """``frame`` plus ``_raw`` and its ``_hash``."""
    return frame.with_columns(
        pl.Series("_raw", raws, _S), pl.Series("_hash", [raw_hash(r) for r in raws], pl.Int64)
    )


def _strip(expr: pl.Expr) -> pl.Expr:
    """Strip whitespace; blank → null."""
    stripped = expr.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def _build(
    objs: list[dict[str, Any]], raws: list[str], context: str
) -> tuple[pl.DataFrame, list[Reject]]:
    """The wire frame (plus ``_raw``); a record whose value has the wrong JSON type for
    its field is rejected on its own (slow path, only when the fast path fails)."""
    try:
        frame = pl.DataFrame(objs, schema=WIRE_SCHEMA, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        rejects: list[Reject] = []
        keep: list[int] = []
        for n, obj in enumerate(objs):
            try:
                pl.DataFrame([obj], schema=WIRE_SCHEMA, strict=False)
                keep.append(n)
            except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
                why = str(exc).splitlines()[0][:200]
                rid = obj.get("id")
                rejects.append(
                    Reject(f"a value has the wrong JSON type: {why}", raws[n],
                           None if rid is None else str(rid), context)
                )  # fmt: skip
        objs = [objs[n] for n in keep]
        raws = [raws[n] for n in keep]
        frame = pl.DataFrame(objs, schema=WIRE_SCHEMA, strict=False)
        return _with_raw(frame, raws), rejects
    return _with_raw(frame, raws), []


def _circumstances_as_text(rec: dict[str, Any]) -> dict[str, Any]:
    """The record with a ``currentCircumstances`` that is not text (undocumented shape, e.g.
    a JSON list) turned into its JSON text, so the record is kept (spec Q14: accept it if
    present); the record itself (``_raw``) is untouched."""
    top = rec.get("currentCircumstances")
    csd = rec.get("categorySpecificData")
    inner = csd.get("currentCircumstances") if isinstance(csd, dict) else None
    if (top is None or isinstance(top, str)) and (inner is None or isinstance(inner, str)):
        return rec
    out = dict(rec)
    if top is not None and not isinstance(top, str):
        out["currentCircumstances"] = json.dumps(top, ensure_ascii=False)
    if inner is not None and not isinstance(inner, str) and isinstance(csd, dict):
        out["categorySpecificData"] = {
            **csd,
            "currentCircumstances": json.dumps(inner, ensure_ascii=False),
        }
    return out


def _list_lookup(frame: pl.DataFrame) -> pl.DataFrame:
    """Each distinct list-string of the page, parsed once (cached across pages)."""
    values = (
        pl.concat([frame.get_column(f) for f in LIST_FIELDS], how="vertical")
        .drop_nulls()
        .unique()
        .to_list()
    )
    parsed = [_parse(v) for v in values]
    lookup = pl.DataFrame(
        {
            "_key": values,
            "_list": [list(p) if p is not None else None for p in parsed],
            "_ok": [p is not None for p in parsed],
        },
        schema={"_key": _S, "_list": pl.List(_S), "_ok": pl.Boolean},
    )
    return lookup.with_columns(pl.col("_list").list.eval(pl.element().str.strip_chars()))


def _phone_lookup(frame: pl.DataFrame) -> pl.DataFrame:
    """Each distinct telephone text of the page → E.164 (cached across pages)."""
    values = frame.get_column("telephone").drop_nulls().unique().to_list()
    return pl.DataFrame(
        {"telephone": values, "_e164": [normalise_phone(v) for v in values]},
        schema={"telephone": _S, "_e164": _S},
    )


def normalise(
    records: list[Any],
    raws: list[str],
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
    context: str = "",
    before: datetime | None = None,
) -> NormalisedPage:
    """Normalise one response's records (see the module docstring).

    Args:
        records: decoded records (from :func:`split_body`).
        raws: each record's exact text.
        source: the configured source name (``_source``).
        run_id: ``_run_id``.
        extracted_at: ``_extracted_at``.
        context: where they came from (the window), stored with rejects.
        before: drop records dated at or after this instant: they belong to the next
            window (windows share their boundary instant, spec §1).
    """
    rejects: list[Reject] = []
    objs: list[dict[str, Any]] = []
    kept: list[str] = []
    for rec, raw in zip(records, raws, strict=True):
        if isinstance(rec, dict):
            objs.append(_circumstances_as_text(rec))
            kept.append(raw)
        else:
            rejects.append(Reject("record is not a JSON object", raw, None, context))
    if not objs:
        return NormalisedPage(pl.DataFrame(schema=TABLE_SCHEMA), rejects, 0, len(rejects))
    wire, bad_types = _build(objs, kept, context)
    rejects += bad_types
    date = pl.col("date").str.to_datetime("%+", time_zone="UTC", time_unit="us", strict=False)
    wire = wire.with_columns(date.alias("_date"))
    if before is not None:
        wire = wire.filter(pl.col("_date").is_null() | (pl.col("_date") < before))
    received = wire.height + len(rejects)
    problems = pl.concat_str(
        [
            pl.when(pl.col("id").is_null()).then(pl.lit("id is missing or not an integer")),
            pl.when(pl.col("category").struct.field("id").is_null()).then(
                pl.lit("category.id is missing or not an integer")
            ),
            pl.when(pl.col("_date").is_null()).then(
                pl.format("date {} is not an ISO 8601 date-time", pl.col("date").fill_null("null"))
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    wire = wire.with_columns(problems.alias("_why"))
    bad = pl.col("_why").is_not_null() & (pl.col("_why") != "")
    for rid, raw, why in wire.filter(bad).select("id", "_raw", "_why").iter_rows():
        rejects.append(Reject(why, raw, None if rid is None else str(rid), context))
    wire = wire.filter(~bad)
    frame = _to_table(wire, source=source, run_id=run_id, extracted_at=extracted_at)
    frame, dupes = _same_page_conflicts(frame, context)
    rejects += dupes
    warnings = int(frame.get_column("dq_warnings").list.len().sum() or 0)
    return NormalisedPage(frame, rejects, warnings, received)


def _to_table(
    wire: pl.DataFrame, *, source: str, run_id: str, extracted_at: datetime
) -> pl.DataFrame:
    if wire.height == 0:
        return pl.DataFrame(schema=TABLE_SCHEMA)
    lists = _list_lookup(wire)
    for api, col in LIST_FIELDS.items():
        wire = wire.join(
            lists.rename({"_list": f"_{col}_list", "_ok": f"_{col}_ok"}),
            left_on=api,
            right_on="_key",
            how="left",
            coalesce=True,
        )
    wire = wire.join(_phone_lookup(wire), on="telephone", how="left")
    csd = pl.col("categorySpecificData")

    def list_value(api: str, col: str) -> pl.Expr:
        raw = pl.col(api)
        return (
            pl.when(raw.is_null())
            .then(pl.lit([], pl.List(_S)))
            .when(pl.col(f"_{col}_ok"))
            .then(pl.col(f"_{col}_list"))
            .otherwise(pl.concat_list(raw.str.strip_chars()))
        )

    phone_text = _strip(pl.col("telephone"))
    from_email = _strip(pl.col("from")).str.to_lowercase()
    visit_text = _strip(csd.struct.field("visitDate"))
    visit_date = (
        pl.when(visit_text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
        .then(visit_text)
        .str.to_date("%Y-%m-%d", strict=False)
    )
    category_id = pl.col("category").struct.field("id")
    warns = [
        *(
            pl.when(pl.col(api).is_not_null() & ~pl.col(f"_{col}_ok")).then(
                pl.lit(f"{col}_unparseable")
            )
            for api, col in LIST_FIELDS.items()
        ),
        pl.when(phone_text.is_not_null() & pl.col("_e164").is_null()).then(
            pl.lit("telephone_unparseable")
        ),
        pl.when(visit_text.is_not_null() & visit_date.is_null()).then(pl.lit("visit_date_invalid")),
        pl.when(from_email.is_not_null() & ~from_email.str.contains(_EMAIL)).then(
            pl.lit("email_invalid")
        ),
        pl.when(~category_id.is_in(list(ALL_CATEGORY_IDS))).then(pl.lit("category_unknown")),
    ]
    service = pl.col("service")
    out = wire.select(
        pl.col("id"),
        category_id.cast(pl.Int32).alias("category_id"),
        _strip(pl.col("category").struct.field("name")).alias("category_name"),
        pl.struct(
            service.struct.field("id").alias("id"),
            _strip(service.struct.field("name")).alias("name"),
            _strip(service.struct.field("postcode")).alias("postcode"),
        ).alias("service"),
        _strip(pl.col("to")).str.to_lowercase().alias("to_email"),
        from_email.alias("from_email"),
        pl.col("_date").alias("date"),
        _strip(pl.col("content")).alias("content"),
        _strip(pl.col("enquirerFirstName")).alias("enquirer_first_name"),
        _strip(pl.col("enquirerSurname")).alias("enquirer_surname"),
        list_value("onBehalfOf", "on_behalf_of").alias("on_behalf_of"),
        _strip(pl.col("residentFirstName")).alias("resident_first_name"),
        _strip(pl.col("residentSurname")).alias("resident_surname"),
        pl.coalesce(pl.col("_e164"), phone_text).alias("telephone"),
        pl.col("isAnonymised").alias("is_anonymised"),
        list_value("funding", "funding").alias("funding"),
        list_value("timescales", "timescales").alias("timescales"),
        _strip(csd.struct.field("instruction")).alias("instruction"),
        visit_date.alias("visit_date"),
        _strip(csd.struct.field("visitTime")).alias("visit_time"),
        csd.struct.field("emailPermission").alias("email_permission"),
        csd.struct.field("phonePermission").alias("phone_permission"),
        _strip(pl.coalesce(csd.struct.field("budget_type"), csd.struct.field("budgetType"))).alias(
            "budget_type"
        ),
        pl.coalesce(csd.struct.field("budget_min"), csd.struct.field("budgetMin")).alias(
            "budget_min"
        ),
        pl.coalesce(csd.struct.field("budget_max"), csd.struct.field("budgetMax")).alias(
            "budget_max"
        ),
        _strip(
            pl.coalesce(pl.col("currentCircumstances"), csd.struct.field("currentCircumstances"))
        ).alias("current_circumstances"),
        pl.concat_list(warns).list.drop_nulls().alias("dq_warnings"),
        pl.lit(source, _S).alias("_source"),
        pl.lit(run_id, _S).alias("_run_id"),
        pl.lit(extracted_at, _UTC).alias("_extracted_at"),
        pl.col("_raw"),
        pl.col("_hash"),
    )
    return out.select([pl.col(c).cast(t) for c, t in TABLE_SCHEMA.items()])


def _same_page_conflicts(frame: pl.DataFrame, context: str) -> tuple[pl.DataFrame, list[Reject]]:
    """One row per id: a repeat with the same category keeps the last; a repeat with another
    category than the id's first occurrence is quarantined (spec Q6)."""
    if frame.height < 2 or frame.get_column("id").n_unique() == frame.height:
        return frame, []
    first = pl.col("category_id").first().over("id")
    clash = pl.col("category_id") != first
    rejects = _conflict_rejects(frame.filter(clash).with_columns(first.alias("_known")), context)
    frame = frame.filter(~clash).unique(subset=["id"], keep="last", maintain_order=True)
    return frame, rejects


def _conflict_rejects(clashes: pl.DataFrame, context: str) -> list[Reject]:
    """Rejects for rows whose ``id`` is known with another category (``_known``)."""
    return [
        Reject(
            f"id {rid} was already seen with category {known} in this run and now comes with "
            f"category {cat}: quarantined (ids must not change category, spec Q6)",
            raw,
            str(rid),
            context,
        )
        for rid, cat, known, raw in clashes.select(
            "id", "category_id", "_known", "_raw"
        ).iter_rows()
    ]


def quarantine(
    frame: pl.DataFrame, seen: dict[int, int], context: str
) -> tuple[pl.DataFrame, list[Reject]]:
    """Quarantine rows whose ``id`` was seen earlier in the run with another category, and
    remember the categories of the rest in ``seen`` (id → category id).

    Example:
        >>> f = pl.DataFrame({"id": [1, 2], "category_id": [3, 4], "_raw": ["{}", "{}"]})
        >>> seen = {2: 5}
        >>> kept, rejects = quarantine(f, seen, "w")
        >>> kept["id"].to_list(), [r.record_id for r in rejects], seen
        ([1], ['2'], {2: 5, 1: 3})
    """
    if frame.height == 0:
        return frame, []
    ids = frame.get_column("id").to_list()
    rejects: list[Reject] = []
    common = seen.keys() & set(ids)
    if common:
        known = pl.DataFrame(
            {"id": list(common), "_known": [seen[i] for i in common]},
            schema={"id": frame.schema["id"], "_known": frame.schema["category_id"]},
        )
        joined = frame.join(known, on="id", how="left", maintain_order="left")
        clash = pl.col("_known").is_not_null() & (pl.col("_known") != pl.col("category_id"))
        rejects = _conflict_rejects(joined.filter(clash), context)
        frame = joined.filter(~clash).drop("_known")
        ids = frame.get_column("id").to_list()
    seen.update(zip(ids, frame.get_column("category_id").to_list(), strict=True))
    return frame, rejects
