"""Synthetic, deterministic UK care-home leads for the sandbox (spec §2, §3, §6).

Written from the spec, independently of leadkit's carehome source. Every record has every
top-level key of §2.1 (null allowed), ``categorySpecificData`` as an object with the keys of
its category (§3), ``date`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, and list-strings as exact
Python ``repr`` (Q4). Each record's JSON text is rendered once, the way a Python service
renders it (``json.dumps``: ``", "`` and ``": "`` separators, non-ASCII escaped), and served
as is.

Example:
    >>> from leadkit.systems.carehome.sandbox.config import CarehomeSandboxConfig
    >>> store = build_store(CarehomeSandboxConfig(leads=40, seed=1, start=datetime(2024, 1, 1)))
    >>> lead = store.leads[0]
    >>> list(lead.record)[:4], lead.record["date"][-5:]
    (['id', 'category', 'service', 'to'], ...)
    >>> sorted({lead.category for lead in store.leads}) == list(range(1, 9))
    True
"""

from __future__ import annotations

import bisect
import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadkit.systems.carehome.sandbox.config import CarehomeSandboxConfig

__all__ = ["CATEGORY_NAMES", "LeadFactory", "LeadStore", "StoredLead", "build_store", "render"]

CATEGORY_NAMES = {
    1: "Contact Form Message",
    2: "In Person Visit Request",
    3: "Virtual Visit Request",
    4: "Call Back Request",
    5: "Email Details Request",
    6: "Referral with contact",
    7: "Referral without contact",
    8: "Placement",
}

_HOMES = (
    ("Rosewood House", "CA14 3YH"), ("Meadowbank Care Home", "LS6 2QA"),
    ("The Willows", "BS8 1TH"), ("Hillcrest Lodge", "M20 6RT"),
    ("St Anne's Nursing Home", "EH10 4BF"), ("Oakleigh Court", "NG5 1PB"),
    ("Beechwood Grange", "SW1A 1AA"), ("Ty Gwyn Residential Home", "CF10 3NQ"),
    ("Lavender Lodge", "BN1 1AE"), ("Riverside View", "NE1 4LP"),
    ("Cedar Park Care Centre", "B15 2TT"), ("Bramble Cottage", "TR1 2HE"),
)  # fmt: skip
_RETIREMENT = (
    ("Harbour Court Retirement Apartments", "PL1 2AA"),
    ("Orchard Gardens Retirement Village", "GL50 1QA"),
    ("Kingsmead Retirement Living", "BA1 1SU"),
)
_FIRST = ("John", "Jane", "Margaret", "David", "Susan", "Peter", "Aisha", "Mohammed",
          "Zoë", "Siân", "Eilidh", "Gareth", "Priya", "Tom", "Bethan", "Chloé")  # fmt: skip
_LAST = ("Smith", "Jones", "Williams", "O'Brien", "Taylor", "Davies", "Evans", "Khan",
         "MacLeod", "Patel", "Brown", "Wilson", "Hughes", "Ní Bhriain")  # fmt: skip
_DOMAINS = ("gmail.com", "yahoo.co.uk", "hotmail.co.uk", "btinternet.com", "outlook.com")
_MESSAGES = (
    "I am looking for a care home for my wife.",
    "I am looking for safe and caring home to help my mother who has vascular dementia.",
    "My father needs residential care after a hospital stay; could you tell me about fees?",
    "Do you have a respite room available next month?",
    "I am looking for a retirement home.",
    "Could someone call me about nursing care for my aunt, please?",
)
_FUNDING_CARE = ("Self Funding", "Local Authority with Top-up", "NHS Continuing Healthcare",
                 "Top-up", "Not Sure")  # fmt: skip
_FUNDING_PROPERTY = ("Buy", "Rent", "Either Buy or Rent", "Part Buy, Part Rent")
_TIMESCALES = ("Emergency", "ASAP", "2-4 weeks", "1-3 months", "3-6 months", "6-12 months",
               "Over 12 months", "Not Sure")  # fmt: skip
_BUDGET_TYPES = ("Hourly Budget", "Weekly Budget", "Monthly Budget", "Purchase Price", "Purchase")
_VISIT_TIMES = ("10:00", "11:30", "14:00", "Morning", "Afternoon", "Any time after 2pm")
_PERMISSION_TEXT = (
    "Permission to contact the enquirer has been granted.  Please check methods granted."
)
_MOBILE = ("4", "5", "7", "8")
_ODD_PHONES = ("+44 (0)7{a}{b} {c}", "0044 7{a}{b} {c}", "07{a}{b}-{c}", "(01900) {c}")
_BAD_PHONES = ("n/a", "call after 6pm", "12345", "ask for Jane", "0")
_QUIRK_CATEGORIES = {
    "camel_budget": (6, 7, 8),
    "visit_time_text": (2, 3),
    "invalid_visit_date": (2, 3),
}


@dataclass
class StoredLead:
    """One lead as the sandbox serves it.

    Attributes:
        id: ``id``.
        ms: ``date`` as epoch milliseconds (UTC).
        category: ``category.id``.
        service: ``service.id``.
        anonymised: ``isAnonymised``.
        quirk: the quirk it carries, if any.
        record: the Lead object.
        json: its rendered JSON text (served byte for byte).
    """

    id: int
    ms: int
    category: int
    service: int
    anonymised: bool
    quirk: str | None
    record: dict[str, Any]
    json: bytes = b""


def render(record: dict[str, Any]) -> bytes:
    """A record's JSON as the API renders it (Python's ``json.dumps`` defaults)."""
    return json.dumps(record).encode()


def iso_ms(ms: int) -> str:
    """Epoch milliseconds → ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    when = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


@dataclass
class LeadStore:
    """Leads sorted by date (then id), with a date index for window queries."""

    leads: list[StoredLead] = field(default_factory=list)
    _ms: list[tuple[int, int]] = field(default_factory=list)

    def add(self, lead: StoredLead) -> None:
        """Insert a lead in date order."""
        if not lead.json:
            lead.json = render(lead.record)
        at = bisect.bisect_right(self._ms, (lead.ms, lead.id))
        self._ms.insert(at, (lead.ms, lead.id))
        self.leads.insert(at, lead)

    def between(self, low_ms: int | None, high_ms: int | None) -> list[StoredLead]:
        """Leads with ``low_ms <= ms <= high_ms`` (either bound optional)."""
        lo = 0 if low_ms is None else bisect.bisect_left(self._ms, (low_ms, -(2**62)))
        hi = len(self._ms) if high_ms is None else bisect.bisect_right(self._ms, (high_ms, 2**62))
        return self.leads[lo:hi]

    def next_id(self) -> int:
        """An id above every id in the store."""
        return max((lead.id for lead in self.leads), default=10000) + 1


class LeadFactory:
    """Makes leads from a seeded random generator.

    Args:
        config: the sandbox configuration.
        rng: the generator (the dataset's, or the running sandbox's for added leads).
    """

    def __init__(self, config: CarehomeSandboxConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.quirk_turn = 0
        n = max(1, config.services)
        self.homes = [(100000 + k, *_HOMES[k % len(_HOMES)]) for k in range(n)]
        self.properties = [(200000 + k, *_RETIREMENT[k % len(_RETIREMENT)]) for k in range(n)]

    def next_quirk(self) -> str | None:
        """The quirk for the next lead (``quirk_rate`` of leads, in turn), or None."""
        if not self.config.quirks or self.rng.random() >= self.config.quirk_rate:
            return None
        quirk = self.config.quirks[self.quirk_turn % len(self.config.quirks)]
        self.quirk_turn += 1
        return quirk

    def make(
        self, lead_id: int, ms: int, *, category: int | None = None, quirk: str | None = None,
        anonymised: bool | None = None,
    ) -> StoredLead:  # fmt: skip
        """One lead dated ``ms`` (epoch milliseconds)."""
        rng = self.rng
        if category is None:
            allowed = _QUIRK_CATEGORIES.get(quirk or "", tuple(range(1, 9)))
            category = rng.choice(allowed)
        if anonymised is None:
            anonymised = quirk is None and rng.random() < self.config.anonymised_rate
        record = self._record(lead_id, ms, category, quirk, anonymised)
        return StoredLead(lead_id, ms, category, record["service"]["id"], anonymised, quirk, record)

    def _phone(self) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return f"07{rng.choice(_MOBILE)}{rng.randint(10, 99)} {rng.randint(100000, 999999)}"
        if rng.random() < 0.5:
            return f"+447{rng.choice(_MOBILE)}{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
        area = rng.choice(("01900 ", "0161 4", "0113 2", "0117 9", "0131 2"))
        if area == "01900 ":
            return f"{area}{rng.randint(200000, 999999)}"
        return f"{area}{rng.randint(10, 99)} {rng.randint(1000, 9999)}"

    def _record(
        self, lead_id: int, ms: int, category: int, quirk: str | None, anonymised: bool
    ) -> dict[str, Any]:
        rng = self.rng
        property_lead = category >= 6
        sid, sname, postcode = rng.choice(self.properties if property_lead else self.homes)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}{rng.randint(1, 99)}".lower().replace("'", "").replace(" ", "")
        email = unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode()
        email += "@" + rng.choice(_DOMAINS)
        myself = property_lead or rng.random() < 0.3
        resident = (None, None) if myself else (rng.choice(_FIRST), last)
        on_behalf = ["Myself"] if myself else ["Family member"]
        funding = [rng.choice(_FUNDING_PROPERTY if property_lead else _FUNDING_CARE)]
        timescales: list[str] | None = None if rng.random() < 0.3 else [rng.choice(_TIMESCALES)]
        phone: str | None = self._phone()
        names: list[str | None] = [first, last, *resident]
        to = "enquiries@" + sname.lower().replace("'", "").replace(" ", "-")[:30] + ".co.uk"
        csd = self._specific(category, ms, quirk)
        funding_text = repr(funding)
        if quirk == "padding":
            sname, postcode, email = " " + sname, " " + postcode, " " + email + " "
            names[0] = f"{first} "
        elif quirk == "email_case":
            email = email[:1].upper() + email[1:].split("@")[0] + "@" + email.split("@")[1].upper()
        elif quirk == "comma_value":
            funding_text = repr(["Part Buy, Part Rent"])
        elif quirk == "apostrophe_value":
            on_behalf = ["Family member", "Friend's parent"]
        elif quirk == "multi_value":
            funding_text = repr(["Self Funding", "Local Authority with Top-up"])
            timescales = ["ASAP", "2-4 weeks"]
        elif quirk == "broken_list":
            funding_text = repr(["Self Funding", "Top-up"])[:-1]
        elif quirk == "empty_names":
            names = ["", "", "", ""]
        elif quirk == "null_names":
            names = [None, None, None, None]
        elif quirk == "phone_format":
            a, b, c = rng.choice(_MOBILE), rng.randint(10, 99), rng.randint(100000, 999999)
            phone = rng.choice(_ODD_PHONES).format(a=a, b=b, c=c)
        elif quirk == "phone_unparseable":
            phone = rng.choice(_BAD_PHONES)
        elif quirk == "phone_empty":
            phone = ""
        content = rng.choice(_MESSAGES[4:5] if property_lead else _MESSAGES)
        if anonymised:
            names, email, phone, content = [None, None, None, None], "", None, ""
        return {
            "id": lead_id,
            "category": {"id": category, "name": CATEGORY_NAMES[category]},
            "service": {"id": sid, "name": sname, "postcode": postcode},
            "to": to,
            "from": email,
            "date": iso_ms(ms),
            "content": content,
            "enquirerFirstName": names[0],
            "enquirerSurname": names[1],
            "onBehalfOf": repr(on_behalf),
            "residentFirstName": names[2],
            "residentSurname": names[3],
            "telephone": phone,
            "isAnonymised": anonymised,
            "funding": funding_text,
            "timescales": None if timescales is None else repr(timescales),
            "categorySpecificData": csd,
        }

    def _specific(self, category: int, ms: int, quirk: str | None) -> dict[str, Any]:
        rng = self.rng
        if category == 1:
            return {"instruction": ""}
        if category in (2, 3):
            day = datetime.fromtimestamp(ms // 1000, UTC) + timedelta(days=rng.randint(1, 14))
            visit_date = f"{day:%Y-%m-%d}"
            if quirk == "invalid_visit_date":
                visit_date = rng.choice((f"{day:%Y}-02-30", "next Tuesday", f"{day:%d/%m/%Y}"))
            visit_time = rng.choice(_VISIT_TIMES)
            if quirk == "visit_time_text":
                visit_time = "We don't get this"
            return {
                "visitDate": visit_date,
                "visitTime": visit_time,
                "instruction": "Please confirm directly with requester",
            }
        if category == 4:
            return {"instruction": "Call Back Request"}
        if category == 5:
            return {"instruction": "Email Me Details"}
        email_ok = category == 6 and rng.random() < 0.7
        phone_ok = category == 6 and (not email_ok or rng.random() < 0.5)
        budget_type = rng.choice(_BUDGET_TYPES)
        low = (
            rng.randrange(150000, 500000, 25000)
            if "Purchase" in budget_type
            else rng.randint(200, 1500)
        )
        high = low + (rng.randrange(50000, 150000, 25000) if low > 10000 else rng.randint(50, 500))
        budget = {"budget_type": budget_type, "budget_min": low, "budget_max": high}
        if quirk == "camel_budget":
            budget = {"budgetType": budget_type, "budgetMin": low, "budgetMax": high}
        return {
            "instruction": _PERMISSION_TEXT,
            "emailPermission": email_ok,
            "phonePermission": phone_ok,
            **budget,
        }


def build_store(config: CarehomeSandboxConfig) -> LeadStore:
    """The dataset of ``config``: ``leads`` leads over ``days`` days from ``start``, every
    category present (the first eight leads generated take categories 1–8), ids unique and
    increasing with the date."""
    rng = random.Random(config.seed)
    factory = LeadFactory(config, rng)
    start_ms = int(config.first_day.timestamp() * 1000)
    span_ms = config.days * 86_400_000
    drafts = []
    for n in range(config.leads):
        ms = start_ms + rng.randrange(span_ms)
        quirk = factory.next_quirk()
        category = (n % 8) + 1 if n < 8 and quirk not in _QUIRK_CATEGORIES else None
        drafts.append((ms, category, quirk))
    drafts.sort(key=lambda d: d[0])
    store = LeadStore()
    leads = [
        factory.make(10001 + i, ms, category=cat, quirk=q) for i, (ms, cat, q) in enumerate(drafts)
    ]
    for lead in leads:
        lead.json = render(lead.record)
    store.leads = leads
    store._ms = [(lead.ms, lead.id) for lead in leads]
    return store
