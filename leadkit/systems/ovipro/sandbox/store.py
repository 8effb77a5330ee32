"""The OviPro sandbox's lead store: incoming and outgoing leads, queries and rendered JSON.

Each lead is a :class:`Record`: the item exactly as the API sends it (a dict), the fields
queries look at, and its JSON, encoded once and kept until the lead changes. A query
(:class:`~leadkit.systems.ovipro.sandbox.params.ListQuery`) selects and orders records;
the ordered result is cached per filters + sort + scope until any lead changes, so paging
through a large result costs one sort and then only slicing.

Sorting follows the spec (§5): keys in the order given, ``leadId`` as the final tiebreak.
Absent times sort as larger than any time (as in PostgreSQL: last ascending, first
descending); ``leadStatusCode`` sorts alphabetically.

Example:
    >>> from leadkit.systems.ovipro.sandbox.dataset import DatasetOptions, LeadFactory, World
    >>> from leadkit.systems.ovipro.sandbox.params import ListQuery
    >>> store = LeadStore()
    >>> store.add_incoming(LeadFactory(World(DatasetOptions()), "doc").incoming(5))
    >>> rows = store.select("incoming", ListQuery(sort=(("creationTime", False),)), None)
    >>> len(rows), rows[0].creation <= rows[-1].creation
    (5, True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import orjson

from leadkit.systems.ovipro.sandbox.params import ListQuery

__all__ = ["FILTER_ATTRIBUTES", "Kind", "LeadStore", "Record"]

Kind = Literal["incoming", "outgoing"]

FILTER_ATTRIBUTES: dict[Kind, dict[str, str]] = {
    "incoming": {
        "leadId": "lead_id", "agencyOfficeId": "office", "leadStatusCode": "status",
        "leadSourceTypeCode": "source", "leadTypeCode": "type", "agentId": "agent",
        "partyId": "party", "realtyFriendlyId": "realty",
    },
    "outgoing": {
        "leadId": "lead_id", "agencyOfficeId": "office", "agentId": "agent",
        "partyId": "party", "realtyId": "realty",
    },
}  # fmt: skip
"""Query parameter → :class:`Record` attribute, per endpoint."""

_SORT_ATTRIBUTES = {"creationTime": "creation", "modificationTime": "modification",
                    "assignmentTime": "assignment", "decisionTime": "decision",
                    "leadStatusCode": "status"}  # fmt: skip


class Record:
    """One lead: the API item plus the fields queries read, and its cached JSON.

    Incoming leads fill every attribute; outgoing leads leave the status and the times
    other than ``creation`` as None (``office``/``agent`` are the sender's, ``realty`` is
    the ``realtyId``). Call :meth:`refresh` after changing :attr:`item`.
    """

    __slots__ = ("_json", "agent", "assignment", "creation", "decision", "item", "kind",
                 "lead_id", "modification", "office", "party", "realty", "source", "status",
                 "type")  # fmt: skip

    def __init__(self, kind: Kind, item: dict[str, Any]):
        self.kind = kind
        self.item = item
        self.refresh()

    def refresh(self) -> None:
        """Re-read the query fields from :attr:`item` and forget the cached JSON."""
        item = self.item
        lead = item["lead"]
        self._json: bytes | None = None
        self.lead_id: str = item["leadId"]
        self.creation: str = item["creationTime"]
        if self.kind == "incoming":
            realty = lead.get("realty")
            self.office: str | None = lead.get("agencyOfficeId")
            self.agent: str | None = lead.get("agentId")
            self.party: str | None = lead["customer"].get("partyId")
            self.realty: str | None = realty.get("friendlyId") if realty else None
            self.status: str | None = item["leadStatusCode"]
            self.source: str | None = lead.get("leadSourceTypeCode")
            self.type: str | None = lead.get("leadTypeCode")
            self.modification: str | None = item["modificationTime"]
            self.assignment: str | None = item.get("assignmentTime")
            self.decision: str | None = item.get("decisionTime")
        else:
            realty = lead.get("realty")
            self.office = item["sender"].get("agencyOfficeId")
            self.agent = item["sender"].get("agentId")
            self.party = item["customer"].get("partyId")
            self.realty = realty.get("realtyId") if realty else None
            self.status = self.source = self.type = None
            self.modification = self.assignment = self.decision = None

    @property
    def json(self) -> bytes:
        """The item as the API sends it (encoded on first use)."""
        if self._json is None:
            self._json = orjson.dumps(self.item)
        return self._json


class LeadStore:
    """Every incoming and outgoing lead of one sandbox, with a cache of ordered results.

    Args:
        offices: every office id leads may name; a scope covering them all is not
            filtered on (a shortcut, so list them all or none).
    """

    MAX_CACHED_ORDERS = 64

    def __init__(self, offices: Iterable[str] = ()) -> None:
        self.incoming: dict[str, Record] = {}
        self.outgoing: dict[str, Record] = {}
        self.version = 0
        self.offices = frozenset(offices)
        self._orders: OrderedDict[tuple[Any, ...], list[Record]] = OrderedDict()

    def records(self, kind: Kind) -> dict[str, Record]:
        """The records of one kind, by lead id, in the order they were added."""
        return self.incoming if kind == "incoming" else self.outgoing

    def changed(self) -> None:
        """Note that leads changed: cached orders are dropped."""
        self.version += 1
        self._orders.clear()

    def add_incoming(self, items: Iterable[dict[str, Any]]) -> None:
        """Add incoming leads (LeadListItems)."""
        for item in items:
            self.incoming[item["leadId"]] = Record("incoming", item)
        self.changed()

    def add_outgoing(self, items: Iterable[dict[str, Any]]) -> None:
        """Add outgoing leads (OutgoingItems)."""
        for item in items:
            self.outgoing[item["leadId"]] = Record("outgoing", item)
        self.changed()

    def render(self) -> None:
        """Encode every lead's JSON now (at start-up) rather than on the first request that
        lists it."""
        for records in (self.incoming, self.outgoing):
            for record in records.values():
                record.json  # noqa: B018 - encodes and caches

    def delete(self, kind: Kind, lead_ids: Iterable[str]) -> list[str]:
        """Delete leads by id; return the ids that existed."""
        records = self.records(kind)
        gone = [i for i in lead_ids if records.pop(i, None) is not None]
        if gone:
            self.changed()
        return gone

    def select(self, kind: Kind, query: ListQuery, scope: frozenset[str] | None) -> list[Record]:
        """Records matching ``query`` within the offices ``scope`` (None = all), in order.

        The result ignores ``start_index``/``size`` and is cached until leads change.
        """
        key = (kind, query.filters, query.sort, scope)
        cached = self._orders.get(key)
        if cached is not None:
            self._orders.move_to_end(key)
            return cached
        rows: Sequence[Record] = list(self.records(kind).values())
        if scope is not None and not (self.offices and scope >= self.offices):
            rows = [r for r in rows if r.office in scope]
        attributes = FILTER_ATTRIBUTES[kind]
        for name, values in query.filters:
            attribute, wanted = attributes[name], frozenset(values)
            rows = [r for r in rows if getattr(r, attribute) in wanted]
        result = sort_records(rows, query.sort or (("creationTime", True),))
        self._orders[key] = result
        if len(self._orders) > self.MAX_CACHED_ORDERS:
            self._orders.popitem(last=False)
        return result


def sort_records(rows: Iterable[Record], keys: Sequence[tuple[str, bool]]) -> list[Record]:
    """Order ``rows`` by ``(field, descending)`` keys, then ``leadId`` ascending.

    Missing values count as larger than any value.
    """
    if not any(descending for _, descending in keys):  # one pass (cheap on sorted input)
        attributes = [_SORT_ATTRIBUTES[name] for name, _ in keys]
        if len(attributes) == 1:
            attribute = attributes[0]
            return sorted(rows, key=lambda r: (getattr(r, attribute) or "\uffff", r.lead_id))

        def ascending(r: Record) -> tuple[Any, ...]:
            values = [getattr(r, a) for a in attributes]
            return (*((v is None, v or "") for v in values), r.lead_id)

        return sorted(rows, key=ascending)
    ordered = sorted(rows, key=lambda r: r.lead_id)
    for name, descending in reversed(keys):  # stable sorts, least significant key first
        attribute = _SORT_ATTRIBUTES[name]

        def key(r: Record, attribute: str = attribute) -> tuple[bool, str]:
            value = getattr(r, attribute)
            return (value is None, value or "")

        ordered.sort(key=key, reverse=descending)
    return ordered
