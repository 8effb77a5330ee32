"""OviPro enumerations (spec §8) as reference tables.

Only :data:`LEAD_STATUS_CODES` and :data:`MARKETPLACE_SOURCE_CODES` are complete lists in the
documentation. The others were only partly captured (spec Q12): the values here are the ones
the documentation shows, and real data may carry others. **All of them are open enums**: a
lead with a value that is not listed is stored as it is, never rejected, and the reference
tables say how each value is known (``evidence``). ``leadActionCodes`` has no published
values at all and ``languageCode`` is ISO 639-1, so neither has a table.

Example:
    >>> [c.code for c in LEAD_STATUS_CODES]
    ['NEW', 'IN_PROGRESS', 'APPROVED', 'REJECTED']
    >>> table_rows("ovipro_lead_type_codes")[0]
    {'code': 'SELLER_REFERRAL', 'description': 'Referral of a seller', 'evidence': 'seen'}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DOCUMENT_TYPE_CODES",
    "LEAD_SOURCE_TYPE_CODES",
    "LEAD_STATUS_CODES",
    "LEAD_TYPE_CODES",
    "MARKETPLACE_SOURCE_CODES",
    "REFERENCE_TABLES",
    "Code",
    "table_rows",
]

Evidence = Literal["documented", "seen", "legacy"]


@dataclass(frozen=True, slots=True)
class Code:
    """One enum value.

    Attributes:
        code: the value as the API sends it.
        description: what it means (our wording; the documentation gives codes only,
            except for the statuses).
        evidence: ``documented`` — in a complete published list; ``seen`` — in the
            documentation's examples of an open list; ``legacy`` — only in the older v1
            variant of the page (spec §11).
    """

    code: str
    description: str
    evidence: Evidence


LEAD_STATUS_CODES: tuple[Code, ...] = (
    Code("NEW", "New lead, not handled yet", "documented"),
    Code("IN_PROGRESS", "Being handled", "documented"),
    Code("APPROVED", "Accepted by the agent", "documented"),
    Code("REJECTED", "Rejected by the agent", "documented"),
)
"""``leadStatusCode`` (spec §8): the complete list."""

MARKETPLACE_SOURCE_CODES: tuple[Code, ...] = (
    Code("ETUOVI", "Etuovi.com marketplace", "documented"),
    Code("VUOKRAOVI", "Vuokraovi.com marketplace", "documented"),
    Code("OIKOTIE", "Oikotie marketplace", "documented"),
    Code("KL_TOIMITILAT", "KL Toimitilat marketplace", "documented"),
    Code("TOIMITILAT_FI", "Toimitilat.fi marketplace", "documented"),
)
"""``MarketplaceSourceCode`` (spec §8): the complete list."""

LEAD_SOURCE_TYPE_CODES: tuple[Code, ...] = (
    *MARKETPLACE_SOURCE_CODES,
    Code("BANK", "A bank (other source)", "seen"),
    Code("ANNOUNCEMENT", "An announcement (other source)", "legacy"),
)
"""``leadSourceTypeCode`` (spec §8): a marketplace code or an *other* source code; the
other codes were not captured (open)."""

LEAD_TYPE_CODES: tuple[Code, ...] = (
    Code("SELLER_REFERRAL", "Referral of a seller", "seen"),
    Code("BUYER_REFERRAL", "Referral of a buyer", "seen"),
    Code("DETAILS_ABOUT_THE_PROPERTY", "Request for details about a property", "legacy"),
)
"""``leadTypeCode`` (spec §8): open."""

DOCUMENT_TYPE_CODES: tuple[Code, ...] = (
    Code("BROCHURE", "Brochure", "seen"),
    Code("TITLE_CERTIFICATE", "Title certificate", "seen"),
)
"""``documentTypeCode`` of outgoing leads' documents (spec §8): open."""

#: Warehouse table name → its values.
REFERENCE_TABLES: dict[str, tuple[Code, ...]] = {
    "ovipro_lead_status_codes": LEAD_STATUS_CODES,
    "ovipro_lead_source_type_codes": LEAD_SOURCE_TYPE_CODES,
    "ovipro_lead_type_codes": LEAD_TYPE_CODES,
    "ovipro_document_type_codes": DOCUMENT_TYPE_CODES,
}


def table_rows(name: str) -> list[dict[str, Any]]:
    """The rows of one reference table, as dicts.

    Raises:
        KeyError: no such table; the message lists the known ones.
    """
    try:
        table = REFERENCE_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(REFERENCE_TABLES))
        raise KeyError(f"unknown OviPro reference table {name!r}; known tables: {known}") from None
    return [dataclasses.asdict(row) for row in table]
