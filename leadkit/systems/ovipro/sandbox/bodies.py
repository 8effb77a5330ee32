"""Request bodies of the OviPro sandbox's write endpoints (spec §6, §7, §9, Q10, Q11).

Each function validates one body completely, reporting every problem at once as
``errors[]`` entries of a 400 ``BAD_REQUEST_BODY`` (:class:`BodyError`), then builds or
changes the lead. Inferred rules (the documentation does not capture required fields):

* ``POST /leads``: ``lead`` with ``leadTypeCode``, ``leadSourceTypeCode``, a flat
  ``agencyOfficeId`` and a ``customer`` with an e-mail address or a phone number.
* ``POST /marketplaces/{code}/leads``: the same, but the office is nested
  (``lead.agencyOffice.agencyOfficeId``), the source is the marketplace code, and
  ``customer.partyId``/``recipient.agencyOfficeId`` are not read. A flat office in a
  marketplace body, or a nested one in a plain body, is refused (Q10).
* ``POST /outgoingLeads``: ``lead`` (``languageCode``, ``subject``), ``customer.partyId``
  (a known customer) and ``sender.agencyOfficeId`` (an office the token may see) as
  top-level siblings, also found inside ``lead`` (Q11); names are filled from the ids.
* ``PUT /leads/{id}``: ``leadStatusCode`` and ``lead`` required (``PATCH``: optional);
  the status machine of §7; only a first ``agentId`` sets ``assignmentTime`` (a status
  change alone does not), reaching APPROVED/REJECTED sets ``decisionTime``; changes set
  ``modificationTime`` (always later than before).

Ids are lowercase uuids (spec §3); an office or customer id that the sandbox does not know
is reported with ``errorCode`` ``INVALID_ID``. Agent ids are not checked against agents.

Example:
    >>> transition_error("APPROVED", "NEW")
    "leadStatusCode cannot change from 'APPROVED' to 'NEW'; APPROVED is final"
    >>> transition_error("NEW", "IN_PROGRESS") is None
    True
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from typing import Any

from leadkit.systems.ovipro.sandbox.dataset import (
    Office,
    Party,
    World,
    format_time,
    order_incoming,
)
from leadkit.systems.ovipro.sandbox.params import UUID_PATTERN, error_entry
from leadkit.systems.ovipro.sandbox.vocab import STATUS_CODES

__all__ = [
    "BodyError",
    "StatusError",
    "apply_update",
    "build_incoming",
    "build_outgoing",
    "parse_time",
    "transition_error",
]

Json = dict[str, Any]

_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[a-z]{2}")
_NEXT: dict[str, tuple[str, ...]] = {
    "NEW": ("IN_PROGRESS", "APPROVED", "REJECTED"),
    "IN_PROGRESS": ("APPROVED", "REJECTED"),
    "APPROVED": (),
    "REJECTED": (),
}
_CONTACT_KEYS = ("emailAddress", "phoneNumber")
_ADDRESS_KEYS = ("streetAddress", "stairwell", "apartmentNumber", "postcode", "postalArea")


class BodyError(Exception):
    """The body is invalid; :attr:`errors` are the ``errors[]`` entries."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class StatusError(Exception):
    """The status change is not allowed (400 ``INVALID_STATUS``)."""


def parse_time(text: str) -> int:
    """Epoch seconds of an API time (``2023-08-02T13:32:28Z``).

    Example:
        >>> parse_time("2023-08-02T13:32:28Z")
        1690983148
    """
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def transition_error(current: str, new: str) -> str | None:
    """Why ``current`` → ``new`` is not allowed (spec §7), or None when it is."""
    if new == current or new in _NEXT[current]:
        return None
    if not _NEXT[current]:
        return f"leadStatusCode cannot change from {current!r} to {new!r}; {current} is final"
    allowed = ", ".join(_NEXT[current])
    return f"leadStatusCode cannot change from {current!r} to {new!r}; allowed: {allowed}"


class _Checker:
    """Reads fields of a JSON body, collecting ``errors[]`` entries."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def fail(self, target: str, code: str, message: str) -> None:
        self.errors.append(error_entry(target, code, message))

    def obj(self, parent: Json | None, key: str, target: str, required: bool) -> Json | None:
        value = parent.get(key) if parent is not None else None
        if value is None:
            if required and parent is not None:
                self.fail(target, "VALUE_REQUIRED", f"{target} is required")
            return None
        if not isinstance(value, dict):
            self.fail(target, "INVALID_TYPE", f"{target} must be an object")
            return None
        return value

    def text(
        self,
        parent: Json | None,
        key: str,
        target: str,
        required: bool = False,
        check: Callable[[str], object] | None = None,
        rule: str = "",
    ) -> str | None:
        value = parent.get(key) if parent is not None else None
        if value is None or (required and value == ""):
            if required and parent is not None:
                self.fail(target, "VALUE_REQUIRED", f"{target} is required")
            return None
        if not isinstance(value, str):
            self.fail(target, "INVALID_TYPE", f"{target} must be a string")
            return None
        if check is not None and value != "" and not check(value):
            self.fail(target, "INVALID_TYPE", f"{target}={_short(value)} must be {rule}")
            return None
        return value

    def uuid(
        self, parent: Json | None, key: str, target: str, required: bool = False
    ) -> str | None:
        return self.text(parent, key, target, required, _is_uuid, "a lowercase uuid")

    def items(self, parent: Json | None, key: str, target: str) -> list[Any]:
        value = parent.get(key) if parent is not None else None
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(target, "INVALID_TYPE", f"{target} must be an array")
            return []
        return value

    def strings(self, parent: Json | None, key: str, target: str) -> list[str]:
        values = self.items(parent, key, target)
        if not all(isinstance(v, str) for v in values):
            self.fail(target, "INVALID_TYPE", f"{target} must be an array of strings")
            return []
        return values

    def raise_if_failed(self) -> None:
        if self.errors:
            raise BodyError(self.errors)


def _is_uuid(value: str) -> bool:
    return UUID_PATTERN.fullmatch(value) is not None


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _root(body: object, checker: _Checker) -> Json:
    if not isinstance(body, dict):
        checker.fail("body", "INVALID_TYPE", "the body must be a JSON object")
        checker.raise_if_failed()
    assert isinstance(body, dict)
    return body


def _office(
    checker: _Checker, world: World, office_id: str | None, target: str,
    scope: frozenset[str] | None = None,
) -> Office | None:  # fmt: skip
    if office_id is None:
        return None
    office = world.office(office_id)
    if office is None or (scope is not None and office_id not in scope):
        checker.fail(target, "INVALID_ID", f"{target}={office_id!r} is not an agency office")
        return None
    return office


def _identifiers(checker: _Checker, lead: Json | None) -> list[Json]:
    out = []
    target = "lead.supplierAssignedIdentifiers"
    for i, entry in enumerate(checker.items(lead, "supplierAssignedIdentifiers", target)):
        at = f"{target}[{i}]"
        if not isinstance(entry, dict):
            checker.fail(at, "INVALID_TYPE", f"{at} must be an object")
            continue
        scheme = checker.text(entry, "schemeId", f"{at}.schemeId", required=True)
        supplied = checker.text(entry, "supplierAssignedId", f"{at}.supplierAssignedId", True)
        out.append({"schemeId": scheme, "supplierAssignedId": supplied})
    return out


def _realty(checker: _Checker, lead: Json | None) -> Json | None:
    realty = checker.obj(lead, "realty", "lead.realty", required=False)
    if realty is None:
        return None
    friendly = checker.text(realty, "friendlyId", "lead.realty.friendlyId")
    address = checker.obj(realty, "address", "lead.realty.address", required=False)
    parts = {k: checker.text(address, k, f"lead.realty.address.{k}") for k in _ADDRESS_KEYS}
    return {"friendlyId": friendly or "", "address": {k: v or "" for k, v in parts.items()}}


def build_incoming(
    body: object,
    world: World,
    *,
    lead_id: str,
    party_id: str,
    now: int,
    marketplace: str | None = None,
) -> Json:
    """Validate a create body and return the new LeadListItem (status ``NEW``).

    Args:
        body: the parsed JSON body.
        world: offices and customers.
        lead_id: id of the new lead.
        party_id: id for the customer when the body gives none.
        now: epoch seconds, the creation time.
        marketplace: the path's marketplace code for ``POST /marketplaces/{code}/leads``;
            None for ``POST /leads``.

    Raises:
        BodyError: every problem of the body.
    """
    c = _Checker()
    lead = c.obj(_root(body, c), "lead", "lead", required=True)
    type_code = c.text(lead, "leadTypeCode", "lead.leadTypeCode", required=True)
    if marketplace is None:
        source = c.text(lead, "leadSourceTypeCode", "lead.leadSourceTypeCode", required=True)
        if lead is not None and "agencyOffice" in lead:
            c.fail("lead.agencyOffice", "INVALID_TYPE", "lead.agencyOffice is the marketplace "
                   "shape; POST /leads takes a flat lead.agencyOfficeId")  # fmt: skip
        office_id = c.uuid(lead, "agencyOfficeId", "lead.agencyOfficeId", required=True)
        office = _office(c, world, office_id, "lead.agencyOfficeId")
    else:
        source = marketplace
        if lead is not None and "agencyOfficeId" in lead:
            c.fail("lead.agencyOfficeId", "INVALID_TYPE", "the marketplace endpoint takes "
                   "lead.agencyOffice.agencyOfficeId, not a flat lead.agencyOfficeId")  # fmt: skip
        nested = c.obj(lead, "agencyOffice", "lead.agencyOffice", required=True)
        target = "lead.agencyOffice.agencyOfficeId"
        office = _office(c, world, c.uuid(nested, "agencyOfficeId", target, True), target)
    realty = _realty(c, lead)
    message = c.text(lead, "message", "lead.message")
    note = c.text(lead, "additionalNote", "lead.additionalNote")
    customer = c.obj(lead, "customer", "lead.customer", required=True)
    first = c.text(customer, "firstName", "lead.customer.firstName")
    last = c.text(customer, "lastName", "lead.customer.lastName")
    email = c.text(customer, "emailAddress", "lead.customer.emailAddress", False,
                   _EMAIL.fullmatch, "an e-mail address")  # fmt: skip
    phone = c.text(customer, "phoneNumber", "lead.customer.phoneNumber", False,
                   _PHONE.fullmatch, "an E.164 number like +358501234567")  # fmt: skip
    if customer is not None and all(customer.get(k) in (None, "") for k in _CONTACT_KEYS):
        c.fail("lead.customer.emailAddress", "VALUE_REQUIRED",
               "lead.customer needs an emailAddress or a phoneNumber")  # fmt: skip
    given_party = None if marketplace else c.uuid(customer, "partyId", "lead.customer.partyId")
    recipient = c.obj(lead, "recipient", "lead.recipient", required=False)
    recipient_name = c.text(recipient, "name", "lead.recipient.name")
    recipient_email = c.text(recipient, "emailAddress", "lead.recipient.emailAddress")
    recipient_office = None
    if marketplace is None:
        target = "lead.recipient.agencyOfficeId"
        recipient_office = _office(c, world, c.uuid(recipient, "agencyOfficeId", target), target)
    identifiers = _identifiers(c, lead)
    tags = c.strings(lead, "tags", "lead.tags")
    c.raise_if_failed()
    assert office is not None
    assert type_code is not None
    assert source is not None
    party = world.add_party(
        Party(given_party or party_id, first or "", last or "", email or "", phone or "")
    )
    to = recipient_office or office
    out: Json = {
        "leadTypeCode": type_code,
        "leadSourceTypeCode": source,
        "agencyOfficeId": office.office_id,
        "realty": realty,
        "message": message or "",
        "additionalNote": note or "",
        "customer": {
            "firstName": first or "",
            "lastName": last or "",
            "emailAddress": email or "",
            "phoneNumber": phone or "",
            "partyId": party.party_id,
        },
        "recipient": {
            "name": to.name if recipient_name is None else recipient_name,
            "emailAddress": to.email_address if recipient_email is None else recipient_email,
            "agencyOfficeId": to.office_id,
        },
        "supplierAssignedIdentifiers": identifiers,
        "tags": tags,
    }
    if realty is None:
        del out["realty"]
    stamp = format_time(now)
    return {
        "leadId": lead_id,
        "leadStatusCode": "NEW",
        "leadActionCodes": [],
        "lead": out,
        "creationTime": stamp,
        "modificationTime": stamp,
    }


def build_outgoing(
    body: object, world: World, scope: frozenset[str] | None, *, lead_id: str, now: int
) -> Json:
    """Validate a ``POST /outgoingLeads`` body and return the new OutgoingItem.

    Args:
        body: the parsed JSON body.
        world: offices, agents, realties and customers.
        scope: offices the token may see (None = all); the sender's must be one of them.
        lead_id: id of the new lead.
        now: epoch seconds, the creation time.

    Raises:
        BodyError: every problem of the body.
    """
    c = _Checker()
    root = _root(body, c)
    lead = c.obj(root, "lead", "lead", required=True)
    nested = lead if isinstance(lead, dict) else {}
    customer_at = "customer" if "customer" in root or "customer" not in nested else "lead.customer"
    sender_at = "sender" if "sender" in root or "sender" not in nested else "lead.sender"
    language = c.text(lead, "languageCode", "lead.languageCode", True, _LANGUAGE.fullmatch,
                      "an ISO 639-1 code like 'fi'")  # fmt: skip
    subject = c.text(lead, "subject", "lead.subject", required=True)
    message = c.text(lead, "message", "lead.message")
    note = c.text(lead, "additionalNote", "lead.additionalNote")
    realty_in = c.obj(lead, "realty", "lead.realty", required=False)
    realty_id = c.uuid(realty_in, "realtyId", "lead.realty.realtyId", required=True)
    friendly = c.text(realty_in, "friendlyId", "lead.realty.friendlyId")
    documents = []
    for i, doc in enumerate(c.items(lead, "documents", "lead.documents")):
        at = f"lead.documents[{i}]"
        if not isinstance(doc, dict):
            c.fail(at, "INVALID_TYPE", f"{at} must be an object")
            continue
        documents.append({
            "documentId": c.uuid(doc, "documentId", f"{at}.documentId", required=True),
            "documentTypeCode": c.text(doc, "documentTypeCode", f"{at}.documentTypeCode", True),
        })  # fmt: skip
    holder = root if customer_at == "customer" else nested
    customer = c.obj(holder, "customer", customer_at, required=True)
    party_id = c.uuid(customer, "partyId", f"{customer_at}.partyId", required=True)
    party = world.parties.get(party_id) if party_id else None
    if party_id and party is None:
        c.fail(f"{customer_at}.partyId", "INVALID_ID", f"partyId={party_id!r} is not a customer")
    holder = root if sender_at == "sender" else nested
    sender = c.obj(holder, "sender", sender_at, required=True)
    target = f"{sender_at}.agencyOfficeId"
    office = _office(c, world, c.uuid(sender, "agencyOfficeId", target, True), target, scope)
    agent_id = c.uuid(sender, "agentId", f"{sender_at}.agentId")
    agent = None
    if office is not None:
        agent = next((a for a in office.agents if a.agent_id == agent_id), office.agents[0])
        if agent_id and agent.agent_id != agent_id:
            c.fail(f"{sender_at}.agentId", "INVALID_ID", f"agentId={agent_id!r} is not an "
                   "agent of the sender's office")  # fmt: skip
    c.raise_if_failed()
    assert office is not None
    assert agent is not None
    assert party is not None
    out_lead: Json = {
        "languageCode": language,
        "subject": subject,
        "message": message or "",
        "additionalNote": note or "",
    }
    if realty_in is not None:
        known = next((r for r in world.realties if r.realty_id == realty_id), None)
        if friendly is None and known is not None:
            friendly = known.friendly_id
        out_lead["realty"] = {"realtyId": realty_id, "friendlyId": friendly or ""}
    out_lead["documents"] = documents
    return {
        "leadId": lead_id,
        "lead": out_lead,
        "customer": {
            "firstName": party.first_name,
            "lastName": party.last_name,
            "emailAddress": party.email_address,
            "partyId": party.party_id,
        },
        "sender": {
            "firstName": agent.first_name,
            "lastName": agent.last_name,
            "emailAddress": agent.email_address,
            "phoneNumber": agent.phone_number,
            "agencyOfficeId": office.office_id,
            "agentId": agent.agent_id,
        },
        "creationTime": format_time(now),
    }


def apply_update(
    item: Json,
    body: object,
    world: World,
    scope: frozenset[str] | None,
    *,
    now: int,
    partial: bool = False,
) -> bool:
    """Validate an update body and apply it to ``item`` (a LeadListItem) in place.

    Args:
        item: the lead to change.
        body: the parsed JSON body.
        world: offices (a new ``agencyOfficeId`` must be one the token may see).
        scope: offices the token may see (None = all).
        now: epoch seconds of the change.
        partial: ``PATCH``: ``leadStatusCode`` and ``lead`` may be left out.

    Returns:
        Whether anything changed (then ``modificationTime`` moved forward).

    Raises:
        BodyError: the body is invalid (nothing changed).
        StatusError: the status change is not allowed (nothing changed).
    """
    c = _Checker()
    root = _root(body, c)
    status = c.text(root, "leadStatusCode", "leadStatusCode", required=not partial)
    if status is not None and status not in STATUS_CODES:
        c.fail("leadStatusCode", "INVALID_TYPE",
               f"leadStatusCode={_short(status)}; allowed: {', '.join(STATUS_CODES)}")  # fmt: skip
    actions = c.strings(root, "leadActionCodes", "leadActionCodes")
    has_actions = isinstance(root.get("leadActionCodes"), list)
    update = c.obj(root, "lead", "lead", required=not partial)
    target = "lead.agencyOfficeId"
    office = _office(c, world, c.uuid(update, "agencyOfficeId", target), target, scope)
    agent_id = c.uuid(update, "agentId", "lead.agentId")
    note = c.text(update, "additionalNote", "lead.additionalNote")
    customer = c.obj(update, "customer", "lead.customer", required=False)
    party_id = c.uuid(customer, "partyId", "lead.customer.partyId")
    c.raise_if_failed()
    current = item["leadStatusCode"]
    new_status = status or current
    problem = transition_error(current, new_status)
    if problem is not None:
        raise StatusError(problem)
    lead = item["lead"]
    before = repr(item)
    stamp = format_time(now)
    if new_status != current:
        item["leadStatusCode"] = new_status
        if new_status in ("APPROVED", "REJECTED"):
            item["decisionTime"] = stamp
    if has_actions:
        item["leadActionCodes"] = list(actions)
    if office is not None:
        lead["agencyOfficeId"] = office.office_id
    if agent_id is not None and agent_id != lead.get("agentId"):
        lead["agentId"] = agent_id
        item.setdefault("assignmentTime", stamp)
    if note is not None:
        lead["additionalNote"] = note
    if party_id is not None:
        lead["customer"]["partyId"] = party_id
    if repr(item) == before:
        return False
    previous = parse_time(item["modificationTime"])
    item["modificationTime"] = format_time(max(now, previous + 1))
    ordered = order_incoming(item)
    item.clear()
    item.update(ordered)
    return True
