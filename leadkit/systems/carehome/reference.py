"""Care-home lead categories (spec §3) and the documented value vocabularies (spec §2.2).

The record's ``category.name`` is not always the documentation's heading (spec Q8): category
6 is "Referral with contact" in records and "Referral with contact permission" in the
article; 8 is "Placement" and "Known Placements". The warehouse table
``carehome_categories`` keeps both.

Example:
    >>> CATEGORIES[6].name, CATEGORIES[6].heading
    ('Referral with contact', 'Referral with contact permission')
    >>> [c.id for c in CATEGORIES.values() if "budget_type" in c.fields]
    [6, 7, 8]
    >>> table_rows()[0]["name"]
    'Contact Form Message'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALL_CATEGORY_IDS",
    "BUDGET_TYPES",
    "CATEGORIES",
    "FUNDING",
    "ON_BEHALF_OF",
    "TIMESCALES",
    "Category",
    "table_rows",
]

_VISIT = ("visitDate", "visitTime", "instruction")
_REFERRAL = (
    "instruction",
    "emailPermission",
    "phonePermission",
    "budget_type",
    "budget_min",
    "budget_max",
)


@dataclass(frozen=True, slots=True)
class Category:
    """One lead category.

    Attributes:
        id: ``category.id`` (1–8).
        name: ``category.name`` as records carry it.
        heading: the documentation's heading for it.
        fields: the ``categorySpecificData`` keys the documentation shows for it.
    """

    id: int
    name: str
    heading: str
    fields: tuple[str, ...]


CATEGORIES: dict[int, Category] = {
    c.id: c
    for c in (
        Category(1, "Contact Form Message", "Contact Form Message", ("instruction",)),
        Category(2, "In Person Visit Request", "In Person Visit Request", _VISIT),
        Category(3, "Virtual Visit Request", "Virtual Visit Request", _VISIT),
        Category(4, "Call Back Request", "Call Back Request", ("instruction",)),
        Category(5, "Email Details Request", "Email Details Request", ("instruction",)),
        Category(6, "Referral with contact", "Referral with contact permission", _REFERRAL),
        Category(7, "Referral without contact", "Referral without contact permission", _REFERRAL),
        Category(8, "Placement", "Known Placements", _REFERRAL),
    )
}
"""Category id → :class:`Category` (spec §3)."""

ALL_CATEGORY_IDS: tuple[int, ...] = tuple(CATEGORIES)

BUDGET_TYPES = ("Hourly Budget", "Weekly Budget", "Monthly Budget", "Purchase Price", "Purchase")
"""``budget_type`` values (spec §2.2; ``Purchase`` from the examples). Open list."""

FUNDING = (
    "Buy",
    "Rent",
    "Either Buy or Rent",
    "Part Buy, Part Rent",
    "Self Funding",
    "Local Authority with Top-up",
    "NHS Continuing Healthcare",
    "Not Sure",
    "Top-up",
)
"""``funding`` values (spec §2.2). One contains a comma. Open list."""

TIMESCALES = (
    "Emergency",
    "ASAP",
    "2-4 weeks",
    "1-3 months",
    "3-6 months",
    "6-12 months",
    "Over 12 months",
    "Not Sure",
)
"""``timescales`` values (spec §2.2). Open list."""

ON_BEHALF_OF = ("Family member", "Myself")
"""``onBehalfOf`` values seen in the documentation. Open list."""


def table_rows() -> list[dict[str, Any]]:
    """Rows of ``carehome_categories``: ``id``, ``name``, ``heading``, ``fields``."""
    return [
        {"id": c.id, "name": c.name, "heading": c.heading, "fields": list(c.fields)}
        for c in CATEGORIES.values()
    ]
