"""OviPro lead statuses: ``PUT /leads/{leadId}`` (spec §7), ``endpoint = "status"``.

The leads OviPro sent to an agency office (``ovipro_leads``, or ``leads`` rows with
``system = 'ovipro'``) must be handled: set to ``IN_PROGRESS``, ``APPROVED`` or
``REJECTED``. A status destination sets every selected lead to its ``status_code``,
optionally assigning it to ``agent_id`` and adding ``lead_action_codes``. The selection
(``--where``) says which leads; the destination says what to set them to — one destination
per target status, or change ``status_code`` between pushes.

* **Payload and ledger**: the payload is the change leadkit asks for, ``{leadId,
  leadStatusCode[, leadActionCodes][, lead: {agentId}]}``, so its hash changes only when the
  target changes: the same status is never sent twice, and a new ``status_code`` for a lead
  already handled is sent as an update (``updated``; the ledger stores ``sent``).
* **Read, then write**: ``PUT`` takes a required ``lead`` object (office, agent, note,
  customer) and the documentation does not say whether a field left out is kept or
  cleared. So before the PUTs of a batch, leadkit reads the batch's leads
  (``GET /leads?leadId=…``, one request for up to :data:`BATCH` leads) and every PUT carries
  the lead's *current* office, agent, note, customer and — when codes are added — action
  codes, changing only what was asked. A lead already in the target state is not written
  (``sent``, "already …"); a lead the read does not find (deleted, or an office this account
  cannot see) is ``rejected`` without a PUT.
* **Outcomes**: 200 → ``sent``/``updated``; 400 (``INVALID_STATUS`` for a transition OviPro
  refuses, ``BAD_REQUEST_BODY``) and 404 ``INVALID_ID`` → ``rejected`` with OviPro's text
  (leadkit does not guess the status machine: OviPro's answer decides); 404 ``NOT_FOUND`` (a
  wrong ``leads_path``), 415, and 429/5xx/timeouts that outlive ``max_retries`` →
  ``failed`` (tried again next push); 404 ``INVALID_API_KEY`` and rejected credentials stop
  the push.
* **Idempotent**: a PUT sets a state, so 429/5xx/timeouts are retried and a lead a killed
  push left ``pending`` is simply sent again (its read shows whether the status already
  changed).
* ``--dry-run`` reads the leads (no PUT) and reports ``would-send`` with the change, e.g.
  ``NEW → APPROVED``, or ``rejected`` for a lead OviPro does not have.

Example:
    >>> from leadkit.push.base import Lead
    >>> from leadkit.systems.ovipro.destination import OviProDestinationSettings
    >>> s = OviProDestinationSettings(base_url="http://127.0.0.1:1/lead/v1",
    ...     auth_url="http://127.0.0.1:1/authentication/v1", username="u", password="p",
    ...     endpoint="status", status_code="APPROVED", lead_action_codes=["CALLED"])
    >>> dest = OviProDestination("approve", s)
    >>> dest.supports_update, dest.batch_size
    (True, 20)
    >>> dest.prepare(Lead("ovipro", "ovi", "ac34ee3b-3f6e-469e-8d02-9fa37f311ccd", {}))
    {'leadId': 'ac34ee3b-3f6e-469e-8d02-9fa37f311ccd', 'leadStatusCode': 'APPROVED', \
'leadActionCodes': ['CALLED']}
    >>> dest.prepare(Lead("kpro", "main", "42", {}))
    Traceback (most recent call last):
    ...
    leadkit.push.base.LeadRejected: not an OviPro lead (system 'kpro'): only leads OviPro \
sent to us have a status to set; select them with --table ovipro_leads or --where system=ovipro
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from leadkit.errors import SourceAuthError, SourceError
from leadkit.push.base import (
    Lead,
    LeadRejected,
    Outcome,
    Prepared,
    PushContext,
    Status,
    json_ready,
)
from leadkit.systems.ovipro.client import is_invalid_api_key
from leadkit.systems.ovipro.destination import (
    _UUID,
    OviProDestination,
    StatusCode,
    error_text,
)

__all__ = ["BATCH", "OviProStatusDestination", "StatusChange"]

#: Leads per batch: one ``GET /leads?leadId=…`` reads them all, then one PUT each.
BATCH = 20

_UUID_RE = _UUID.pattern


class _LeadChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agentId: str = Field(pattern=_UUID_RE)


class StatusChange(BaseModel):
    """What a status push asks of one lead (the ledger's payload; the PUT body adds the
    lead's current values, see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    leadId: str = Field(pattern=_UUID_RE)
    leadStatusCode: StatusCode
    leadActionCodes: list[str] | None = None
    lead: _LeadChange | None = None


def put_body(change: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``PUT /leads/{id}`` body for ``change`` on a lead as OviPro lists it (``item``),
    or None when the lead is already as asked.

    Every field the change does not name keeps the lead's current value.

    Example:
        >>> item = {"leadId": "x", "leadStatusCode": "NEW", "leadActionCodes": ["CALLED"],
        ...         "lead": {"agencyOfficeId": "o", "additionalNote": "",
        ...                  "customer": {"partyId": "p", "firstName": "Teemu"}}}
        >>> put_body({"leadStatusCode": "APPROVED"}, item)
        {'leadStatusCode': 'APPROVED', 'lead': {'agencyOfficeId': 'o', 'additionalNote': '', \
'customer': {'partyId': 'p'}}}
        >>> put_body({"leadStatusCode": "NEW", "leadActionCodes": ["CALLED"]}, item) is None
        True
    """
    lead: Mapping[str, Any] = item.get("lead") or {}
    target = change["leadStatusCode"]
    codes = [c for c in item.get("leadActionCodes") or [] if isinstance(c, str)]
    wanted = change.get("leadActionCodes")
    new_codes = codes + [c for c in wanted if c not in codes] if wanted else None
    agent = (change.get("lead") or {}).get("agentId")
    if (
        item.get("leadStatusCode") == target
        and (agent is None or agent == lead.get("agentId"))
        and (new_codes is None or new_codes == codes)
    ):
        return None
    party = (lead.get("customer") or {}).get("partyId")
    update = {
        "agencyOfficeId": lead.get("agencyOfficeId"),
        "agentId": agent or lead.get("agentId"),
        "additionalNote": lead.get("additionalNote"),
        "customer": {"partyId": party} if party else None,
    }
    body: dict[str, Any] = {"leadStatusCode": target}
    if new_codes is not None:
        body["leadActionCodes"] = new_codes
    body["lead"] = {k: v for k, v in update.items() if v is not None}
    return body


class OviProStatusDestination(OviProDestination):
    """Set the status of leads OviPro sent us (``PUT /leads/{leadId}``)."""

    supports_update: ClassVar[bool] = True

    @property
    def batch_size(self) -> int:
        return BATCH

    def describe(self) -> str:
        return f"{self.name} (ovipro lead status → {self.settings.status_code})"

    def lead_url(self, lead_id: str) -> str:
        """``PUT`` here to update one lead."""
        return f"{self.settings.base_url}{self.settings.leads_path}/{lead_id}"

    # -- mapping -------------------------------------------------------------------------------

    def prepare(self, lead: Lead) -> dict[str, Any]:
        s = self.settings
        row = lead.row
        if lead.system != "ovipro":
            raise LeadRejected(
                f"not an OviPro lead (system {lead.system!r}): only leads OviPro sent to us "
                "have a status to set; select them with --table ovipro_leads or --where "
                "system=ovipro"
            )
        if isinstance(row.get("sender"), Mapping) and "lead_status_code" not in row:
            raise LeadRejected(
                "an outgoing lead (ovipro_outgoing_leads) has no status in OviPro; select "
                "incoming leads (--table ovipro_leads)"
            )
        if not _UUID.match(lead.lead_id):
            raise LeadRejected(f"lead id {lead.lead_id!r} is not an OviPro leadId (a uuid)")
        assert s.status_code is not None  # required with endpoint = "status"
        change: dict[str, Any] = {"leadId": lead.lead_id, "leadStatusCode": s.status_code}
        if s.lead_action_codes:
            change["leadActionCodes"] = list(s.lead_action_codes)
        if s.agent_id is not None:
            change["lead"] = {"agentId": s.agent_id}
        return json_ready(StatusChange.model_validate(change))

    # -- sending -------------------------------------------------------------------------------

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        current = await self._current([p.lead.lead_id for p in batch])
        out: list[Outcome] = []
        for p in batch:
            if ctx.stop.is_set():
                out.append(Outcome("failed", detail="not sent: the push was stopped"))
                continue
            out.append(await self._put(p, current.get(p.lead.lead_id)))
        return out

    async def check(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Dry run: read the leads (never write) and report the change each would get."""
        current = await self._current([p.lead.lead_id for p in batch])
        out: list[Outcome] = []
        for p in batch:
            item = current.get(p.lead.lead_id)
            if item is None:
                out.append(self._missing(p))
                continue
            target = p.payload["leadStatusCode"]
            body = put_body(p.payload, item)
            if body is None:
                detail = f"already {target} at OviPro; nothing to change"
            else:
                detail = f"{item.get('leadStatusCode')} → {target}"
            out.append(Outcome("would-send", detail=detail, remote_id=p.lead.lead_id))
        return out

    async def reconcile(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome | None]:
        """Unknown, so sent again: a PUT is idempotent, and the read before it shows whether
        the earlier one arrived."""
        return [None for _ in batch]

    def _missing(self, p: Prepared) -> Outcome:
        return Outcome(
            "rejected",
            detail=(
                f"INVALID_ID: OviPro has no lead {p.lead.lead_id} this account can see "
                "(GET /leads?leadId=… found none: deleted, or another office's lead)"
            ),
        )

    async def _current(self, lead_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The leads of ``lead_ids`` as OviPro lists them now (one request per 100)."""
        assert self._http is not None
        s = self.settings
        out: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(lead_ids))
        for start in range(0, len(unique), 100):
            chunk = unique[start : start + 100]
            params = [("leadId", i) for i in chunk] + [("size", "100")]
            resp = await self._http.request(
                "GET", s.base_url + s.leads_path, params=params, headers=self._headers()
            )
            doc = resp.json()
            items = doc.get("leads") if isinstance(doc, dict) else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("leadId") in chunk:
                    out.setdefault(str(item["leadId"]), item)  # Q8: first of a repeated id
        return out

    async def _put(self, p: Prepared, item: Mapping[str, Any] | None) -> Outcome:
        assert self._http is not None
        lead_id = p.lead.lead_id
        done: Status = "updated" if p.update else "sent"
        if item is None:
            return self._missing(p)
        target = p.payload["leadStatusCode"]
        body = put_body(p.payload, item)
        if body is None:
            return Outcome(done, detail=f"already {target} at OviPro", remote_id=lead_id)
        try:
            # idempotent: the client retries 429/5xx/timeouts, and renews the token on a 401
            resp = await self._http.request(
                "PUT", self.lead_url(lead_id), json=body, headers=self._headers(),
                accept=(400, 404),
            )  # fmt: skip
        except SourceAuthError:
            raise
        except SourceError as exc:
            return Outcome("failed", exc.status, detail=str(exc))
        text = resp.body.decode("utf-8", "replace")
        code = _error_code(resp.body)
        if resp.status == 404 and is_invalid_api_key(404, resp.body):
            raise SourceAuthError(
                f"{self.name}: HTTP 404 INVALID_API_KEY on PUT {resp.url}: check api_key",
                source=self.name,
                url=resp.url,
                status=404,
                detail=error_text(resp.body),
            )
        if resp.status == 400 or (resp.status == 404 and code == "INVALID_ID"):
            return Outcome("rejected", resp.status, response=text, detail=error_text(resp.body))
        if resp.status == 404:  # NOT_FOUND: a wrong path, not a verdict on the lead
            return Outcome("failed", 404, response=text, detail=error_text(resp.body))
        before = item.get("leadStatusCode")
        detail = f"{before} → {target}" if before != target else f"{target} (unchanged)"
        return Outcome(done, resp.status, response=text, detail=detail, remote_id=lead_id)


def _error_code(body: bytes) -> str | None:
    """OviPro's ``errorCode`` of an error body, if it has one."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code = doc.get("errorCode") if isinstance(doc, dict) else None
    return code if isinstance(code, str) else None
