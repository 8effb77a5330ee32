"""Serialise rows of a lead frame into the JSON lead objects the KPro API sends.

Every documented field is written, ``null`` when absent, in documented order (spec §3.3).
Each lead is one ``concat_str`` of pre-encoded pieces (objects are looked up as JSON text,
numbers and booleans formatted in place), which polars runs column-wise. Strings come in
two modes with the same output for ordinary text (a test holds them to it):

* :meth:`LeadEncoder.encode_fast` quotes strings as they are: valid only when every string
  is JSON-safe (no ``"``, ``\\`` or control characters), which holds for generated leads
  (their strings come from :mod:`~leadkit.systems.kpro.vocab`);
* :meth:`LeadEncoder.encode` escapes every string (through polars' JSON writer): exact for
  any text, used whenever imported leads are among the rows.

Numbers that are whole are written without a decimal point (``40000``), others as decimals
(``40000.5``), as a JSON API would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
import polars as pl

from leadkit.systems.kpro import reference, vocab
from leadkit.systems.kpro.catalog import Catalog

__all__ = [
    "ATOM_FORMAT",
    "LEAD_FIELDS",
    "LOOKUPS",
    "MALFORMED_KINDS",
    "LeadEncoder",
    "is_json_safe",
]

ATOM_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"
"""PHP ``DATE_ATOM`` for UTC, as the API writes ``createdAt``/``updatedAt``."""

LEAD_FIELDS: tuple[str, ...] = (
    "id", "externalRef", "housingProvider", "listing", "development", "property", "site",
    "source", "eligibilityStatus", "customerId", "email", "title", "firstName", "lastName",
    "fullName", "phone", "dateOfBirth", "livingCircumstance", "homeAddress", "homePostcode",
    "homeLocalAuthority", "workingCircumstance", "workAddress", "workPostcode",
    "workLocalAuthority", "occupation", "employerName", "annualHouseholdIncome", "deposit",
    "dependants", "eligibleCitizen", "firstTimeBuyer", "homeOwnershipStatus",
    "armedForcesMember", "hasDisability", "keyworker", "housingWaitingList",
    "buyingInterestPeriod", "additionalInfo", "hearAboutUs", "enquiryType", "updatedAt",
    "createdAt",
)  # fmt: skip
"""Every field of an exported lead, in the documented order (spec §3.3)."""

MALFORMED_KINDS: tuple[str, ...] = ("email-null", "createdAt-not-a-date", "id-null", "site-null")
"""How a deliberately malformed lead breaks the spec (the ``malformed`` column indexes this)."""

# field → (index in MALFORMED_KINDS, value written instead)
_MALFORMED: Mapping[str, tuple[int, Any]] = {
    "email": (0, None),
    "createdAt": (1, "not a date"),
    "id": (2, None),
    "site": (3, None),
}

_LA_DTYPE = pl.Struct(
    {"id": pl.Int64, "name": pl.String, "slug": pl.String, "longName": pl.String,
     "mapitId": pl.Int64}
)  # fmt: skip


def _objects(rows: list[dict[str, Any]], dtype: pl.DataType | None = None) -> pl.Series:
    return pl.Series(rows, dtype=dtype)


def _id_names(table: tuple[Any, ...]) -> pl.Series:
    return _objects([{"id": item.id, "name": item.name} for item in table])


LOOKUPS: Mapping[str, pl.Series] = {
    "provider_row": _objects(
        [{"id": p.id, "name": p.name, "slug": p.slug} for p in vocab.HOUSING_PROVIDERS]
    ),
    "site_row": _objects([{"id": s.id, "code": s.code, "name": s.name} for s in reference.SITES]),
    "source_row": _objects([{"id": i, "name": name} for i, name in vocab.CUSTOM_SOURCES]),
    "period_row": _id_names(reference.BUYING_INTEREST_PERIODS),
    "living_row": _id_names(reference.LIVING_CIRCUMSTANCES),
    "working_row": _id_names(reference.WORKING_CIRCUMSTANCES),
    "la_row": _objects(
        [
            {"id": a.id, "name": a.name, "slug": a.slug, "longName": a.long_name,
             "mapitId": a.mapit_id}
            for a in vocab.LOCAL_AUTHORITIES
        ],
        _LA_DTYPE,
    ),
}  # fmt: skip
"""Objects that the frame's ``*_row`` columns point at (besides the catalog's)."""

_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


def is_json_safe(text: str) -> bool:
    """Whether ``text`` can be written between JSON quotes as it is.

    Example:
        >>> is_json_safe("O'Brien"), is_json_safe('say "hi"')
        (True, False)
    """
    return _UNSAFE.search(text) is None


def _json_strings(objects: pl.Series) -> pl.Series:
    """Each struct of ``objects`` as JSON text, written exactly as ``json_encode`` writes it."""
    return objects.to_frame("o").select(pl.col("o").struct.json_encode()).to_series()


def _quoted(column: pl.Expr, escaped: bool) -> pl.Expr:
    """A string column as JSON text: ``"value"`` or ``null``."""
    if escaped:
        encoded = pl.struct(column.alias("v")).struct.json_encode()  # {"v":"..."} or {"v":null}
        return encoded.str.slice(5).str.strip_suffix("}")
    return pl.concat_str(pl.lit('"'), column, pl.lit('"')).fill_null("null")


def _number(column: pl.Expr) -> pl.Expr:
    """A float column as JSON text: whole values without ``.0``."""
    whole = (column == column.round(0)) & (column.abs() < 1e15)
    text = pl.when(whole).then(column.cast(pl.Int64).cast(pl.String))
    return text.otherwise(column.cast(pl.String)).fill_null("null")


class LeadEncoder:
    """Turns lead-frame rows into JSON lead objects.

    Args:
        catalog: the inventory ``listing_row``/``dev_row``/``prop_row`` point into.
        local_authority_objects: write ``homeLocalAuthority``/``workLocalAuthority`` as
            ``{id, name, slug, longName, mapitId}`` objects instead of names (spec Q6).
    """

    def __init__(self, catalog: Catalog, *, local_authority_objects: bool = False):
        lookups = dict(LOOKUPS)
        lookups["listing_row"] = catalog.listings["listing"]
        lookups["dev_row"] = catalog.developments["development"]
        lookups["prop_row"] = catalog.properties["property"]
        la = ("lookup", "la_row") if local_authority_objects else ("str", "")
        kinds: dict[str, tuple[str, str]] = {
            "id": ("int", ""), "externalRef": ("str", ""),
            "housingProvider": ("lookup", "provider_row"), "listing": ("lookup", "listing_row"),
            "development": ("lookup", "dev_row"), "property": ("lookup", "prop_row"),
            "site": ("lookup", "site_row"), "source": ("lookup", "source_row"),
            "customerId": ("int", ""), "livingCircumstance": ("lookup", "living_row"),
            "homeLocalAuthority": la, "workingCircumstance": ("lookup", "working_row"),
            "workLocalAuthority": la, "annualHouseholdIncome": ("number", ""),
            "deposit": ("number", ""), "dependants": ("int", ""),
            "homeOwnershipStatus": ("int", ""), "buyingInterestPeriod": ("lookup", "period_row"),
            "updatedAt": ("time", ""), "createdAt": ("time", ""),
            **{name: ("bool", "") for name in ("eligibleCitizen", "firstTimeBuyer",
               "armedForcesMember", "hasDisability", "keyworker", "housingWaitingList")},
        }  # fmt: skip
        row_column = {"homeLocalAuthority": "home_la_row", "workLocalAuthority": "work_la_row"}
        modes: dict[bool, list[pl.Expr]] = {False: [], True: []}
        for escaped, pieces in modes.items():
            for i, name in enumerate(LEAD_FIELDS):
                kind, table = kinds.get(name, ("str", ""))
                column = pl.col(row_column.get(name, table) if kind == "lookup" else name)
                if kind == "lookup":
                    text = pl.lit(_json_strings(lookups[table])).gather(column).fill_null("null")
                elif kind == "time":
                    text = pl.concat_str(pl.lit('"'), column.dt.strftime(ATOM_FORMAT), pl.lit('"'))
                elif kind == "int":
                    text = column.cast(pl.String).fill_null("null")
                elif kind == "number":
                    text = _number(column)
                elif kind == "bool":
                    text = pl.when(column).then(pl.lit("true")).when(~column).then(pl.lit("false"))
                    text = text.otherwise(pl.lit("null"))
                else:
                    text = _quoted(column, escaped)
                if name in _MALFORMED:
                    kind_index, bad = _MALFORMED[name]
                    broken = pl.col("malformed") == kind_index
                    text = pl.when(broken).then(pl.lit(orjson.dumps(bad).decode())).otherwise(text)
                pieces += [pl.lit(("{" if i == 0 else ",") + f'"{name}":'), text]
        self._fast = pl.concat_str([*modes[False], pl.lit("}")]).alias("json")
        self._exact = pl.concat_str([*modes[True], pl.lit("}")]).alias("json")

    def encode(self, frame: pl.DataFrame) -> pl.Series:
        """One JSON object (``pl.String``) per row of ``frame``; exact for any strings."""
        return frame.select(self._exact).to_series()

    def encode_fast(self, frame: pl.DataFrame) -> pl.Series:
        """Like :meth:`encode`, faster; every string in ``frame`` must be JSON-safe."""
        return frame.select(self._fast).to_series()

    def encode_any(self, frame: pl.DataFrame) -> pl.Series:
        """:meth:`encode_fast` when ``frame`` holds generated leads only, else :meth:`encode`."""
        if frame["imported"].any():
            return self.encode(frame)
        return self.encode_fast(frame)
