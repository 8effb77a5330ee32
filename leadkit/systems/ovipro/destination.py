"""OviPro as a destination: create leads (``POST /leads`` or the marketplace endpoint),
create outgoing leads (``POST /outgoingLeads``) or set lead statuses (``PUT /leads/{id}``).

One ``[destinations.NAME] kind = "ovipro"`` writes to one endpoint, chosen by ``endpoint``
(``leads``, ``marketplace``, ``outgoing``, ``status``): each destination has its own ledger
rows, so creating a lead and later setting its status are two deliveries that never mix.
``OviProDestination(name, settings)`` builds the class of the endpoint:
:class:`~leadkit.systems.ovipro.destination_outgoing.OviProOutgoingDestination` and
:class:`~leadkit.systems.ovipro.destination_status.OviProStatusDestination` (see there); the
rest of this module is the lead create.

* **Auth**: the bearer token of :mod:`leadkit.systems.ovipro.auth` (renewed before expiry,
  once on a 401); a fresh lowercase ``Request-ID`` on every request (spec §3).
* **Payload**: ``{"lead": {...}}`` with the configured office, lead type and source (the
  marketplace body nests the office and has no source, spec §6/Q10); the customer's name,
  e-mail and phone (E.164, ``phone_region`` for national numbers; an invalid number
  rejects the lead); the lead's message; every other field in ``additionalNote`` under a
  ``-- leadkit --`` line; and **leadkit's own id** in ``supplierAssignedIdentifiers``
  (``{schemeId: scheme_id, supplierAssignedId: <lead key>}``).
* **No idempotency** (spec Q15): a repeated POST creates a second lead. So a create is
  retried at once only when the server answered 429/503 (it refused the request);
  after a timeout, a reset connection, a 500 or a gateway's 502/504 — when the request may
  have created the lead — the destination first **looks the lead up** (``GET /leads`` of
  the office, newest first, matching ``supplierAssignedIdentifiers``) and retries only if
  it is not there.
  :meth:`OviProDestination.reconcile` does the same for leads a killed push left
  ``pending``. The look-up reads at most ``lookup_pages`` pages of 100 leads.
* **No updates**: OviPro's ``PUT /leads/{id}`` changes the receiving agency's status and
  assignment, not the lead's data, so a changed lead is reported ``not-updatable``
  (``endpoint = "status"`` is that PUT, for the leads OviPro sent *us*).

Example:
    >>> s = OviProDestinationSettings(base_url="http://127.0.0.1:1/lead/v1",
    ...     auth_url="http://127.0.0.1:1/authentication/v1", username="u", password="p",
    ...     agency_office_id="0b5f8b4e-3a5c-4c1e-9d51-2b1b1c6f9a11")
    >>> from leadkit.push.base import Lead
    >>> body = OviProDestination("ovi", s).prepare(Lead("kpro", "main", "42", {
    ...     "email": "matti@example.fi", "first_name": "Matti", "phone": "040 123 4567",
    ...     "message": "Soittakaa", "status": "passed"}))
    >>> body["lead"]["customer"]
    {'firstName': 'Matti', 'emailAddress': 'matti@example.fi', 'phoneNumber': '+358401234567'}
    >>> body["lead"]["supplierAssignedIdentifiers"]
    [{'schemeId': 'leadkit', 'supplierAssignedId': 'kpro:main:42'}]
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from leadkit.config import DestinationSettings
from leadkit.engine.http import HttpClient
from leadkit.errors import SourceAuthError, SourceError, short_repr
from leadkit.push.base import (
    Destination,
    Lead,
    LeadRejected,
    Outcome,
    Prepared,
    PushContext,
    json_ready,
)
from leadkit.push.contact import normalise_email, normalise_phone, text_or_none
from leadkit.systems.ovipro.auth import OviProAuth
from leadkit.systems.ovipro.client import is_invalid_api_key, new_request_id
from leadkit.systems.ovipro.settings import OviProSettings

__all__ = [
    "CreateLeadBody",
    "OviProDestination",
    "OviProDestinationSettings",
    "error_text",
]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: Answers that say the request was refused, so nothing was created: retry at once.
_REFUSED = frozenset({429, 503})
#: Answers after which the lead may exist (a gateway may have passed the request on): look
#: it up before retrying (spec Q15).
_UNCLEAR = frozenset({500, 502, 504})
MarketplaceCode = Literal["ETUOVI", "VUOKRAOVI", "OIKOTIE", "KL_TOIMITILAT", "TOIMITILAT_FI"]
Endpoint = Literal["leads", "marketplace", "outgoing", "status"]
#: OviPro's lead statuses (spec §8), the values of ``status_code``.
StatusCode = Literal["NEW", "IN_PROGRESS", "APPROVED", "REJECTED"]
#: Which endpoints read which endpoint-specific setting (anything else is a mistake).
_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "marketplace_code": ("marketplace",),
    "status_code": ("status",),
    "lead_action_codes": ("status",),
    "agent_id": ("status", "outgoing"),
    "subject": ("outgoing",),
}


class OviProDestinationSettings(DestinationSettings):
    """``[destinations.NAME] kind = "ovipro"``: create leads or outgoing leads in OviPro, or
    set the status of OviPro's leads.

    Attributes:
        base_url: the Lead API, e.g. ``https://api.ovipro.fi/lead/v1`` (inferred).
        auth_url: the Authentication API, e.g. ``https://api.ovipro.fi/authentication/v1``.
        username: the integration's user; ``"${OVIPRO_USERNAME}"``.
        password: its password; ``"${OVIPRO_PASSWORD}"``.
        api_key: optional gateway key (``x-api-key``).
        auth_path: token endpoint under ``auth_url`` (inferred ``/tokens``).
        leads_path: ``/leads`` (inferred).
        marketplace_path: ``/marketplaces/{marketplaceCode}/leads`` (inferred).
        outgoing_leads_path: ``/outgoingLeads`` (inferred).
        endpoint: ``leads`` (``POST /leads``), ``marketplace``, ``outgoing``
            (``POST /outgoingLeads``) or ``status`` (``PUT /leads/{leadId}``).
        marketplace_code: the marketplace (with ``endpoint = "marketplace"``).
        status_code: the status to set (required with ``endpoint = "status"``).
        lead_action_codes: action codes to add to the lead (``status`` only; open enum).
        agent_id: ``status``: assign the lead to this agent; ``outgoing``: the sending agent.
        subject: subject line of every outgoing lead (required with ``outgoing``).
        language_code: ``languageCode`` of outgoing leads (ISO 639-1).
        agency_office_id: the receiving office (``leads``, ``marketplace``) or the sending
            office (``outgoing``), a lowercase uuid; not used with ``status``.
        lead_type_code: e.g. ``BUYER_REFERRAL`` or ``SELLER_REFERRAL`` (open enum).
        lead_source_type_code: source code for ``POST /leads`` (open enum; ask OviPro).
        recipient_name: optional ``recipient.name``.
        recipient_email: optional ``recipient.emailAddress``.
        tags: labels added to every lead.
        scheme_id: ``schemeId`` of leadkit's id in ``supplierAssignedIdentifiers``.
        phone_region: country assumed for phone numbers without ``+``.
        lookup_pages: pages (100 leads each, newest first) a look-up reads.
        renew_fraction: renew the token after this share of its lifetime.
        backoff_initial_s: first retry delay (doubles, up to 30 s).
    """

    kind: Literal["ovipro"] = "ovipro"
    base_url: str
    auth_url: str
    username: str
    password: SecretStr
    api_key: SecretStr | None = None
    auth_path: str = "/tokens"
    leads_path: str = "/leads"
    marketplace_path: str = "/marketplaces/{marketplaceCode}/leads"
    outgoing_leads_path: str = "/outgoingLeads"
    endpoint: Endpoint = "leads"
    marketplace_code: MarketplaceCode | None = Field(default=None, validate_default=True)
    status_code: StatusCode | None = Field(default=None, validate_default=True)
    lead_action_codes: list[str] = Field(default_factory=list)
    agent_id: str | None = None
    subject: str | None = Field(default=None, validate_default=True)
    language_code: str = Field(default="fi", pattern=r"^[a-z]{2}$")
    agency_office_id: str | None = Field(default=None, validate_default=True)
    lead_type_code: str = Field(default="BUYER_REFERRAL", min_length=1)
    lead_source_type_code: str = Field(default="OTHER", min_length=1)
    recipient_name: str | None = None
    recipient_email: str | None = None
    tags: list[str] = Field(default_factory=list)
    scheme_id: str = Field(default="leadkit", min_length=1)
    phone_region: str = Field(default="FI", pattern=r"^[A-Z]{2}$")
    lookup_pages: int = Field(default=20, ge=1, le=1000)
    renew_fraction: float = Field(default=0.8, gt=0, le=1)
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url", "auth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("leads_path", "marketplace_path", "outgoing_leads_path", "auth_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.strip() or "?" in value or "://" in value:
            raise ValueError("must be a path such as '/leads' (no host, no query)")
        return "/" + value.strip().lstrip("/")

    @field_validator("agency_office_id")
    @classmethod
    def _office(cls, value: str | None, info: ValidationInfo) -> str | None:
        endpoint = info.data.get("endpoint")
        if endpoint == "status":
            if value is not None:
                raise ValueError(
                    "is not used with endpoint = 'status' (a status change keeps the lead's "
                    "own office); remove it"
                )
            return None
        if value is None:
            if endpoint is None:  # endpoint itself is invalid: that error is enough
                return None
            role = "sending" if endpoint == "outgoing" else "receiving"
            raise ValueError(f"is required with endpoint = {endpoint!r} (the {role} office)")
        if not _UUID.match(value):
            raise ValueError(
                "must be a lowercase uuid, e.g. '0b5f8b4e-3a5c-4c1e-9d51-2b1b1c6f9a11'"
            )
        return value

    @field_validator("agent_id")
    @classmethod
    def _agent(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _UUID.match(value):
            raise ValueError(
                "must be a lowercase uuid, e.g. '2dca92fa-0a9a-4903-bca2-6d6c74995e8d'"
            )
        _only_for("agent_id", value, info)
        return value

    @field_validator("marketplace_code", "status_code", "subject", "lead_action_codes")
    @classmethod
    def _per_endpoint(cls, value: Any, info: ValidationInfo) -> Any:
        # field validators (not a model one), so an error never echoes the whole table
        name = str(info.field_name)
        required = {"marketplace_code": "marketplace", "status_code": "status",
                    "subject": "outgoing"}  # fmt: skip
        if info.data.get("endpoint") == required.get(name) and value is None:
            raise ValueError(f"is required with endpoint = {required[name]!r}")
        if name == "subject" and value is not None and not value.strip():
            raise ValueError("is empty; OviPro requires a subject line for outgoing leads")
        if name == "lead_action_codes" and any(not str(c).strip() for c in value):
            raise ValueError("has an empty code")
        return _only_for(name, value, info)

    def source_settings(self) -> OviProSettings:
        """The same account as source settings (what :class:`OviProAuth` reads)."""
        return OviProSettings(
            base_url=self.base_url,
            auth_url=self.auth_url,
            username=self.username,
            password=self.password,
            api_key=self.api_key,
            auth_path=self.auth_path,
            leads_path=self.leads_path,
            outgoing_leads_path=self.outgoing_leads_path,
            renew_fraction=self.renew_fraction,
            backoff_initial_s=self.backoff_initial_s,
            max_retries=self.max_retries,
            timeout_s=self.timeout_s,
        )


def _only_for(name: str, value: Any, info: ValidationInfo) -> Any:
    """``value`` of an endpoint-specific setting; refused when another endpoint is chosen
    (a ``status_code`` without ``endpoint = "status"`` would otherwise *create* leads)."""
    endpoint = info.data.get("endpoint")
    allowed = _ONLY_FOR[name]
    if value not in (None, []) and endpoint is not None and endpoint not in allowed:
        wanted = " or ".join(repr(e) for e in allowed)
        raise ValueError(
            f"is only used with endpoint = {wanted}, but endpoint is {endpoint!r}; set "
            f"endpoint = {allowed[0]!r} or remove {name}"
        )
    return value


class _Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    firstName: str | None = None
    lastName: str | None = None
    emailAddress: str | None = None
    phoneNumber: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")


class _Identifier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schemeId: str
    supplierAssignedId: str


class _Office(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agencyOfficeId: str


class _Lead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leadTypeCode: str
    leadSourceTypeCode: str | None = None
    agencyOfficeId: str | None = None
    agencyOffice: _Office | None = None
    realty: dict[str, Any] | None = None
    message: str | None = None
    additionalNote: str | None = None
    customer: _Customer
    recipient: dict[str, str] | None = None
    supplierAssignedIdentifiers: list[_Identifier]
    tags: list[str] | None = None


class CreateLeadBody(BaseModel):
    """Body of ``POST /leads`` and ``POST /marketplaces/{code}/leads`` (spec §6)."""

    model_config = ConfigDict(extra="forbid")
    lead: _Lead


class OviProDestination(Destination):
    """Create leads in OviPro (one request per lead; OviPro has no batch create).

    Constructing it with ``endpoint = "outgoing"`` or ``"status"`` settings gives the
    subclass for that endpoint (the registry knows one destination class per kind).
    """

    kind: ClassVar[str] = "ovipro"
    supports_update: ClassVar[bool] = False
    settings: OviProDestinationSettings

    def __new__(cls, name: str, settings: DestinationSettings) -> OviProDestination:
        if cls is OviProDestination and isinstance(settings, OviProDestinationSettings):
            if settings.endpoint == "status":
                from leadkit.systems.ovipro.destination_status import OviProStatusDestination

                return object.__new__(OviProStatusDestination)
            if settings.endpoint == "outgoing":
                from leadkit.systems.ovipro.destination_outgoing import (
                    OviProOutgoingDestination,
                )

                return object.__new__(OviProOutgoingDestination)
        return object.__new__(cls)

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        assert isinstance(settings, OviProDestinationSettings)
        super().__init__(name, settings)
        self.settings = settings
        self._http: HttpClient | None = None
        self._once: HttpClient | None = None

    def secrets(self) -> list[str]:
        out = [self.settings.password.get_secret_value()]
        if self.settings.api_key is not None:
            out.append(self.settings.api_key.get_secret_value())
        return out

    def describe(self) -> str:
        return f"{self.name} (ovipro, office {self.settings.agency_office_id})"

    @property
    def url(self) -> str:
        """Where leads are created."""
        s = self.settings
        if s.endpoint == "marketplace":
            assert s.marketplace_code is not None
            return s.base_url + s.marketplace_path.format(marketplaceCode=s.marketplace_code)
        return s.base_url + s.leads_path

    # -- mapping -------------------------------------------------------------------------------

    def prepare(self, lead: Lead) -> dict[str, Any]:
        s = self.settings
        row = lead.row
        native = isinstance(row.get("lead"), Mapping)  # an ovipro_leads row
        inner: Mapping[str, Any] = row["lead"] if native else {}
        person: Mapping[str, Any] = inner.get("customer") or {} if native else row
        first = text_or_none(person.get("first_name"))
        last = text_or_none(person.get("last_name"))
        email_raw = text_or_none(person.get("email_address") if native else row.get("email"))
        phone_raw = text_or_none(person.get("phone_number") if native else row.get("phone"))
        email = normalise_email(email_raw, field="email") if email_raw else None
        phone = (
            normalise_phone(phone_raw, region=s.phone_region, field="phone") if phone_raw else None
        )
        if email is None and phone is None:
            raise LeadRejected(
                "OviPro needs an e-mail address or a phone number; the lead has neither"
            )
        extra: dict[str, Any] = {"origin": lead.key}
        if not first and not last and text_or_none(row.get("full_name")):
            extra["full name"] = text_or_none(row.get("full_name"))
        message = text_or_none(inner.get("message") if native else row.get("message"))
        for name in ("status", "category", "channel", "postcode"):
            if not native and text_or_none(row.get(name)):
                extra[name] = text_or_none(row.get(name))
        if native:
            extra["status"] = row.get("lead_status_code")
            extra["source type"] = inner.get("lead_source_type_code")
            if text_or_none(inner.get("additional_note")):
                extra["note"] = text_or_none(inner.get("additional_note"))
        created = row.get("created_at") or row.get("creation_time")
        if isinstance(created, datetime):
            extra["created"] = created.astimezone(UTC).isoformat(timespec="seconds")
        note = "-- leadkit --\n" + "\n".join(f"{k}: {v}" for k, v in extra.items() if v)
        body: dict[str, Any] = {
            "leadTypeCode": (text_or_none(inner.get("lead_type_code")) if native else None)
            or s.lead_type_code,
            "message": message or "",
            "additionalNote": note,
            "customer": {
                "firstName": first,
                "lastName": last,
                "emailAddress": email,
                "phoneNumber": phone,
            },
            "supplierAssignedIdentifiers": [
                {"schemeId": s.scheme_id, "supplierAssignedId": lead.key}
            ],
            "tags": list(s.tags) + [t for t in (inner.get("tags") or []) if t] or None,
        }
        realty = inner.get("realty") if native else None
        if isinstance(realty, Mapping):
            address = realty.get("address") or {}
            body["realty"] = {
                "friendlyId": realty.get("friendly_id") or "",
                "address": {
                    "streetAddress": address.get("street_address") or "",
                    "stairwell": address.get("stairwell") or "",
                    "apartmentNumber": address.get("apartment_number") or "",
                    "postcode": address.get("postcode") or "",
                    "postalArea": address.get("postal_area") or "",
                },
            }
        if s.endpoint == "marketplace":
            body["agencyOffice"] = {"agencyOfficeId": self.office_id}
        else:
            body["agencyOfficeId"] = self.office_id
            body["leadSourceTypeCode"] = s.lead_source_type_code
        recipient = {"name": s.recipient_name, "emailAddress": s.recipient_email}
        if any(recipient.values()):
            body["recipient"] = {k: v for k, v in recipient.items() if v}
        try:
            model = CreateLeadBody.model_validate({"lead": body})
        except ValidationError as exc:
            raise LeadRejected.invalid("OviPro lead", exc) from None
        return json_ready(model)

    # -- sending -------------------------------------------------------------------------------

    async def start(self, ctx: PushContext) -> None:
        for secret in self.secrets():
            ctx.redactor.add(secret)
        s = self.settings

        def client(retries: int, auth: OviProAuth | None) -> HttpClient:
            return HttpClient(
                ctx.http.session,
                source=self.name,
                redactor=ctx.redactor,
                max_retries=retries,
                log=ctx.log,
                backoff_initial_s=s.backoff_initial_s,
                request_id=new_request_id,
                stats=ctx.http.stats,
                auth=auth,
                is_auth_error=is_invalid_api_key,
            )

        auth = OviProAuth(
            client(s.max_retries, None),
            s.source_settings(),
            source=self.name,
            redactor=ctx.redactor,
            log=ctx.log,
        )
        self._http = client(s.max_retries, auth)  # GETs: retried freely
        self._once = client(0, auth)  # creates: leadkit decides whether a retry is safe

    @property
    def office_id(self) -> str:
        """The configured office (every endpoint but ``status`` requires one)."""
        office = self.settings.agency_office_id
        assert office is not None, "agency_office_id is required for this endpoint"
        return office

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.settings.api_key is not None:
            headers["x-api-key"] = self.settings.api_key.get_secret_value()
        return headers

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        return [await self._create(p, ctx) for p in batch]

    async def _create(self, p: Prepared, ctx: PushContext) -> Outcome:
        assert self._once is not None
        s = self.settings
        detail = ""
        for attempt in range(s.max_retries + 1):
            if attempt:
                await asyncio.sleep(min(30.0, s.backoff_initial_s * 2 ** (attempt - 1)))
            try:
                resp = await self._once.request(
                    "POST", self.url, json=p.payload, headers=self._headers(), accept=(400,)
                )
            except SourceAuthError:
                raise
            except SourceError as exc:
                detail = str(exc)
                if exc.status in _REFUSED:
                    continue  # the server refused it: nothing was created
                if exc.status is not None and exc.status not in _UNCLEAR:
                    # Not a verdict on the lead (OviPro refuses a lead's data with 400): a
                    # wrong path (404 NOT_FOUND), media type (415)… is a configuration
                    # problem, so the lead is tried again once it is fixed.
                    return Outcome("failed", exc.status, detail=detail)
                found = await self._find([p])  # it may have been created
                if p.lead.key in found:
                    return Outcome("sent", None, detail="created (found after an unclear answer)",
                                   remote_id=found[p.lead.key])  # fmt: skip
                continue
            text = resp.body.decode("utf-8", "replace")
            if resp.status == 400:
                return Outcome("rejected", 400, response=text, detail=_errors(resp.body))
            lead_id = None
            try:
                doc = orjson.loads(resp.body)
                lead_id = doc.get("leadId") if isinstance(doc, dict) else None
            except orjson.JSONDecodeError:
                pass
            return Outcome("sent", resp.status, response=text, remote_id=lead_id)
        return Outcome("failed", None, detail=detail or "gave up")

    async def reconcile(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome | None]:
        found = await self._find(batch)
        return [
            Outcome(
                "sent",
                detail="found at OviPro after an interrupted push",
                remote_id=found[p.lead.key],
            )
            if p.lead.key in found
            else None
            for p in batch
        ]

    async def _find(self, batch: Sequence[Prepared]) -> dict[str, str]:
        """Lead keys → remote ids, for the leads of ``batch`` OviPro already has."""
        return await self._lookup([p.lead.key for p in batch])

    async def _lookup(self, keys: Sequence[str]) -> dict[str, str]:
        """Lead keys → OviPro lead ids, for leads of ``keys`` the office already has."""
        s = self.settings
        wanted = set(keys)
        found: dict[str, str] = {}
        url = s.base_url + s.leads_path
        async for item, lead in self._newest(url, [], lambda: len(found) == len(wanted)):
            for ident in lead.get("supplierAssignedIdentifiers") or []:
                if (
                    isinstance(ident, dict)
                    and ident.get("schemeId") == s.scheme_id
                    and ident.get("supplierAssignedId") in wanted
                ):
                    found[ident["supplierAssignedId"]] = str(item.get("leadId"))
        return found

    async def _newest(
        self, url: str, params: Sequence[tuple[str, str]], done: Callable[[], bool]
    ) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any]]]:
        """The office's leads at ``url`` (a list endpoint), newest first, as (list item,
        its ``lead`` object): at most ``lookup_pages`` pages of 100, stopping after the
        page on which ``done()`` became true or the list ended."""
        assert self._http is not None
        for page in range(self.settings.lookup_pages):
            query = [
                ("agencyOfficeId", self.office_id),
                *params,
                ("sort", "creationTime|desc"),
                ("size", "100"),
                ("startIndex", str(page * 100)),
            ]
            resp = await self._http.request("GET", url, params=query, headers=self._headers())
            doc = resp.json()
            leads = doc.get("leads") if isinstance(doc, dict) else None
            if not isinstance(leads, list):
                return
            for item in leads:
                if isinstance(item, dict):
                    lead = item.get("lead")
                    yield item, lead if isinstance(lead, dict) else {}
            total = doc.get("totalCount")
            if done() or not isinstance(total, int) or (page + 1) * 100 >= total:
                return


def error_text(body: bytes) -> str:
    """OviPro's error body as ``errorCode: what`` (the ``description``, else ``errors[]``,
    else ``message``).

    Example:
        >>> error_text(b'{"errorCode": "INVALID_ID", "message": "Missing or invalid '
        ...            b'identifier.", "description": "no lead with that leadId"}')
        'INVALID_ID: no lead with that leadId'
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return short_repr(body.decode("utf-8", "replace"), 300)
    if not isinstance(doc, dict):
        return short_repr(str(doc), 300)
    code = doc.get("errorCode")
    what = doc.get("description")
    if not what and isinstance(doc.get("errors"), list) and doc["errors"]:
        what = _errors(body)
    what = what or doc.get("message") or ""
    return f"{code}: {what}" if code else str(what)


def _errors(body: bytes) -> str:
    """OviPro's ``errors[]`` as ``target: message`` text."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return short_repr(body.decode("utf-8", "replace"), 300)
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(
            f"{e.get('target')}: {e.get('message') or e.get('errorCode')}"
            for e in errors
            if isinstance(e, dict)
        )
    return str(doc.get("message") if isinstance(doc, dict) else doc)
