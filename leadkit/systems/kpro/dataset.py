"""Deterministic synthetic KPro leads, generated column-wise with polars.

:func:`generate_leads` makes ``n`` leads for a seed: same arguments, same leads. Nothing
loops per lead in Python: randomness comes from named SHAKE-128 streams
(:mod:`~leadkit.systems.kpro.draws`) and every field is a polars expression over them.

A batch is one compact frame, :data:`FRAME_SCHEMA`: scalar fields as typed columns (the
filterable/sortable ones included: ``id``, ``createdAt`` as a UTC datetime, ``site_id``,
``site_code``, ``site_name``, …) and nested objects as row numbers into small lookup tables
(``listing_row`` into the catalog, ``living_row`` into the reference table, …).
:class:`LeadEncoder` turns rows of it into the JSON objects the API sends (spec §3.3: every
documented field present, ``null`` when absent, keys in documented order).

Example:
    >>> batch = generate_leads(3, DatasetOptions(seed=1))
    >>> batch.frame["id"].to_list()
    [100001, 100002, 100003]
    >>> LeadEncoder(build_catalog(1)).encode(batch.frame)[0][:28]
    '{"id":100001,"externalRef":n'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from leadkit.systems.kpro import reference, vocab
from leadkit.systems.kpro.catalog import Catalog, build_catalog
from leadkit.systems.kpro.draws import Draws, chance, pick, pick_index
from leadkit.systems.kpro.encoding import MALFORMED_KINDS, LeadEncoder
from leadkit.systems.kpro.people import customer_columns

__all__ = [
    "DEFAULT_END",
    "DEFAULT_START",
    "FRAME_SCHEMA",
    "DatasetOptions",
    "LeadBatch",
    "LeadEncoder",
    "build_catalog",
    "generate_leads",
]

DEFAULT_START = datetime(2021, 1, 1, tzinfo=UTC)
DEFAULT_END = datetime(2021, 7, 1, tzinfo=UTC)

_UTC = pl.Datetime("us", "UTC")
_STRINGS = (
    "eligibilityStatus", "externalRef", "site_code", "site_name", "email", "title",
    "firstName", "lastName", "fullName", "phone", "dateOfBirth", "homeAddress",
    "homePostcode", "homeLocalAuthority", "workAddress", "workPostcode", "workLocalAuthority",
    "occupation", "employerName", "additionalInfo", "hearAboutUs", "enquiryType",
)  # fmt: skip
_INTS = ("id", "customerId", "site_id", "dependants", "homeOwnershipStatus")
_FLOATS = ("annualHouseholdIncome", "deposit")
_BOOLS = ("eligibleCitizen", "firstTimeBuyer", "armedForcesMember", "hasDisability",
          "keyworker", "housingWaitingList")  # fmt: skip
_ROWS = ("provider_row", "listing_row", "dev_row", "prop_row", "site_row", "source_row",
         "period_row", "living_row", "working_row", "home_la_row", "work_la_row")  # fmt: skip

FRAME_SCHEMA: Mapping[str, pl.DataType] = {
    "createdAt": _UTC,
    "updatedAt": _UTC,
    **{name: pl.Int64() for name in _INTS},
    **{name: pl.Float64() for name in _FLOATS},
    **{name: pl.String() for name in _STRINGS},
    **{name: pl.Boolean() for name in _BOOLS},
    **{name: pl.UInt32() for name in _ROWS},
    "malformed": pl.UInt8(),
    "imported": pl.Boolean(),
}
"""Columns of a lead frame. ``*LocalAuthority`` hold the authority's name (also when the
JSON carries objects); ``*_row`` columns point into the catalog and
:data:`~leadkit.systems.kpro.encoding.LOOKUPS`; ``malformed`` is null or an index into
:data:`~leadkit.systems.kpro.encoding.MALFORMED_KINDS` (the other columns keep the true
values); ``imported`` marks leads that came in through POST."""

SITE_WEIGHTS: Mapping[str, int] = {
    "KZ": 18, "HFL": 6, "ZPL": 12, "RM": 14, "STB": 10, "API": 8, "NHFS": 4, "FC": 2,
    "HTBS": 2, "99H": 1, "OTM": 5, "HTB2": 2, "EA": 3, "TEL": 3, "EMAIL": 3, "WALK": 2,
    "FBAD": 4, "IGAD": 2, "LIAD": 1, "TWAD": 1, "OTHER": 2,
}  # fmt: skip
"""Relative share of leads per site code."""
_ELIGIBILITY_WEIGHTS = {"passed": 35, "considered": 12, "incomplete": 25, "not-checked": 18,
                        "failed": 10}  # fmt: skip
_ENQUIRY_WEIGHTS = {"general": 30, "new-build": 45, "resale": 15, "staircasing": 6,
                    "selling-my-home": 4}  # fmt: skip
# Share of leads per hour of the day (UTC), evenings busiest.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8, 9, 10, 10, 9, 6, 3)
_LEAD_DRAWS = {
    "gap": 16, "updated": 16, "update_delay": 32, "site": 16, "eligibility": 16,
    "has_listing": 16, "listing": 32, "has_property": 16, "unit": 32, "dev_only": 16,
    "development": 16, "provider": 16, "has_source": 16, "source": 16, "has_ref": 16,
    "ref": 32, "has_enquiry": 16, "enquiry": 16, "has_period": 16, "period": 16,
    "has_hear": 16, "hear": 16, "has_info": 16, "info": 16, "repeat": 16, "customer": 32,
    "malformed": 32, "malformed_kind": 16,
}  # fmt: skip


@dataclass(frozen=True)
class DatasetOptions:
    """What to generate (besides how many).

    Attributes:
        seed: random seed; same seed, same leads.
        start: earliest ``createdAt`` (inclusive, UTC).
        end: latest ``createdAt`` (exclusive, UTC).
        malformed_rate: share of leads that break the spec on purpose (see
            :data:`MALFORMED_KINDS`), to exercise a client's reject path. 0 by default.
        repeat_customer_rate: share of leads made by a customer who already enquired.
    """

    seed: int = 0
    start: datetime = DEFAULT_START
    end: datetime = DEFAULT_END
    malformed_rate: float = 0.0
    repeat_customer_rate: float = 0.15


@dataclass(frozen=True)
class LeadBatch:
    """Generated leads, ordered by ``createdAt`` then ``id``.

    Attributes:
        frame: one row per lead, columns :data:`FRAME_SCHEMA`.
        customers: number of distinct customers created for this batch.
    """

    frame: pl.DataFrame
    customers: int

    def __len__(self) -> int:
        return self.frame.height


def _created_seconds(n: int, options: DatasetOptions, draws: Draws) -> pl.Series:
    """Sorted ``createdAt`` epoch seconds within [start, end), with some exact ties."""
    start = int(options.start.timestamp())
    span = max(1, int(options.end.timestamp()) - start)
    d = draws.frame({"day": 32, "hour": 16, "second": 32, "tie": 16})
    days = span // 86400
    if days >= 1:
        hour = pick_index("hour", 24, _HOUR_WEIGHTS).cast(pl.Int64)
        offset = (pl.col("day") % days).cast(pl.Int64) * 86400 + hour * 3600
        offset = offset + (pl.col("second") % 3600).cast(pl.Int64)
    else:
        offset = (pl.col("second") % span).cast(pl.Int64)
    secs = d.select((offset + start).sort().alias("s"), "tie")
    # About 3% of leads share their predecessor's second exactly (ties for the id tiebreak).
    tied = pl.when(chance("tie", 0.03)).then(pl.col("s").shift(1)).otherwise(pl.col("s"))
    return secs.select(tied.fill_null(pl.col("s")).alias("createdAt")).to_series()


def generate_leads(
    n: int,
    options: DatasetOptions | None = None,
    *,
    first_id: int = 100_001,
    first_customer_id: int = 40_001,
    stream: str = "base",
    created_at: datetime | None = None,
    catalog: Catalog | None = None,
) -> LeadBatch:
    """Generate ``n`` leads.

    Args:
        n: number of leads (0 is allowed).
        options: seed, date range and knobs; defaults to ``DatasetOptions()``.
        first_id: id of the first lead; ids then increase with ``createdAt`` (small gaps).
        first_customer_id: ``customerId`` of the batch's first new customer.
        stream: names the random streams; later batches of one dataset use their own.
        created_at: give every lead this ``createdAt`` (leads "arriving now") instead of
            spreading them over ``[options.start, options.end)``.
        catalog: the inventory leads point at; built from ``options.seed`` if omitted.

    Returns:
        The batch, ordered by ``createdAt`` then ``id``.
    """
    options = options or DatasetOptions()
    catalog = catalog or build_catalog(options.seed)
    draws = Draws(options.seed, stream, n)
    if created_at is None:
        created = _created_seconds(n, options, draws)
    else:
        created = pl.Series("createdAt", [int(created_at.timestamp())] * n, dtype=pl.Int64)
    d = draws.frame(_LEAD_DRAWS).with_columns(created)

    # ids, timestamps, customers
    gap = pl.when(chance("gap", 0.92)).then(1).otherwise(2 + pl.col("gap") % 3).cast(pl.Int64)
    new_customer = ~chance("repeat", options.repeat_customer_rate) | (pl.int_range(pl.len()) == 0)
    updated = pl.when(chance("updated", 0.55)).then(0).otherwise(pl.col("update_delay") % 5_184_000)
    d = d.with_columns(
        id=first_id + gap.cum_sum() - gap.first(),
        updatedAt=pl.col("createdAt") + updated,
        seen=new_customer.cast(pl.Int64).cum_sum(),
        new_customer=new_customer,
    )
    earlier = (pl.col("customer").cast(pl.Float64) / 2**32 * pl.col("seen")).floor()
    d = d.with_columns(
        customer_row=pl.when("new_customer").then(pl.col("seen") - 1).otherwise(earlier)
        .cast(pl.UInt32)
    )  # fmt: skip
    customers = int(d.select(pl.col("seen").max()).item()) if n else 0

    # inventory: listing, development, property, housing provider
    listings, devs = catalog.listings, catalog.developments
    d = d.with_columns(
        listing_row=pl.when(chance("has_listing", 0.8)).then(pl.col("listing") % listings.height)
        .cast(pl.UInt32)
    )  # fmt: skip
    in_development = pl.lit(listings["development"]).gather(pl.col("listing_row")).is_not_null()
    wants_property = (
        pl.when(in_development)
        .then(chance("has_property", 0.55))
        .otherwise(chance("has_property", 0.9))
    )
    prop_row = pl.lit(listings["prop_offset"]).gather(pl.col("listing_row")) + (
        pl.col("unit") % pl.lit(listings["prop_count"]).gather(pl.col("listing_row"))
    )
    dev_only = pl.col("listing_row").is_null() & chance("dev_only", 0.25)
    d = d.with_columns(
        prop_row=pl.when(wants_property).then(prop_row).cast(pl.UInt32),
        dev_row=pl.coalesce(
            pl.lit(listings["dev_row"]).gather(pl.col("listing_row")),
            pl.when(dev_only).then(pl.col("development") % devs.height).cast(pl.UInt32),
        ),
    )
    weights = [p.weight for p in vocab.HOUSING_PROVIDERS]
    provider_row = pl.coalesce(
        pl.lit(listings["provider"]).gather(pl.col("listing_row")),
        pl.lit(devs["provider"]).gather(pl.col("dev_row")),
        pick_index("provider", len(weights), weights),
    )

    # lead-level fields
    sites = reference.SITES
    site_row = pick_index("site", len(sites), [SITE_WEIGHTS[s.code] for s in sites])
    d = d.with_columns(site_row=site_row)
    is_api = pl.col("site_row") == [s.code for s in sites].index("API")
    has_ref = pl.when(is_api).then(chance("has_ref", 0.95)).otherwise(chance("has_ref", 0.02))
    reference_number = (pl.col("ref") % 900_000 + 100_000).cast(pl.String)
    bad = pl.col("malformed") < round(options.malformed_rate * 2**32)

    def on_site(values: list[Any]) -> pl.Expr:
        return pl.lit(pl.Series(values)).gather(pl.col("site_row"))

    eligibility, enquiry = _ELIGIBILITY_WEIGHTS, _ENQUIRY_WEIGHTS
    d = d.with_columns(
        provider_row=provider_row,
        site_id=on_site([s.id for s in sites]),
        site_code=on_site([s.code for s in sites]),
        site_name=on_site([s.name for s in sites]),
        source_row=pl.when(chance("has_source", 0.12))
        .then(pick_index("source", len(vocab.CUSTOM_SOURCES))),
        period_row=pl.when(chance("has_period", 0.45))
        .then(pick_index("period", len(reference.BUYING_INTEREST_PERIODS))),
        eligibilityStatus=pick("eligibility", list(eligibility), list(eligibility.values())),
        externalRef=pl.when(has_ref).then(pl.concat_str(pl.lit("I"), reference_number)),
        enquiryType=pl.when(chance("has_enquiry", 0.65))
        .then(pick("enquiry", list(enquiry), list(enquiry.values()))),
        hearAboutUs=pl.when(chance("has_hear", 0.4)).then(pick("hear", vocab.HEAR_ABOUT_US)),
        additionalInfo=pl.when(chance("has_info", 0.25)).then(pick("info", vocab.ADDITIONAL_INFO)),
        customerId=pl.col("customer_row").cast(pl.Int64) + first_customer_id,
        malformed=pl.when(bad).then(pl.col("malformed_kind") % len(MALFORMED_KINDS)),
        imported=pl.lit(False),
        createdAt=pl.from_epoch("createdAt", time_unit="s").dt.replace_time_zone("UTC"),
        updatedAt=pl.from_epoch("updatedAt", time_unit="s").dt.replace_time_zone("UTC"),
    )  # fmt: skip

    # customer fields (shared by a customer's leads)
    people = customer_columns(Draws(options.seed, f"{stream}:customers", customers))
    d = pl.concat([d, people[d["customer_row"]]], how="horizontal")
    la_names = pl.lit(pl.Series([a.name for a in vocab.LOCAL_AUTHORITIES]))
    d = d.with_columns(
        homeLocalAuthority=la_names.gather(pl.col("home_la_row")),
        workLocalAuthority=la_names.gather(pl.col("work_la_row")),
    )
    frame = d.select([pl.col(name).cast(dtype) for name, dtype in FRAME_SCHEMA.items()])
    return LeadBatch(frame=frame, customers=customers)
