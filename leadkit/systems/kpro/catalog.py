"""The sandbox's inventory: housing providers' developments, listings and properties.

Leads point at this inventory (``listing``, ``development``, ``property``), and imported
leads are resolved against it (``listingId``, ``listingExternalRef``, ``propertyId``, …).
It is small (a few hundred listings, a few thousand properties), built with a seeded
:class:`random.Random` and independent of the number of leads.

Example:
    >>> cat = build_catalog(seed=0)
    >>> first = cat.listing(cat.listing_rows[min(cat.listing_rows)])
    >>> list(first)[:3]
    ['id', 'externalRef', 'name']
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from leadkit.systems.kpro import vocab

__all__ = [
    "DEVELOPMENT_DTYPE",
    "LISTING_DTYPE",
    "PROPERTY_DTYPE",
    "Catalog",
    "build_catalog",
]

DEVELOPMENT_DTYPE = pl.Struct(
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
"""The Development object (spec §3.3), in documented key order."""

LISTING_DTYPE = pl.Struct(
    {
        "id": pl.Int64,
        "externalRef": pl.String,
        "name": pl.String,
        "availabilityStatus": pl.String,
        "schemeGroup": pl.String,
        "schemes": pl.List(pl.String),
        # Documented as "Development"; emitted lower-case (spec Q7).
        "development": DEVELOPMENT_DTYPE,
    }
)
"""The Listing object (spec §3.3), in documented key order."""

PROPERTY_DTYPE = pl.Struct(
    {
        "id": pl.Int64,
        "externalRef": pl.String,
        "propertyNumber": pl.String,
        "name": pl.String,
        "newBuild": pl.Boolean,
        "bedrooms": pl.Int64,
        "bathrooms": pl.Int64,
    }
)
"""The Property object (spec §3.3), in documented key order."""

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters allowed in the last two places of a UK postcode."""

# (schemes, schemeGroup, weight)
_SCHEME_MIXES: tuple[tuple[tuple[str, ...], str, int], ...] = (
    (("shared-ownership",), "Shared ownership", 55),
    (("help-to-buy",), "Help to Buy", 8),
    (("help-to-buy", "first-dibs"), "Help to Buy", 5),
    (("discounted-market-sale",), "Discounted market sale", 8),
    (("private-sale",), "Private sale", 8),
    (("london-living-rent",), "Rent to buy", 4),
    (("rent-to-buy",), "Rent to buy", 6),
    (("discount-market-rent",), "Rent", 3),
    (("private-rent",), "Rent", 3),
)
_SALE_STATUSES = (("For Sale", 50), ("Coming soon", 20), ("Sale Under Offer", 12), ("Sold", 10))
_RENT_STATUSES = (("To Let", 60), ("Coming soon", 25), ("Let Agreed", 15))
_UNIT_STYLES = ("{n}", "Flat {n}", "Plot {n}", "Apartment {n}")


@dataclass(frozen=True)
class Catalog:
    """Developments, listings and properties of the sandbox's housing providers.

    Attributes:
        listings: one row per listing: ``listing`` (struct), ``development`` (struct or
            null), ``dev_row`` (its row in ``developments`` or null), ``provider`` (index
            into ``vocab.HOUSING_PROVIDERS``), ``prop_offset`` and ``prop_count`` (its
            properties' rows in ``properties``).
        properties: one row per property: ``property`` (struct) and ``listing_row``.
        developments: one row per development: ``development`` (struct), ``provider``.
        listing_rows: listing id → row in ``listings``.
        listing_refs: listing externalRef → row in ``listings``.
        property_rows: property id → row in ``properties``.
        property_refs: property externalRef → row in ``properties``.
        development_rows: development id → row in ``developments``.
    """

    listings: pl.DataFrame
    properties: pl.DataFrame
    developments: pl.DataFrame
    listing_rows: Mapping[int, int]
    listing_refs: Mapping[str, int]
    property_rows: Mapping[int, int]
    property_refs: Mapping[str, int]
    development_rows: Mapping[int, int]

    def listing(self, row: int) -> dict[str, Any]:
        """The listing object at ``row`` of :attr:`listings`, as exported."""
        value: dict[str, Any] = self.listings["listing"][row]
        return value


def _weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    values = [o[0] for o in options]
    return rng.choices(values, weights=[o[1] for o in options])[0]


def random_postcode(rng: random.Random, district: str) -> str:
    """Return a valid-format UK postcode in ``district``, e.g. ``"NW11 7HB"``."""
    letters = rng.choice(INWARD_LETTERS) + rng.choice(INWARD_LETTERS)
    return f"{district} {rng.randrange(10)}{letters}"


@functools.lru_cache(maxsize=8)
def build_catalog(seed: int = 0, developments: int = 60, standalone: int = 40) -> Catalog:
    """Build the inventory for ``seed`` (same seed, same catalog; cached, so shared).

    Args:
        seed: random seed.
        developments: number of developments (each with one to three listings).
        standalone: number of listings of single, stand-alone properties.

    Returns:
        The catalog.
    """
    rng = random.Random(f"kpro-catalog:{seed}")
    provider_weights = [p.weight for p in vocab.HOUSING_PROVIDERS]
    providers = range(len(vocab.HOUSING_PROVIDERS))
    names = [f"{a} {b}" for a in vocab.DEVELOPMENT_PREFIXES for b in vocab.DEVELOPMENT_SUFFIXES]
    dev_rows: list[dict[str, Any]] = []
    listing_rows: list[dict[str, Any]] = []
    property_rows: list[dict[str, Any]] = []

    def add_listing(
        provider: int, dev: dict[str, Any] | None, name: str, uses_refs: bool
    ) -> dict[str, Any]:
        listing_id = 5001 + len(listing_rows) * 3 + rng.randrange(3)
        schemes, group, _ = _weighted(rng, tuple((m, m[2]) for m in _SCHEME_MIXES))
        statuses = _RENT_STATUSES if group == "Rent" else _SALE_STATUSES
        listing = {
            "id": listing_id,
            "externalRef": f"L-{rng.randrange(10000, 99999)}" if uses_refs else None,
            "name": name,
            "availabilityStatus": _weighted(rng, statuses),
            "schemeGroup": group,
            "schemes": list(schemes),
            "development": dev,
        }
        listing_rows.append(
            {
                "listing": listing,
                "development": dev,
                "dev_row": len(dev_rows) - 1 if dev is not None else None,
                "provider": provider,
                "prop_offset": len(property_rows),
            }
        )
        return listing

    def add_property(listing: dict[str, Any], uses_refs: bool, **fields: Any) -> None:
        prop_id = 70001 + len(property_rows)
        beds = fields.pop("bedrooms")
        prop = {
            "id": prop_id,
            "externalRef": f"P-{prop_id}" if uses_refs else None,
            "propertyNumber": fields.get("propertyNumber"),
            "name": fields.get("name"),
            "newBuild": fields["newBuild"],
            "bedrooms": beds,
            "bathrooms": 1 if beds <= 2 else rng.choice((1, 2, 2)),
        }
        property_rows.append({"property": prop, "listing_row": len(listing_rows) - 1})

    for dev_name in rng.sample(names, developments):
        provider = rng.choices(providers, weights=provider_weights)[0]
        la = rng.choice(vocab.LOCAL_AUTHORITIES)
        dev_id = 3001 + len(dev_rows) * 2 + rng.randrange(2)
        uses_refs = rng.random() < 0.5
        dev = {
            "id": dev_id,
            "externalRef": f"DEV-{dev_id}" if uses_refs else None,
            "name": dev_name,
            "building": rng.choice((f"{dev_name.split()[0]} House", "Block A", "Block B"))
            if rng.random() < 0.4
            else None,
            "street": rng.choice(vocab.STREETS) if rng.random() < 0.9 else None,
            "postcode": random_postcode(rng, rng.choice(la.districts)),
            "town": la.town if rng.random() < 0.95 else None,
        }
        dev_rows.append({"development": dev, "provider": provider})
        phases = rng.choice((1, 1, 2, 3))
        style = rng.choice(_UNIT_STYLES)
        for phase in range(1, phases + 1):
            name = dev_name if phases == 1 else f"{dev_name} - Phase {phase}"
            listing = add_listing(provider, dev, name, uses_refs)
            for k in range(rng.randrange(8, 49)):
                number = style.format(n=(phase - 1) * 100 + k + 1)
                beds = rng.choices((1, 2, 3, 4), weights=(35, 40, 20, 5))[0]
                add_property(
                    listing, uses_refs, propertyNumber=number, newBuild=True, bedrooms=beds
                )

    for _ in range(standalone):
        provider = rng.choices(providers, weights=provider_weights)[0]
        la = rng.choice(vocab.LOCAL_AUTHORITIES)
        beds = rng.choices((1, 2, 3, 4), weights=(25, 40, 25, 10))[0]
        kind = rng.choice(("flat", "house", "maisonette"))
        street = rng.choice(vocab.STREETS)
        uses_refs = rng.random() < 0.5
        listing = add_listing(provider, None, f"{beds} bedroom {kind}, {street}", uses_refs)
        unit = f"{rng.randrange(1, 180)} {street}, {la.town}"
        add_property(listing, uses_refs, name=unit, newBuild=rng.random() < 0.3, bedrooms=beds)

    for i, row in enumerate(listing_rows):
        end = listing_rows[i + 1]["prop_offset"] if i + 1 < len(listing_rows) else None
        row["prop_count"] = (end if end is not None else len(property_rows)) - row["prop_offset"]

    listings = pl.DataFrame(
        listing_rows,
        schema={
            "listing": LISTING_DTYPE,
            "development": DEVELOPMENT_DTYPE,
            "dev_row": pl.UInt32,
            "provider": pl.UInt32,
            "prop_offset": pl.UInt32,
            "prop_count": pl.UInt32,
        },
    )
    properties = pl.DataFrame(
        property_rows, schema={"property": PROPERTY_DTYPE, "listing_row": pl.UInt32}
    )
    devs = pl.DataFrame(dev_rows, schema={"development": DEVELOPMENT_DTYPE, "provider": pl.UInt32})
    return Catalog(
        listings=listings,
        properties=properties,
        developments=devs,
        listing_rows={r["listing"]["id"]: i for i, r in enumerate(listing_rows)},
        listing_refs={
            r["listing"]["externalRef"]: i
            for i, r in enumerate(listing_rows)
            if r["listing"]["externalRef"]
        },
        property_rows={r["property"]["id"]: i for i, r in enumerate(property_rows)},
        property_refs={
            r["property"]["externalRef"]: i
            for i, r in enumerate(property_rows)
            if r["property"]["externalRef"]
        },
        development_rows={r["development"]["id"]: i for i, r in enumerate(dev_rows)},
    )
