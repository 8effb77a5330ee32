"""OviPro outgoing leads: ``POST /outgoingLeads`` (spec §9), ``endpoint = "outgoing"``.

An outgoing lead is a lead an agency office sends on to a partner (a bank, an insurer…).
OviPro names the customer by its own ``partyId`` and fills in the names and the sender's
details itself, so only leads OviPro already knows can be sent: rows of ``ovipro_leads``
(``lead.customer.party_id``) or ``ovipro_outgoing_leads`` (``customer.party_id``). Other
leads — and rows of the ``leads`` view, which has no party id — are rejected with the
reason.

* **Body** (three top-level objects, spec §9/Q11): ``lead`` with ``languageCode``
  (``language_code``), ``subject`` (``subject``), the lead's message, ``additionalNote``
  (the lead's own note, then a ``-- leadkit --`` block with ``ref: <destination>/<lead
  key>`` and what OviPro's outgoing lead has no field for: the realty's friendly id and
  address) and, from ``ovipro_outgoing_leads`` rows, ``realty`` and ``documents``;
  ``customer: {partyId}``; ``sender: {agencyOfficeId: agency_office_id, agentId:
  agent_id}``.
* **No idempotency, no supplier ids** (Q15): outgoing leads carry no
  ``supplierAssignedIdentifiers``, so leadkit's reference travels in ``additionalNote``
  (outgoing leads cannot be edited, so it stays). A create whose answer is unclear
  (timeout, reset, 500, 502/504) or a lead a killed push left ``pending`` is **looked up**
  before any resend: ``GET /outgoingLeads?agencyOfficeId=<sender>&partyId=<customer>``,
  newest first, at most ``lookup_pages`` pages, matching the ``ref:`` line. 429/503 are
  retried at once (the server refused them).
* **No updates**: OviPro has no endpoint to change an outgoing lead, so a changed lead is
  ``not-updatable``.

Example:
    >>> from leadkit.push.base import Lead
    >>> from leadkit.systems.ovipro.destination import OviProDestinationSettings
    >>> s = OviProDestinationSettings(base_url="http://127.0.0.1:1/lead/v1",
    ...     auth_url="http://127.0.0.1:1/authentication/v1", username="u", password="p",
    ...     endpoint="outgoing", subject="Lainatarjous",
    ...     agency_office_id="0b5f8b4e-3a5c-4c1e-9d51-2b1b1c6f9a11")
    >>> dest = OviProDestination("bank", s)
    >>> type(dest).__name__
    'OviProOutgoingDestination'
    >>> body = dest.prepare(Lead("ovipro", "ovi", "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd", {
    ...     "lead": {"message": "Tarvitsen lainaa", "additional_note": "",
    ...              "customer": {"party_id": "62701576-2621-4a27-8d2b-63cea492abb6"}}}))
    >>> body["customer"], body["lead"]["subject"]
    ({'partyId': '62701576-2621-4a27-8d2b-63cea492abb6'}, 'Lainatarjous')
    >>> print(body["lead"]["additionalNote"])
    -- leadkit --
    ref: bank/ovipro:ovi:ac34ee3b-3f6e-469e-8d02-9fa37f311ccd
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadkit.push.base import Lead, LeadRejected, Prepared, json_ready
from leadkit.push.contact import text_or_none
from leadkit.systems.ovipro.destination import _UUID, OviProDestination

__all__ = ["OutgoingLeadBody", "OviProOutgoingDestination"]

_UUID_RE = _UUID.pattern


class _Realty(BaseModel):
    model_config = ConfigDict(extra="forbid")
    realtyId: str = Field(pattern=_UUID_RE)
    friendlyId: str | None = None


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documentId: str = Field(pattern=_UUID_RE)
    documentTypeCode: str = Field(min_length=1)


class _OutgoingLead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    languageCode: str = Field(pattern=r"^[a-z]{2}$")
    subject: str = Field(min_length=1)
    message: str
    additionalNote: str
    realty: _Realty | None = None
    documents: list[_Document] | None = None


class _Party(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partyId: str = Field(pattern=_UUID_RE)


class _Sender(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agencyOfficeId: str = Field(pattern=_UUID_RE)
    agentId: str | None = Field(default=None, pattern=_UUID_RE)


class OutgoingLeadBody(BaseModel):
    """Body of ``POST /outgoingLeads``: three required top-level objects (spec §9, Q11)."""

    model_config = ConfigDict(extra="forbid")
    lead: _OutgoingLead
    customer: _Party
    sender: _Sender


class OviProOutgoingDestination(OviProDestination):
    """Send leads OviPro knows on to a partner as outgoing leads (one request per lead)."""

    def describe(self) -> str:
        return f"{self.name} (ovipro outgoing leads, sender office {self.office_id})"

    @property
    def url(self) -> str:
        """``POST`` here to create an outgoing lead; ``GET`` it to look them up."""
        return self.settings.base_url + self.settings.outgoing_leads_path

    def ref(self, key: str) -> str:
        """The ``additionalNote`` line that names the lead and this destination.

        Outgoing leads have no ``supplierAssignedIdentifiers``: this line is how a look-up
        recognises a lead this destination created.
        """
        return f"ref: {self.name}/{key}"

    def prepare(self, lead: Lead) -> dict[str, Any]:
        s = self.settings
        row = lead.row
        inner: Mapping[str, Any] = row["lead"] if isinstance(row.get("lead"), Mapping) else {}
        outgoing = lead.system == "ovipro" and isinstance(row.get("sender"), Mapping)
        if outgoing:  # an ovipro_outgoing_leads row: the customer is a top-level object
            customer: Mapping[str, Any] = row.get("customer") or {}
        else:
            customer = inner.get("customer") or {}
        party = text_or_none(customer.get("party_id")) or text_or_none(row.get("party_id"))
        if party is None:
            if lead.system == "ovipro" and not inner:
                hint = "push from --table ovipro_leads: the leads view has no party id"
            else:
                hint = "only leads OviPro already knows (ovipro_leads) can be sent"
            raise LeadRejected(
                "an OviPro outgoing lead names its customer by OviPro's partyId and this "
                f"lead has none; {hint}",
                field="customer.partyId",
            )
        note_lines = ["-- leadkit --", self.ref(lead.key)]
        realty_in = inner.get("realty")
        realty: dict[str, Any] | None = None
        if isinstance(realty_in, Mapping):
            if text_or_none(realty_in.get("realty_id")):
                realty = {
                    "realtyId": text_or_none(realty_in.get("realty_id")),
                    "friendlyId": text_or_none(realty_in.get("friendly_id")),
                }
            else:  # an incoming lead's realty: a friendly id and an address, no realtyId
                address = realty_in.get("address") or {}
                parts = [
                    " ".join(
                        p
                        for p in (
                            text_or_none(address.get("street_address")),
                            text_or_none(address.get("stairwell")),
                            text_or_none(address.get("apartment_number")),
                        )
                        if p
                    ),
                    " ".join(
                        p
                        for p in (
                            text_or_none(address.get("postcode")),
                            text_or_none(address.get("postal_area")),
                        )
                        if p
                    ),
                ]
                shown = ", ".join(
                    p for p in [text_or_none(realty_in.get("friendly_id")), *parts] if p
                )
                if shown:
                    note_lines.append(f"realty: {shown}")
        documents = None
        if outgoing and isinstance(inner.get("documents"), list):
            documents = [
                {
                    "documentId": d.get("document_id"),
                    "documentTypeCode": d.get("document_type_code"),
                }
                for d in inner["documents"]
                if isinstance(d, Mapping)
            ] or None
        own_note = text_or_none(inner.get("additional_note"))
        note = "\n".join(note_lines)
        body = {
            "lead": {
                "languageCode": s.language_code,
                "subject": s.subject,
                "message": text_or_none(inner.get("message"))
                or text_or_none(row.get("message"))
                or "",
                "additionalNote": f"{own_note}\n\n{note}" if own_note else note,
                "realty": realty,
                "documents": documents,
            },
            "customer": {"partyId": party},
            "sender": {"agencyOfficeId": self.office_id, "agentId": s.agent_id},
        }
        try:
            model = OutgoingLeadBody.model_validate(body)
        except ValidationError as exc:
            raise LeadRejected.invalid("OviPro outgoing lead", exc) from None
        return json_ready(model)

    async def _find(self, batch: Sequence[Prepared]) -> dict[str, str]:
        """Lead keys → outgoing lead ids, for leads of ``batch`` OviPro already has: the
        sender office's outgoing leads of each customer, newest first, matched by the
        ``ref:`` line of ``additionalNote``."""
        by_party: dict[str, dict[str, str]] = {}  # partyId → ref line → lead key
        for p in batch:
            party = str(p.payload["customer"]["partyId"])
            by_party.setdefault(party, {})[self.ref(p.lead.key)] = p.lead.key
        found: dict[str, str] = {}
        for party, refs in by_party.items():
            seen: set[str] = set()

            def all_seen(seen: set[str] = seen, refs: dict[str, str] = refs) -> bool:
                return len(seen) == len(refs)

            async for item, lead in self._newest(self.url, [("partyId", party)], all_seen):
                note = lead.get("additionalNote")
                if not isinstance(note, str):
                    continue
                for line in note.splitlines():
                    key = refs.get(line.strip())
                    if key is not None:
                        found[key] = str(item.get("leadId"))
                        seen.add(key)
        return found
