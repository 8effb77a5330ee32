"""A small, realistic ``kpro_leads`` for the query layer's tests (Python API, CLI, server).

Two sources (``london``, ``north``) whose ids overlap, the sites and eligibility statuses of
the KPro spec, and ``created_at`` spanning March 2021 with rows on the documented
boundaries (1 March 00:00, the whole of 10 March, 11 March 10:00 / 11:00 / 11:00:30) and
ties, so sort tiebreaks and page boundaries are exercised. ``LEADS`` holds the same rows as
plain Python dicts: tests compute their expectations from it independently of leadkit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from leadkit.storage.warehouse import Warehouse, upsert_frame
from leadkit.systems.kpro.models import TABLE_SCHEMA
from leadkit.systems.kpro.tables import LEADS_TABLE

UTC = dt.UTC
SITES = {
    1: ("KZ", "Keaze"),
    2: ("HFL", "Homes For Londoners"),
    3: ("ZPL", "Zoopla"),
    4: ("RM", "Rightmove"),
    32: ("TEL", "Telephone"),
}
STATUSES = ("passed", "considered", "incomplete", "not-checked", "failed")
SCHEMES = ("shared-ownership", "help-to-buy", "first-dibs", "rent-to-buy")

# Fixed instants on the documented boundaries, then random ones across the month.
_FIXED = [
    "2021-02-28 23:59:59",
    "2021-03-01 00:00:00",
    "2021-03-01 00:00:00",  # a tie
    "2021-03-10 00:00:00",
    "2021-03-10 23:59:59",
    "2021-03-11 00:00:00",
    "2021-03-11 09:59:59",
    "2021-03-11 10:00:00",
    "2021-03-11 10:30:00",
    "2021-03-11 10:30:00",  # a tie
    "2021-03-11 11:00:00",
    "2021-03-11 11:00:30",
]


def _leads() -> list[dict[str, Any]]:
    rng = random.Random(20210301)
    start = dt.datetime(2021, 2, 27, tzinfo=UTC)
    leads = []
    for n in range(48):
        source = "north" if n % 4 == 0 else "london"
        lead_id = 1000 + n + (source == "north")  # north's ids repeat london's
        if n < len(_FIXED):
            created = dt.datetime.fromisoformat(_FIXED[n]).replace(tzinfo=UTC)
        else:
            created = start + dt.timedelta(seconds=rng.randrange(0, 35 * 86400))
        site_id = rng.choice(list(SITES))
        code, name = SITES[site_id]
        has_listing = rng.random() < 0.7
        income = None if rng.random() < 0.25 else float(rng.randrange(18, 90) * 1000)
        leads.append(
            {
                "id": lead_id,
                "_source": source,
                "site": {"id": site_id, "code": code, "name": name},
                "eligibility_status": STATUSES[n % len(STATUSES)],
                "customer_id": 5000 + n,
                "email": f"lead{n}@example.com",
                "first_name": rng.choice(["Amira", "Ben", "Chloé", "Dev", "Erin", None]),
                "last_name": rng.choice(["O'Neill", "Smith", "Ng", "Kowalski"]),
                "listing": (
                    {
                        "id": 70 + n % 5,
                        "name": f"Plot {n}",
                        "schemes": rng.sample(SCHEMES, k=rng.choice([1, 1, 2])),
                    }
                    if has_listing
                    else None
                ),
                "annual_household_income": income,
                "first_time_buyer": rng.choice([True, False, None]),
                "date_of_birth": dt.date(1960 + n % 40, 1 + n % 12, 1 + n % 28),
                "created_at": created,
                "updated_at": created + dt.timedelta(days=1),
            }
        )
    return leads


LEADS = _leads()


def frame() -> pl.DataFrame:
    """``LEADS`` in the exact ``kpro_leads`` shape, lineage columns filled."""
    now = dt.datetime(2021, 4, 1, tzinfo=UTC)
    rows = []
    for lead in LEADS:
        row: dict[str, Any] = dict.fromkeys(TABLE_SCHEMA)
        row.update(lead)
        row["_run_id"] = "r1"
        row["_extracted_at"] = now
        raw = orjson.dumps({"id": lead["id"], "email": lead["email"]})
        row["_raw"] = raw.decode()
        if "_hash" in TABLE_SCHEMA:
            digest = hashlib.blake2b(raw, digest_size=8).digest()
            row["_hash"] = int.from_bytes(digest, "little", signed=True)
        rows.append(row)
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


def build_warehouse(path: Path) -> Warehouse:
    """A migrated warehouse at ``path`` holding ``LEADS`` in ``kpro_leads``."""
    warehouse = Warehouse(path)
    with warehouse.writing() as con:
        con.execute("BEGIN TRANSACTION")
        upsert_frame(con, LEADS_TABLE, frame())
        con.execute("COMMIT")
    return warehouse


def key(lead: dict[str, Any]) -> tuple[str, int]:
    """(source, id): what identifies a lead across sources."""
    return (lead["_source"], lead["id"])


def default_order(leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """KPro's default order (newest first) with leadkit's tiebreak (source, id)."""
    by_key = sorted(leads, key=key)
    return sorted(by_key, key=lambda r: r["created_at"], reverse=True)


def ts(text: str) -> dt.datetime:
    """A UTC instant from ``YYYY-MM-DD HH:MM[:SS]``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
