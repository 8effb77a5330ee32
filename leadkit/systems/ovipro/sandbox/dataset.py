"""Deterministic synthetic OviPro data: offices, agents, realties, customers and leads.

A :class:`World` holds what leads point at: agency offices with their agents, realties
(apartments and houses with Finnish addresses) and customer parties. A :class:`LeadFactory`
draws leads from one named random stream of a seed: same seed, same calls, same leads.
Leads are plain dicts shaped exactly like the API's JSON (spec §5.1, §5.2, §9): every field
present, optional times omitted while they are absent, keys in documented order.

Status histories hang together (spec §7): a ``NEW`` lead has no ``agentId``,
``assignmentTime`` or ``decisionTime``; ``IN_PROGRESS`` has an agent and an assignment time;
``APPROVED``/``REJECTED`` have a decision time (and usually an agent); ``modificationTime``
is the latest of them unless ``stale_modification_rate`` asks for the documentation's
quirk (Q9). Times are ISO 8601 UTC seconds with ``Z``.

Example:
    >>> world = World(DatasetOptions(seed=1))
    >>> leads = LeadFactory(world, "doc").incoming(2)
    >>> list(leads[0])[:4]
    ['leadId', 'leadStatusCode', 'leadActionCodes', 'lead']
    >>> leads == LeadFactory(World(DatasetOptions(seed=1)), "doc").incoming(2)
    True
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from leadkit.systems.ovipro.sandbox import vocab

if TYPE_CHECKING:
    from leadkit.systems.ovipro.sandbox.config import OviProSandboxConfig

__all__ = [
    "Agent",
    "DatasetOptions",
    "LeadFactory",
    "Office",
    "Party",
    "Realty",
    "World",
    "format_time",
    "order_incoming",
    "random_uuid",
]

Lead = dict[str, Any]

_SOURCE_WEIGHTS: Mapping[str, int] = {
    "ETUOVI": 34, "OIKOTIE": 20, "VUOKRAOVI": 8, "KL_TOIMITILAT": 3, "TOIMITILAT_FI": 2, "BANK": 33,
}  # fmt: skip
_RECENT_DAYS = 30
_RECENT_STATUS = (45, 30, 15, 10)  # NEW, IN_PROGRESS, APPROVED, REJECTED for leads < 30 days
_OLD_STATUS = (6, 10, 52, 32)
_LANGUAGES = (("fi", 85), ("sv", 12), ("en", 3))
_INCOMING_KEYS = ("leadId", "leadStatusCode", "leadActionCodes", "lead", "assignmentTime",
                  "decisionTime", "creationTime", "modificationTime")  # fmt: skip
_LEAD_KEYS = ("leadTypeCode", "leadSourceTypeCode", "agencyOfficeId", "agentId", "realty",
              "message", "additionalNote", "customer", "recipient",
              "supplierAssignedIdentifiers", "tags")  # fmt: skip


def format_time(epoch_s: int) -> str:
    """ISO 8601 UTC with seconds and ``Z``, as the API writes times.

    Example:
        >>> format_time(1690983148)
        '2023-08-02T13:32:28Z'
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def random_uuid(rng: random.Random) -> str:
    """A lowercase version-4 uuid drawn from ``rng`` (deterministic for a seeded ``rng``).

    Example:
        >>> random_uuid(random.Random(0))
        'e3e70682-c209-4cac-a29f-6fbed82c07cd'
    """
    # The same text as str(uuid.UUID(int=rng.getrandbits(128), version=4)), three times faster.
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def order_incoming(item: Lead) -> Lead:
    """Return ``item`` (a LeadListItem) with its keys, and its ``lead``'s, in API order.

    Example:
        >>> order_incoming({"creationTime": "t", "leadId": "x",
        ...                 "lead": {"tags": [], "message": ""}})
        {'leadId': 'x', 'lead': {'message': '', 'tags': []}, 'creationTime': 't'}
    """
    lead = item.get("lead")
    if isinstance(lead, dict):
        lead = {k: lead[k] for k in _LEAD_KEYS if k in lead}
    out = {k: (lead if k == "lead" else item[k]) for k in _INCOMING_KEYS if k in item}
    return out


@dataclass(frozen=True)
class DatasetOptions:
    """What to generate (besides how many); the dataset knobs of the sandbox config."""

    seed: int = 0
    offices: int = 6
    agents_per_office: int = 5
    empty_string_rate: float = 0.1
    realty_rate: float = 0.7
    repeat_customer_rate: float = 0.15
    stale_modification_rate: float = 0.0
    lead_type_codes: tuple[str, ...] = vocab.LEAD_TYPE_CODES
    lead_source_type_codes: tuple[str, ...] = vocab.LEAD_SOURCE_TYPE_CODES
    action_codes: tuple[str, ...] = vocab.ACTION_CODES
    document_type_codes: tuple[str, ...] = vocab.DOCUMENT_TYPE_CODES
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC)
    end: datetime = datetime(2025, 7, 1, tzinfo=UTC)

    @classmethod
    def from_config(cls, config: OviProSandboxConfig) -> DatasetOptions:
        """The dataset part of a sandbox config."""
        names = cls.__dataclass_fields__
        return cls(**{name: getattr(config, name) for name in names})


@dataclass(frozen=True)
class Agent:
    """A realtor of one office (``sender`` of outgoing leads, ``agentId`` of incoming)."""

    agent_id: str
    office_id: str
    first_name: str
    last_name: str
    email_address: str
    phone_number: str


@dataclass(frozen=True)
class Office:
    """An agency office (``agencyOfficeId``, ``recipient``)."""

    office_id: str
    name: str
    email_address: str
    area: vocab.PostalArea
    agents: tuple[Agent, ...]


@dataclass(frozen=True)
class Realty:
    """A home on sale: ``realtyId``, ``friendlyId`` and a Finnish address."""

    realty_id: str
    friendly_id: str
    address: dict[str, str]


@dataclass(frozen=True)
class Party:
    """A customer (``customer.partyId`` and the contact details that go with it)."""

    party_id: str
    first_name: str
    last_name: str
    email_address: str
    phone_number: str


@dataclass
class World:
    """Offices, agents, realties and customers shared by every lead of one sandbox.

    Offices and agents are fixed at start; realties and parties grow as leads are made.
    """

    options: DatasetOptions
    offices: tuple[Office, ...] = field(init=False)
    realties: list[Realty] = field(init=False, default_factory=list)
    parties: dict[str, Party] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(f"ovipro:{self.options.seed}:world")
        offices = []
        for i in range(self.options.offices):
            office_id = random_uuid(rng)
            name = vocab.OFFICE_NAMES[i]
            area = vocab.POSTAL_AREAS[(i * 7) % len(vocab.POSTAL_AREAS)]
            domain = vocab.ascii_fold(name.split()[0]).replace("&", "") + ".fi"
            agents = tuple(
                Agent(random_uuid(rng), office_id, *_person(_Draw(rng), domain=domain)[1:])
                for _ in range(self.options.agents_per_office)
            )
            offices.append(Office(office_id, name, f"info@{domain}", area, agents))
        self.offices = tuple(offices)
        self._office_by_id = {o.office_id: o for o in self.offices}
        self._agent_by_id = {a.agent_id: a for o in self.offices for a in o.agents}
        self._friendly_ids: set[str] = set()
        self._party_list: list[Party] = []

    @property
    def office_ids(self) -> tuple[str, ...]:
        """Every office id, in generation order."""
        return tuple(o.office_id for o in self.offices)

    def office(self, office_id: str) -> Office | None:
        """The office with this id, or None."""
        return self._office_by_id.get(office_id)

    def agent(self, agent_id: str) -> Agent | None:
        """The agent with this id, or None."""
        return self._agent_by_id.get(agent_id)

    def add_party(self, party: Party) -> Party:
        """Register a customer (ignored if its id is known); return the registered one."""
        known = self.parties.get(party.party_id)
        if known is not None:
            return known
        self.parties[party.party_id] = party
        self._party_list.append(party)
        return party

    def some_party(self, rng: random.Random) -> Party | None:
        """A customer seen before, or None if there is none yet."""
        return rng.choice(self._party_list) if self._party_list else None

    def new_realty(self, draw: _Draw, area: vocab.PostalArea) -> Realty:
        """Make, register and return a realty in ``area`` (``draw``: a seeded stream)."""
        while True:
            number = draw.below(10_000, 1_000_000)
            friendly = f"D{number}" if draw.random() < 0.8 else f"{number:06d}"
            if friendly not in self._friendly_ids:
                break
        self._friendly_ids.add(friendly)
        house = draw.random() < 0.3
        address = {
            "streetAddress": f"{draw.pick(area.streets)} {draw.below(1, 121)}",
            "stairwell": "" if house else draw.pick("AAAABBBCCDEF"),
            "apartmentNumber": "" if house else str(draw.below(1, 81)),
            "postcode": area.postcode,
            "postalArea": area.name,
        }
        realty = Realty(random_uuid(draw.rng), friendly, address)
        self.realties.append(realty)
        return realty


def _person(draw: _Draw, domain: str | None = None) -> tuple[str, str, str, str, str]:
    """(party id, first name, last name, e-mail, E.164 phone) of a new person."""
    party_id = random_uuid(draw.rng)
    female = draw.random() < 0.5
    first = draw.pick(vocab.FEMALE_FIRST_NAMES if female else vocab.MALE_FIRST_NAMES)
    last = draw.pick(vocab.LAST_NAMES)
    f, l_ = vocab.ascii_fold(first), vocab.ascii_fold(last)
    if domain is not None:
        email = f"{f}.{l_}@{domain}"
    else:
        kind = draw.below(0, 4)
        local = (f"{f}.{l_}", f"{f}{l_}", f"{f[0]}.{l_}", f"{f}.{l_}{draw.below(60, 100)}")[kind]
        email = f"{local}@{draw.pick(vocab.EMAIL_DOMAINS)}"
    if draw.random() < 0.93:
        phone = f"+358{draw.pick(vocab.MOBILE_PREFIXES)}{draw.below(0, 10**7):07d}"
    else:  # a Helsinki landline: +358 9 and seven digits
        phone = f"+3589{draw.below(10**6, 10**7):07d}"
    return party_id, first, last, email, phone


def _weighted(values: Sequence[str], weights: Mapping[str, int]) -> list[int]:
    return [weights.get(v, 10) for v in values]


class _Draw:
    """Fast draws from a seeded ``random.Random`` (one ``random()`` call per pick)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.random = rng.random

    def pick(self, values: Sequence[Any]) -> Any:
        """A uniform choice."""
        return values[int(self.random() * len(values))]

    def below(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi)``."""
        return lo + int(self.random() * (hi - lo))

    def sample(self, values: Sequence[Any], k: int) -> list[Any]:
        """``k`` distinct values (``k`` small, at most ``len(values)``), in drawn order."""
        out: list[Any] = []
        while len(out) < k:
            value = self.pick(values)
            if value not in out:
                out.append(value)
        return out

    def weighted(self, values: Sequence[Any], cumulative: Sequence[float]) -> Any:
        """A choice weighted by ``cumulative`` (running totals of the weights)."""
        return values[bisect.bisect(cumulative, self.random() * cumulative[-1])]


def _cumulative(weights: Sequence[int]) -> list[float]:
    return list(itertools.accumulate(float(w) for w in weights))


class LeadFactory:
    """Makes incoming and outgoing leads from one named random stream of the world's seed.

    Args:
        world: what the leads point at (grows with new realties and customers).
        stream: names the random stream; use a new name for each independent sequence.
    """

    def __init__(self, world: World, stream: str):
        self.world = world
        self.options = opts = world.options
        self.rng = random.Random(f"ovipro:{opts.seed}:{stream}")
        self.draw = _Draw(self.rng)
        self._sources = _cumulative(_weighted(opts.lead_source_type_codes, _SOURCE_WEIGHTS))
        self._recent = _cumulative(_RECENT_STATUS)
        self._old = _cumulative(_OLD_STATUS)
        self._tag_counts = _cumulative((50, 35, 15))
        self._doc_counts = _cumulative((40, 40, 20))
        self._languages = _cumulative([w for _, w in _LANGUAGES])

    def _text(self, values: Sequence[str]) -> str:
        draw = self.draw
        return "" if draw.random() < self.options.empty_string_rate else draw.pick(values)

    def _email(self, address: str) -> str:
        return "" if self.draw.random() < self.options.empty_string_rate else address

    def party(self) -> Party:
        """A customer: one seen before (``repeat_customer_rate``) or a new one."""
        if self.draw.random() < self.options.repeat_customer_rate:
            known = self.world.some_party(self.rng)
            if known is not None:
                return known
        return self.world.add_party(Party(*_person(self.draw)))

    def _created_times(self, n: int, created_at: int | None) -> list[int]:
        if created_at is not None:
            return [created_at] * n
        draw = self.draw
        start, end = int(self.options.start.timestamp()), int(self.options.end.timestamp())
        times = sorted(draw.below(start, end) for _ in range(n))
        for i in range(1, n):  # about 3% share their predecessor's second exactly
            if draw.random() < 0.03:
                times[i] = times[i - 1]
        return times

    def incoming(self, n: int, created_at: int | None = None) -> list[Lead]:
        """``n`` incoming leads (LeadListItems), oldest first.

        Args:
            n: how many.
            created_at: epoch seconds; give every lead this ``creationTime`` and status
                ``NEW`` (leads arriving now) instead of spreading them over start..end.
        """
        end = int(self.options.end.timestamp())
        fresh = created_at is not None
        return [self._incoming(c, end, fresh) for c in self._created_times(n, created_at)]

    def _status(self, created: int, end: int) -> str:
        recent = end - created < _RECENT_DAYS * 86400
        status: str = self.draw.weighted(vocab.STATUS_CODES, self._recent if recent else self._old)
        return status

    def _realty(self, office: Office) -> dict[str, Any]:
        draw, world = self.draw, self.world
        if world.realties and draw.random() < 0.2:
            realty = draw.pick(world.realties)  # another lead for a home seen before
        else:
            area = office.area if draw.random() < 0.7 else draw.pick(vocab.POSTAL_AREAS)
            realty = world.new_realty(draw, area)
        return {"friendlyId": realty.friendly_id, "address": dict(realty.address)}

    def _incoming(self, created: int, end: int, fresh: bool) -> Lead:
        draw, opts, world = self.draw, self.options, self.world
        office: Office = draw.pick(world.offices)
        status = "NEW" if fresh else self._status(created, end)
        type_code = draw.pick(opts.lead_type_codes)
        lead: Lead = {
            "leadTypeCode": type_code,
            "leadSourceTypeCode": draw.weighted(opts.lead_source_type_codes, self._sources),
            "agencyOfficeId": office.office_id,
        }
        assigned = status == "IN_PROGRESS" or (status != "NEW" and draw.random() < 0.8)
        if assigned:
            lead["agentId"] = draw.pick(office.agents).agent_id
        if draw.random() < opts.realty_rate:
            lead["realty"] = self._realty(office)
        seller = type_code == "SELLER_REFERRAL"
        lead["message"] = self._text(vocab.SELLER_MESSAGES if seller else vocab.BUYER_MESSAGES)
        lead["additionalNote"] = self._text(vocab.ADDITIONAL_NOTES)
        party = self.party()
        lead["customer"] = {
            "firstName": party.first_name,
            "lastName": party.last_name,
            "emailAddress": self._email(party.email_address),
            "phoneNumber": party.phone_number,
            "partyId": party.party_id,
        }
        recipient: Office = office if draw.random() < 0.9 else draw.pick(world.offices)
        lead["recipient"] = {
            "name": recipient.name,
            "emailAddress": self._email(recipient.email_address),
            "agencyOfficeId": recipient.office_id,
        }
        ids = []
        if draw.random() < 0.25:
            ids.append({"schemeId": draw.pick(vocab.SCHEME_IDS),
                        "supplierAssignedId": f"{self.rng.getrandbits(32):08x}"})  # fmt: skip
        lead["supplierAssignedIdentifiers"] = ids
        lead["tags"] = draw.sample(vocab.TAGS, draw.weighted((0, 1, 2), self._tag_counts))
        actions: list[str] = []
        if status != "NEW":
            count = draw.below(0, min(3, len(opts.action_codes) + 1))
            actions = draw.sample(opts.action_codes, count)
        item: Lead = {
            "leadId": random_uuid(self.rng),
            "leadStatusCode": status,
            "leadActionCodes": actions,
            "lead": lead,
        }
        latest = created
        if assigned:
            latest = created + draw.below(600, 3 * 86400)
            item["assignmentTime"] = format_time(latest)
        if status in ("APPROVED", "REJECTED"):
            latest = latest + draw.below(3600, 20 * 86400)
            item["decisionTime"] = format_time(latest)
        item["creationTime"] = format_time(created)
        if latest > created and draw.random() < opts.stale_modification_rate:
            modified = draw.below(created, latest)  # the documentation's quirk, spec Q9
        else:
            modified = latest + (0 if draw.random() < 0.5 else draw.below(60, 10 * 86400))
        item["modificationTime"] = format_time(modified)
        return item

    def outgoing(self, n: int, created_at: int | None = None) -> list[Lead]:
        """``n`` outgoing leads (OutgoingItems, spec §9), oldest first."""
        return [self._outgoing(c) for c in self._created_times(n, created_at)]

    def _outgoing(self, created: int) -> Lead:
        draw, opts, world = self.draw, self.options, self.world
        office: Office = draw.pick(world.offices)
        agent: Agent = draw.pick(office.agents)
        if world.realties and draw.random() < 0.8:
            realty: Realty = draw.pick(world.realties)
        else:
            realty = world.new_realty(draw, office.area)
        party = self.party()
        documents = [
            {"documentId": random_uuid(self.rng),
             "documentTypeCode": draw.pick(opts.document_type_codes)}
            for _ in range(draw.weighted((0, 1, 2), self._doc_counts))
        ]  # fmt: skip
        return {
            "leadId": random_uuid(self.rng),
            "lead": {
                "languageCode": draw.weighted([code for code, _ in _LANGUAGES], self._languages),
                "subject": draw.pick(vocab.OUTGOING_SUBJECTS),
                "message": self._text(vocab.OUTGOING_MESSAGES),
                "additionalNote": self._text(vocab.OUTGOING_NOTES),
                "realty": {"realtyId": realty.realty_id, "friendlyId": realty.friendly_id},
                "documents": documents,
            },
            "customer": {
                "firstName": party.first_name,
                "lastName": party.last_name,
                "emailAddress": self._email(party.email_address),
                "partyId": party.party_id,
            },
            "sender": {
                "firstName": agent.first_name,
                "lastName": agent.last_name,
                "emailAddress": self._email(agent.email_address),
                "phoneNumber": agent.phone_number,
                "agencyOfficeId": office.office_id,
                "agentId": agent.agent_id,
            },
            "creationTime": format_time(created),
        }
