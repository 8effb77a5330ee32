"""The KPro sandbox's lead store: the lead frame, query results and rendered JSON.

:class:`LeadStore` holds every lead as one polars frame (:data:`FRAME_SCHEMA`), answers a
bound query with the matching row positions in order (cached per query until leads are
added), and renders positions as JSON text. Rendered JSON is cached in blocks of
:attr:`LeadStore.BLOCK` consecutive rows, so reading pages in ``createdAt`` order encodes
each lead once; a page scattered over many blocks is encoded on its own.

Example:
    >>> from leadkit.query import compile_query
    >>> store = LeadStore(20)
    >>> bound = compile_query("size=2", KPRO_FIELDS, default_sort="-createdAt", extensions=False)
    >>> rows = store.order(bound)
    >>> len(rows), store.render(rows[:2]).startswith('{"id":')
    (20, True)
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

import orjson
import polars as pl

from leadkit.query import BoundQuery, Field, FieldCatalog, FieldType, apply_polars
from leadkit.systems.kpro.catalog import Catalog, build_catalog
from leadkit.systems.kpro.dataset import FRAME_SCHEMA, DatasetOptions, generate_leads
from leadkit.systems.kpro.encoding import LeadEncoder

__all__ = ["FIRST_CUSTOMER_ID", "FIRST_LEAD_ID", "KPRO_FIELDS", "LeadStore"]

FIRST_LEAD_ID = 100_001
FIRST_CUSTOMER_ID = 40_001

_FILTERABLE = (
    Field("createdAt", FieldType.TIMESTAMP, nullable=False),
    Field("eligibilityStatus", FieldType.STRING, nullable=False),
    Field("site.id", FieldType.INTEGER, column="site_id", nullable=False),
    Field("site.code", FieldType.STRING, column="site_code", nullable=False),
    Field("site.name", FieldType.STRING, column="site_name", nullable=False),
)
_SORT_ONLY: tuple[tuple[str, FieldType], ...] = (
    ("id", FieldType.INTEGER), ("updatedAt", FieldType.TIMESTAMP),
    ("customerId", FieldType.INTEGER), ("externalRef", FieldType.STRING),
    ("email", FieldType.STRING), ("title", FieldType.STRING), ("firstName", FieldType.STRING),
    ("lastName", FieldType.STRING), ("fullName", FieldType.STRING), ("phone", FieldType.STRING),
    ("dateOfBirth", FieldType.STRING), ("homeAddress", FieldType.STRING),
    ("homePostcode", FieldType.STRING), ("homeLocalAuthority", FieldType.STRING),
    ("workAddress", FieldType.STRING), ("workPostcode", FieldType.STRING),
    ("workLocalAuthority", FieldType.STRING), ("occupation", FieldType.STRING),
    ("employerName", FieldType.STRING), ("annualHouseholdIncome", FieldType.FLOAT),
    ("deposit", FieldType.FLOAT), ("dependants", FieldType.INTEGER),
    ("eligibleCitizen", FieldType.BOOLEAN), ("firstTimeBuyer", FieldType.BOOLEAN),
    ("homeOwnershipStatus", FieldType.INTEGER), ("armedForcesMember", FieldType.BOOLEAN),
    ("hasDisability", FieldType.BOOLEAN), ("keyworker", FieldType.BOOLEAN),
    ("housingWaitingList", FieldType.BOOLEAN), ("additionalInfo", FieldType.STRING),
    ("hearAboutUs", FieldType.STRING), ("enquiryType", FieldType.STRING),
)  # fmt: skip

KPRO_FIELDS = FieldCatalog(
    [*_FILTERABLE, *(Field(path, kind, filterable=False) for path, kind in _SORT_ONLY)],
    normalize_case=False,
)
"""What the sandbox lets a query name, as strictly as the real API: the five documented
filter fields (spec §4), and for ``sort`` those plus every scalar top-level field."""


class LeadStore:
    """Every lead of one sandbox, with query and rendering caches.

    Args:
        leads: number of leads to generate.
        options: seed, date range, malformed rate.
        local_authority_objects: render local authorities as objects (spec Q6).
        catalog: the inventory (built from ``options.seed`` if omitted).
    """

    BLOCK = 8192
    """Rows per cached block of rendered JSON."""

    MAX_CACHED_ORDERS = 64

    def __init__(
        self,
        leads: int,
        options: DatasetOptions | None = None,
        *,
        local_authority_objects: bool = False,
        catalog: Catalog | None = None,
    ):
        self.options = options or DatasetOptions()
        self.catalog = catalog or build_catalog(self.options.seed)
        self.encoder = LeadEncoder(self.catalog, local_authority_objects=local_authority_objects)
        batch = generate_leads(
            leads,
            self.options,
            first_id=FIRST_LEAD_ID,
            first_customer_id=FIRST_CUSTOMER_ID,
            catalog=self.catalog,
        )
        self._base = batch.frame
        self._tail = pl.DataFrame(schema=dict(FRAME_SCHEMA))
        self._frame: pl.DataFrame | None = self._base
        self.next_id = FIRST_LEAD_ID if self._base.is_empty() else self._last_id() + 1
        self.next_customer_id = FIRST_CUSTOMER_ID + batch.customers
        self._blocks: dict[int, pl.Series] = {}
        self._orders: OrderedDict[tuple[tuple[str, str], ...], pl.Series] = OrderedDict()
        self._batches = 0

    def _last_id(self) -> int:
        return int(self.frame.select(pl.col("id").max()).item())

    def __len__(self) -> int:
        return self._base.height + self._tail.height

    @property
    def frame(self) -> pl.DataFrame:
        """All leads, in the order they were added (= ``createdAt`` order, then ``id``)."""
        if self._frame is None:
            self._frame = pl.concat([self._base, self._tail], rechunk=False)
        return self._frame

    # --- adding leads -------------------------------------------------------------------

    def add_generated(self, n: int, created_at: datetime | None = None) -> pl.DataFrame:
        """Generate ``n`` new leads created at ``created_at`` (default: now) and add them.

        Returns:
            The rows added (their ids follow every existing id).
        """
        now = created_at or datetime.now(UTC).replace(microsecond=0)
        self._batches += 1
        batch = generate_leads(
            n,
            self.options,
            first_id=self.next_id,
            first_customer_id=self.next_customer_id,
            stream=f"added:{self._batches}",
            created_at=now,
            catalog=self.catalog,
        )
        self.next_customer_id += batch.customers
        self.add_rows(batch.frame)
        return batch.frame

    def add_rows(self, rows: pl.DataFrame) -> None:
        """Append ready-made rows (columns :data:`FRAME_SCHEMA`, ids from :attr:`next_id`)."""
        if rows.is_empty():
            return
        old = len(self)
        rows = rows.select([pl.col(n).cast(t) for n, t in FRAME_SCHEMA.items()])
        self._tail = pl.concat([self._tail, rows], rechunk=True)
        if self._tail.height > max(65_536, self._base.height // 8):
            self._base = pl.concat([self._base, self._tail], rechunk=True)
            self._tail = self._tail.clear()
        self._frame = None
        self.next_id = max(self.next_id, self._last_id() + 1)
        self._orders.clear()
        self._blocks.pop(old // self.BLOCK, None)  # the last, partial block has grown

    # --- queries ------------------------------------------------------------------------

    def order(self, bound: BoundQuery) -> pl.Series:
        """Positions of the leads matching ``bound``, in its sort order (``id`` breaks ties).

        The result ignores ``page``/``size`` and is cached per filters + sort.
        """
        key = tuple(p for p in bound.query.to_params() if p[0] != "size")
        cached = self._orders.get(key)
        if cached is not None:
            self._orders.move_to_end(key)
            return cached
        lazy = self.frame.lazy().with_row_index("_pos")
        positions = apply_polars(bound, lazy, tiebreak=["id"]).select("_pos").collect()
        result = positions.to_series()
        self._orders[key] = result
        if len(self._orders) > self.MAX_CACHED_ORDERS:
            self._orders.popitem(last=False)
        return result

    # --- rendering ----------------------------------------------------------------------

    def render(self, positions: pl.Series) -> str:
        """The leads at ``positions`` as JSON objects joined by commas (no brackets)."""
        if positions.is_empty():
            return ""
        blocks = (positions // self.BLOCK).unique().sort().to_list()
        missing = [b for b in blocks if b not in self._blocks]
        if len(missing) > 2:  # scattered page: encode just its rows
            return str(self.encoder.encode_any(self.frame[positions]).str.join(",").item())
        for b in missing:
            self._blocks[b] = self.encoder.encode_any(self.frame.slice(b * self.BLOCK, self.BLOCK))
        if len(blocks) == 1:
            picked = self._blocks[blocks[0]].gather(positions - blocks[0] * self.BLOCK)
        else:
            starts, offset = {}, 0
            for b in blocks:
                starts[b] = offset - b * self.BLOCK
                offset += len(self._blocks[b])
            combined = pl.concat([self._blocks[b] for b in blocks])
            shift = (positions // self.BLOCK).replace_strict(starts, return_dtype=pl.Int64)
            picked = combined.gather(positions.cast(pl.Int64) + shift)
        return str(picked.str.join(",").item())

    def clear_rendered(self) -> None:
        """Forget every rendered lead (after the encoder changed)."""
        self._blocks.clear()

    def prerender(self) -> None:
        """Render and cache every lead's JSON now (slower start, cheaper pages later)."""
        for b in range(0, -(-len(self) // self.BLOCK)):
            if b not in self._blocks:
                self._blocks[b] = self.encoder.encode_any(
                    self.frame.slice(b * self.BLOCK, self.BLOCK)
                )

    def leads(self) -> list[dict[str, object]]:
        """Every lead as the API would send it, parsed, in ``createdAt`` then ``id`` order."""
        positions = pl.int_range(0, len(self), dtype=pl.UInt32, eager=True)
        parsed: list[dict[str, object]] = orjson.loads("[" + self.render_all(positions) + "]")
        return parsed

    def render_all(self, positions: pl.Series) -> str:
        """Like :meth:`render`, for any number of positions (encodes without caching)."""
        if positions.is_empty():
            return ""
        return str(self.encoder.encode_any(self.frame[positions]).str.join(",").item())
