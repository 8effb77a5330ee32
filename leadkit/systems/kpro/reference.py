"""KPro lookup tables (spec §5) as typed constants.

Each table is a tuple of frozen dataclasses, in the order the documentation lists them, so
the warehouse can load them into reference tables with :func:`table_rows`. Where the spec
and the seed document word a label differently, the seed's wording is used (e.g. home
ownership status 2 is "Do not own a property at the moment").

All lists are *open* on the export side (spec Q15): a lead may carry a site id, scheme or
enquiry type that is not here, and that is not an error.

Example:
    >>> SITES_BY_ID[6].code
    'API'
    >>> table_rows("kpro_sites")[0]
    {'id': 1, 'code': 'KZ', 'name': 'Keaze'}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUYING_INTEREST_PERIODS",
    "ELIGIBILITY_STATUSES",
    "ENQUIRY_TYPES",
    "HOME_OWNERSHIP_STATUSES",
    "LIVING_CIRCUMSTANCES",
    "REFERENCE_TABLES",
    "SCHEMES",
    "SITES",
    "SITES_BY_ID",
    "WORKING_CIRCUMSTANCES",
    "Circumstance",
    "EligibilityStatus",
    "EnquiryType",
    "HomeOwnershipStatus",
    "Scheme",
    "Site",
    "table_rows",
]


@dataclass(frozen=True, slots=True)
class Site:
    """A portal or platform a lead came in from (spec §5.1).

    Attributes:
        id: KPro's site id (``site.id``); ids have gaps.
        code: short code (``site.code``), e.g. ``"RM"``.
        name: display name (``site.name``), e.g. ``"Rightmove"``.
    """

    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Scheme:
    """A sales scheme code found in ``listing.schemes[]`` (spec §5.2)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class HomeOwnershipStatus:
    """A ``homeOwnershipStatus`` value, 1–4 (spec §5.3)."""

    id: int
    description: str


@dataclass(frozen=True, slots=True)
class EnquiryType:
    """An ``enquiryType`` code (spec §5.4); the documentation gives codes only, no labels."""

    code: str


@dataclass(frozen=True, slots=True)
class Circumstance:
    """An ``{id, name}`` lookup: living/working circumstance or buying interest period."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class EligibilityStatus:
    """An ``eligibilityStatus`` code (spec §5.7)."""

    code: str


SITES: tuple[Site, ...] = (
    Site(1, "KZ", "Keaze"),
    Site(2, "HFL", "Homes For Londoners"),
    Site(3, "ZPL", "Zoopla"),
    Site(4, "RM", "Rightmove"),
    Site(5, "STB", "Share to Buy"),
    Site(6, "API", "KPro Marketing API"),
    Site(7, "NHFS", "New Homes For Sale"),
    Site(8, "FC", "Full Circle"),
    Site(14, "HTBS", "Help To Buy Agent 3"),
    Site(17, "99H", "99home"),
    Site(20, "OTM", "On The Market"),
    Site(22, "HTB2", "Help To Buy Agent 2"),
    Site(30, "EA", "Estate Agent"),
    Site(32, "TEL", "Telephone"),
    Site(33, "EMAIL", "Email"),
    Site(34, "WALK", "Walk In"),
    Site(35, "FBAD", "Facebook Ad"),
    Site(36, "IGAD", "Instagram Ad"),
    Site(37, "LIAD", "LinkedIn Ad"),
    Site(38, "TWAD", "Twitter Ad"),
    Site(41, "OTHER", "Other"),
)
"""Sites (spec §5.1). New sites may appear in real data."""

SITES_BY_ID: Mapping[int, Site] = {site.id: site for site in SITES}
""":data:`SITES` keyed by id."""

SCHEMES: tuple[Scheme, ...] = (
    Scheme("shared-ownership", "Shared ownership"),
    Scheme("help-to-buy", "Help to Buy"),
    Scheme("first-dibs", "First Dibs"),
    Scheme("discounted-market-sale", "Discounted market sale"),
    Scheme("private-sale", "Private sale"),
    Scheme("london-living-rent", "London living rent"),
    # The code says "discount", the label "Discounted": both as documented.
    Scheme("discount-market-rent", "Discounted market rent"),
    Scheme("rent-to-buy", "Rent to Buy (Outside London)"),
    Scheme("private-rent", "Private rent"),
)
"""Schemes (spec §5.2)."""

HOME_OWNERSHIP_STATUSES: tuple[HomeOwnershipStatus, ...] = (
    HomeOwnershipStatus(1, "First time buyer"),
    HomeOwnershipStatus(2, "Do not own a property at the moment"),
    HomeOwnershipStatus(3, "Own a property but it is currently in a selling process"),
    HomeOwnershipStatus(4, "Own one or more properties"),
)
"""Home ownership statuses (spec §5.3, in the seed's wording)."""

ENQUIRY_TYPES: tuple[EnquiryType, ...] = (
    EnquiryType("general"),
    EnquiryType("new-build"),
    EnquiryType("resale"),
    EnquiryType("staircasing"),
    EnquiryType("selling-my-home"),
)
"""Enquiry types (spec §5.4)."""

LIVING_CIRCUMSTANCES: tuple[Circumstance, ...] = (
    Circumstance(1, "Renting privately"),
    Circumstance(2, "London living rent"),
    Circumstance(3, "Home owner"),
    Circumstance(4, "Housing benefits"),
    Circumstance(5, "Council tenant"),
    Circumstance(6, "Living in armed forces accommodation"),
    Circumstance(7, "A housing association tenant"),
    Circumstance(8, "Living with friends or family"),
)
"""Living circumstances (spec §5.5)."""

WORKING_CIRCUMSTANCES: tuple[Circumstance, ...] = (
    Circumstance(1, "Not working - disabled"),
    Circumstance(2, "Not working - Looking after children"),
    Circumstance(3, "Not working - retired"),
    Circumstance(4, "Other"),
    Circumstance(5, "Student"),
    Circumstance(6, "Unemployed"),
    Circumstance(7, "Working full time"),
    Circumstance(8, "Working part-time"),
    Circumstance(9, "Self employed"),
)
"""Working circumstances (spec §5.6)."""

ELIGIBILITY_STATUSES: tuple[EligibilityStatus, ...] = (
    EligibilityStatus("passed"),
    EligibilityStatus("considered"),
    EligibilityStatus("incomplete"),
    EligibilityStatus("not-checked"),
    EligibilityStatus("failed"),
)
"""Eligibility statuses (spec §5.7), all five including ``not-checked`` (spec Q2)."""

BUYING_INTEREST_PERIODS: tuple[Circumstance, ...] = (
    Circumstance(1, "As soon as possible"),
    Circumstance(2, "Within 3 months"),
    Circumstance(3, "Within 6 months"),
    Circumstance(4, "Within 12 months"),
    Circumstance(5, "More than 12 months"),
    Circumstance(6, "Just looking"),
)
"""Buying interest periods: **invented**. The API documents ``buyingInterestPeriod`` as an
``{id, name}`` object but publishes no values; these six are a plausible stand-in used by
the sandbox. Real data may carry other ids and names."""

REFERENCE_TABLES: Mapping[str, tuple[Any, ...]] = {
    "kpro_sites": SITES,
    "kpro_schemes": SCHEMES,
    "kpro_home_ownership_statuses": HOME_OWNERSHIP_STATUSES,
    "kpro_enquiry_types": ENQUIRY_TYPES,
    "kpro_living_circumstances": LIVING_CIRCUMSTANCES,
    "kpro_working_circumstances": WORKING_CIRCUMSTANCES,
    "kpro_eligibility_statuses": ELIGIBILITY_STATUSES,
    "kpro_buying_interest_periods": BUYING_INTEREST_PERIODS,
}
"""Every lookup table by a suggested warehouse table name."""


def table_rows(name: str) -> list[dict[str, Any]]:
    """Return one lookup table as a list of plain dicts, ready to load into a table.

    Args:
        name: a key of :data:`REFERENCE_TABLES`, e.g. ``"kpro_sites"``.

    Raises:
        KeyError: for an unknown table name; the message lists the known names.

    Example:
        >>> table_rows("kpro_enquiry_types")[1]
        {'code': 'new-build'}
    """
    try:
        table = REFERENCE_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(REFERENCE_TABLES))
        raise KeyError(f"unknown KPro reference table {name!r}; known tables: {known}") from None
    return [dataclasses.asdict(row) for row in table]
