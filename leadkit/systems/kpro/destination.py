"""KPro Marketing as a destination: the bulk import ``POST /api/bulk/open/leads`` (spec §6).

* **Batches** of ``batch_size`` leads (default 100, spec Q11), with e-mail addresses unique
  within each request (a 422 names failing leads only by ``customerEmail``, Q10).
* **externalRef** is always sent: ``external_ref_prefix`` + the lead's key
  (``kpro:kpro_main:123``), so a repeated batch — a retry after a timeout, or a push killed
  mid-request and run again — is reported ``duplicate`` by KPro instead of adding the lead
  twice. A ``duplicate`` answer is recorded as ``skipped-duplicate`` (delivered).
* **422 (all-or-nothing)**: the leads named in ``errors[].customerEmail`` are recorded as
  ``rejected`` with KPro's messages and the rest (if any) is sent again; when the answer
  names no lead of the batch, the batch is split in halves until every failing lead
  stands alone. Every valid lead is delivered; inner ``errors`` may be a map or a list.
* **No updates**: the import cannot change a lead (a known ``externalRef`` is skipped), so
  ``supports_update`` is False and a changed lead is reported ``not-updatable``.

Mapping (from the ``leads`` view or ``kpro_leads``): every import field KPro has is filled
from the matching column; the rest — status, category, channel, site, local authorities,
the lead's origin and id — goes into ``additionalInfo`` (KPro's only free-form field) after
the lead's own message, under a ``-- leadkit --`` line, rather than being lost. KPro ids of
listings, properties and developments belong to the account they came from, so they are
sent only with ``send_kpro_ids = true``; external refs are always sent.

Example:
    >>> s = KProDestinationSettings(base_url="http://127.0.0.1:1", api_key="k" * 64)
    >>> d = KProDestination("kpro_out", s)
    >>> from leadkit.push.base import Lead
    >>> p = d.prepare(Lead("ovipro", "ovi", "7", {"email": "Ann@Example.com",
    ...     "first_name": "Ann", "phone": "07840 258823", "postcode": "nw11 7hb",
    ...     "status": "NEW"}))
    >>> p["externalRef"], p["email"], p["phone"], p["homePostcode"]
    ('leadkit:ovipro:ovi:7', 'Ann@example.com', '+447840258823', 'NW11 7HB')
    >>> print(p["additionalInfo"])
    -- leadkit --
    origin: ovipro:ovi:7
    status: NEW
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from leadkit.config import DestinationSettings
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
from leadkit.push.contact import is_email, normalise_email, normalise_phone, text_or_none

__all__ = [
    "ENQUIRY_TYPES",
    "ImportLead",
    "KProDestination",
    "KProDestinationSettings",
    "parse_failures",
]

#: Enquiry type codes (spec §5.4).
ENQUIRY_TYPES = ("general", "new-build", "resale", "staircasing", "selling-my-home")

# A valid UK postcode (the usual government pattern; the space is optional).
_POSTCODE = re.compile(
    r"(GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
_BOOLEANS = (
    "armedForcesMember",
    "keyworker",
    "hasDisability",
    "housingWaitingList",
    "firstTimeBuyer",
    "eligibleCitizen",
)
_TEXTS = ("title", "homeAddress", "workAddress", "occupation", "employerName", "hearAboutUs")


class KProDestinationSettings(DestinationSettings):
    """``[destinations.NAME] kind = "kpro"``: import leads into a KPro Marketing account.

    Attributes:
        base_url: the API host, e.g. ``https://app.kpro.co``.
        api_key: the account's key; write ``"${KPRO_IMPORT_API_KEY}"``.
        path: the import endpoint (spec Q17).
        batch_size: leads per request (spec Q11: ≤ 100 recommended; KPro documents none).
        site_id: ``siteId`` sent with every lead (6 = KPro Marketing API, spec §5.1).
        send_email_confirmation: ask KPro to e-mail each customer after the import.
        external_ref_prefix: put before the lead key to make ``externalRef``.
        phone_region: country assumed for phone numbers without ``+``.
        invalid_phone: what to do with a phone number that is not valid for its country:
            ``drop`` (default) moves it into ``additionalInfo`` (KPro's ``phone`` is free
            format and optional, spec §6), ``reject`` refuses the lead.
        send_kpro_ids: send ``listingId``/``propertyId``/``developmentId`` of KPro leads
            (only right when pushing back into the account they came from).
        backoff_initial_s: first retry delay (doubles, with jitter, up to 30 s).
    """

    kind: Literal["kpro"] = "kpro"
    base_url: str
    api_key: SecretStr
    path: str = "/api/bulk/open/leads"
    batch_size: int = Field(default=100, ge=1, le=1000)
    site_id: int = Field(default=6, ge=1)
    send_email_confirmation: bool = False
    external_ref_prefix: str = Field(default="leadkit:", max_length=64)
    phone_region: str = Field(default="GB", pattern=r"^[A-Z]{2}$")
    invalid_phone: Literal["reject", "drop"] = "drop"
    send_kpro_ids: bool = False
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "api_key=" in value:
            raise ValueError("must not contain the API key; set api_key instead")
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty; set it to the account's key (from the environment)")
        return value


class ImportLead(BaseModel):
    """One lead of an import request (spec §6); ``None`` fields are left out."""

    model_config = ConfigDict(extra="forbid")

    externalRef: str = Field(min_length=1, max_length=255)
    email: str
    sendEmailConfirmation: bool | None = None
    siteId: int | None = Field(default=None, ge=1)
    title: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    phone: str | None = None
    dateOfBirth: str | None = None
    annualHouseholdIncome: float | int | None = Field(default=None, ge=0)
    deposit: float | int | None = Field(default=None, ge=0)
    livingCircumstance: int | None = Field(default=None, ge=1, le=8)
    homePostcode: str | None = None
    homeAddress: str | None = None
    dependants: int | None = Field(default=None, ge=0)
    workingCircumstance: int | None = Field(default=None, ge=1, le=9)
    workPostcode: str | None = None
    workAddress: str | None = None
    occupation: str | None = None
    employerName: str | None = None
    armedForcesMember: bool | None = None
    keyworker: bool | None = None
    hasDisability: bool | None = None
    housingWaitingList: bool | None = None
    firstTimeBuyer: bool | None = None
    eligibleCitizen: bool | None = None
    homeOwnershipStatus: int | None = Field(default=None, ge=1, le=4)
    additionalInfo: str | None = None
    hearAboutUs: str | None = None
    listingId: int | None = None
    listingExternalRef: str | None = None
    propertyId: int | None = None
    propertyExternalRef: str | None = None
    developmentId: int | None = None
    bedrooms: list[int] | None = None
    enquiryType: (
        Literal["general", "new-build", "resale", "staircasing", "selling-my-home"] | None
    ) = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not is_email(value):
            raise ValueError(f"{short_repr(value)} is not a valid e-mail address")
        return value

    @field_validator("homePostcode", "workPostcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is not None and not _POSTCODE.fullmatch(value):
            raise ValueError(f"{short_repr(value)} is not a UK postcode")
        return value

    @field_validator("dateOfBirth")
    @classmethod
    def _birth(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            born = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{short_repr(value)} is not a YYYY-MM-DD date") from None
        if born >= datetime.now(UTC).date():
            raise ValueError(f"{value} is not in the past")
        return value

    @field_validator("bedrooms")
    @classmethod
    def _bedrooms(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(b < 0 for b in value):
            raise ValueError("bedroom counts must be 0 or more")
        return value


def _postcode(value: object) -> str | None:
    """A UK postcode in canonical form (upper case, one space), or None."""
    if not isinstance(value, str):
        return None
    compact = re.sub(r"\s+", "", value).upper()
    if len(compact) < 5 or not _POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _id_of(value: object) -> Any:
    return value.get("id") if isinstance(value, Mapping) else None


def _name_of(value: object) -> Any:
    if isinstance(value, Mapping):
        return value.get("name")
    return value


def parse_failures(body: object) -> dict[str, list[str]]:
    """The failing leads of a 422 answer: lower-cased ``customerEmail`` → messages.

    Inner ``errors`` may be a map (field → messages) or a list (spec Q10).

    Example:
        >>> parse_failures({"message": "The given data was invalid.", "errors": [
        ...     {"customerEmail": "A@x.io", "errors": {"phone": ["bad"], "x": "worse"}},
        ...     {"customerEmail": "b@x.io", "errors": ["The email must be valid."]}]})
        {'a@x.io': ['phone: bad', 'x: worse'], 'b@x.io': ['The email must be valid.']}
    """
    out: dict[str, list[str]] = {}
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(errors, list):
        return out
    for entry in errors:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("customerEmail"), str):
            continue
        messages: list[str] = []
        inner = entry.get("errors")
        if isinstance(inner, Mapping):
            for name, value in inner.items():
                values = value if isinstance(value, list) else [value]
                messages += [f"{name}: {v}" for v in values]
        elif isinstance(inner, list):
            messages += [str(v) for v in inner]
        elif inner is not None:
            messages.append(str(inner))
        out.setdefault(entry["customerEmail"].strip().lower(), []).extend(messages)
    return out


class KProDestination(Destination):
    """Import leads into one KPro Marketing account."""

    kind: ClassVar[str] = "kpro"
    supports_update: ClassVar[bool] = False
    settings: KProDestinationSettings

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        assert isinstance(settings, KProDestinationSettings)
        super().__init__(name, settings)
        self.settings = settings

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size

    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()]

    def describe(self) -> str:
        return f"{self.name} (kpro import at {self.settings.base_url})"

    def external_ref(self, lead: Lead) -> str:
        """``externalRef`` of a lead: the prefix and its key (hashed past 255 characters).

        >>> s = KProDestinationSettings(base_url="http://h", api_key="k" * 8)
        >>> KProDestination("d", s).external_ref(Lead("kpro", "main", "42", {}))
        'leadkit:kpro:main:42'
        """
        ref = self.settings.external_ref_prefix + lead.key
        if len(ref) > 255:
            ref = self.settings.external_ref_prefix + hashlib.sha256(lead.key.encode()).hexdigest()
        return ref

    # -- mapping -------------------------------------------------------------------------------

    def prepare(self, lead: Lead) -> dict[str, Any]:
        row = lead.row
        s = self.settings
        native = "eligibility_status" in row  # a kpro_leads row, not the canonical view
        extra: dict[str, Any] = {"origin": lead.key}
        data: dict[str, Any] = {
            "externalRef": self.external_ref(lead),
            "email": normalise_email(row.get("email")),
            "siteId": s.site_id,
            "sendEmailConfirmation": True if s.send_email_confirmation else None,
            "firstName": text_or_none(row.get("first_name")),
            "lastName": text_or_none(row.get("last_name")),
        }
        if not data["firstName"] and not data["lastName"] and text_or_none(row.get("full_name")):
            extra["full name"] = text_or_none(row.get("full_name"))
        phone = text_or_none(row.get("phone"))
        if phone:
            try:
                data["phone"] = normalise_phone(phone, region=s.phone_region)
            except LeadRejected:
                if s.invalid_phone == "reject":
                    raise
                extra["phone (not valid)"] = phone
        home = row.get("home_postcode") if native else row.get("postcode")
        if text_or_none(home):
            data["homePostcode"] = _postcode(home)
            if data["homePostcode"] is None:
                extra["postcode (not UK)"] = text_or_none(home)
        message = text_or_none(row.get("additional_info") if native else row.get("message"))
        if native:
            self._native(row, data, extra)
        else:
            for name in ("status", "category", "channel"):
                if text_or_none(row.get(name)):
                    extra[name] = text_or_none(row.get(name))
        created = row.get("created_at")
        if isinstance(created, datetime):
            extra["created"] = created.astimezone(UTC).isoformat(timespec="seconds")
        notes = "\n".join(f"{k}: {v}" for k, v in extra.items())
        data["additionalInfo"] = (message + "\n\n" if message else "") + "-- leadkit --\n" + notes
        try:
            model = ImportLead.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            raise LeadRejected.invalid("KPro import lead", exc) from None
        return json_ready(model)

    def _native(self, row: Mapping[str, Any], data: dict[str, Any], extra: dict[str, Any]) -> None:
        """Fill the import fields of a ``kpro_leads`` row."""
        s = self.settings
        for field in _TEXTS:
            column = re.sub(r"([A-Z])", r"_\1", field).lower()
            data[field] = text_or_none(row.get(column))
        for field in _BOOLEANS:
            column = re.sub(r"([A-Z])", r"_\1", field).lower()
            value = row.get(column)
            data[field] = value if isinstance(value, bool) else None
        born = row.get("date_of_birth")
        data["dateOfBirth"] = born.isoformat() if isinstance(born, date) else text_or_none(born)
        for field, column in (("annualHouseholdIncome", "annual_household_income"),
                              ("deposit", "deposit")):  # fmt: skip
            value = row.get(column)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            data[field] = value
        dependants = row.get("dependants")
        data["dependants"] = int(dependants) if isinstance(dependants, int | float) else None
        data["livingCircumstance"] = _id_of(row.get("living_circumstance"))
        data["workingCircumstance"] = _id_of(row.get("working_circumstance"))
        data["homeOwnershipStatus"] = row.get("home_ownership_status")
        work = text_or_none(row.get("work_postcode"))
        if work:
            data["workPostcode"] = _postcode(work)
            if data["workPostcode"] is None:
                extra["work postcode (not UK)"] = work
        enquiry = text_or_none(row.get("enquiry_type"))
        if enquiry in ENQUIRY_TYPES:
            data["enquiryType"] = enquiry
        elif enquiry:
            extra["enquiry type"] = enquiry
        listing, prop = row.get("listing"), row.get("property")
        development = row.get("development")
        if isinstance(listing, Mapping):
            data["listingExternalRef"] = text_or_none(listing.get("external_ref"))
            extra["listing"] = f"{listing.get('id')} {listing.get('name') or ''}".strip()
        if isinstance(prop, Mapping):
            data["propertyExternalRef"] = text_or_none(prop.get("external_ref"))
            if isinstance(prop.get("bedrooms"), int):
                data["bedrooms"] = [prop["bedrooms"]]
            extra["property"] = prop.get("id")
        if isinstance(development, Mapping):
            extra["development"] = f"{development.get('id')} {development.get('name') or ''}"
        if s.send_kpro_ids:
            data["listingId"] = _id_of(listing)
            data["propertyId"] = _id_of(prop)
            if data["listingId"] is None and data["propertyId"] is None:
                data["developmentId"] = _id_of(development)
        for label, value in (
            ("kpro id", row.get("id")),
            ("customer id", row.get("customer_id")),
            ("eligibility", row.get("eligibility_status")),
            ("site", _name_of(row.get("site"))),
            ("source", _name_of(row.get("source"))),
            ("housing provider", _name_of(row.get("housing_provider"))),
            ("home local authority", _name_of(row.get("home_local_authority"))),
            ("work local authority", _name_of(row.get("work_local_authority"))),
            ("buying interest", _name_of(row.get("buying_interest_period"))),
        ):
            if value is not None and str(value).strip():
                extra[label] = value

    # -- sending -------------------------------------------------------------------------------

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        for group in _unique_email_groups(batch):
            answers = await self._deliver([batch[i] for i in group], ctx)
            for i, answer in zip(group, answers, strict=True):
                outcomes[i] = answer
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    async def _post(self, items: Sequence[Prepared], ctx: PushContext) -> tuple[int, Any, str]:
        s = self.settings
        resp = await ctx.http.request(
            "POST",
            s.base_url + s.path,
            params={"api_key": s.api_key.get_secret_value()},
            json={"data": [p.payload for p in items]},
            headers={"Accept": "application/json"},
            accept=(422,),
        )
        text = resp.body.decode("utf-8", "replace")
        try:
            body = orjson.loads(resp.body)
        except orjson.JSONDecodeError:
            body = None
        return resp.status, body, text

    async def _deliver(self, items: list[Prepared], ctx: PushContext) -> list[Outcome]:
        """POST ``items`` (unique e-mails); on 422 isolate the failing leads, send the rest."""
        try:
            status, body, text = await self._post(items, ctx)
        except SourceAuthError:
            raise
        except SourceError as exc:
            detail = str(exc)
            return [Outcome("failed", exc.status, detail=detail) for _ in items]
        if status != 422:
            return _accepted(items, status, body, text)
        failures = parse_failures(body)
        message = body.get("message") if isinstance(body, Mapping) else None
        if len(items) == 1:
            messages = failures.get(items[0].payload["email"].lower()) or []
            detail = "; ".join(messages) or str(message or "KPro refused the lead (422)")
            return [Outcome("rejected", 422, response=text, detail=detail)]
        bad = [i for i, p in enumerate(items) if p.payload["email"].lower() in failures]
        if bad:  # e-mails are unique per request (Q10): each named lead is a failing one
            outcomes: list[Outcome | None] = [None] * len(items)
            for i in bad:
                email = items[i].payload["email"].lower()
                detail = "; ".join(failures[email])
                shown = {"customerEmail": items[i].payload["email"], "errors": failures[email]}
                text_i = orjson.dumps(shown).decode()
                outcomes[i] = Outcome("rejected", 422, response=text_i, detail=detail)
            rest = [i for i in range(len(items)) if outcomes[i] is None]
            if rest:
                for i, answer in zip(rest, await self._deliver([items[i] for i in rest], ctx),
                                     strict=True):  # fmt: skip
                    outcomes[i] = answer
            return [o for o in outcomes if o is not None]
        half = len(items) // 2
        return await self._deliver(items[:half], ctx) + await self._deliver(items[half:], ctx)


def _accepted(items: Sequence[Prepared], status: int, body: Any, text: str) -> list[Outcome]:
    """Outcomes of an accepted batch; any 2xx is success, the body is optional (Q9)."""
    answers = body.get("data") if isinstance(body, Mapping) else None
    by_ref: dict[str, Mapping[str, Any]] = {}
    if isinstance(answers, list):
        for entry in answers:
            if isinstance(entry, Mapping) and entry.get("externalRef") is not None:
                by_ref.setdefault(str(entry["externalRef"]), entry)
    out = []
    for p in items:
        entry = by_ref.get(p.payload["externalRef"])
        if entry is None:
            out.append(Outcome("sent", status, response=text[:500] if not answers else None))
            continue
        remote = None if entry.get("id") is None else str(entry["id"])
        response = orjson.dumps(entry).decode()
        if entry.get("status") == "duplicate":
            out.append(
                Outcome(
                    "skipped-duplicate",
                    status,
                    response=response,
                    detail="KPro already had this externalRef",
                    remote_id=remote,
                )
            )
        else:
            out.append(Outcome("sent", status, response=response, remote_id=remote))
    return out


def _unique_email_groups(batch: Sequence[Prepared]) -> list[list[int]]:
    """Positions of ``batch`` split so that no request repeats an e-mail (spec Q10).

    >>> from leadkit.push.base import Lead, Prepared
    >>> items = [Prepared(Lead("s", "s", str(i), {}), {"email": e}, "")
    ...          for i, e in enumerate(["a@x.io", "A@x.io", "b@x.io"])]
    >>> _unique_email_groups(items)
    [[0, 2], [1]]
    """
    groups: list[list[int]] = []
    seen: list[set[str]] = []
    for i, p in enumerate(batch):
        email = str(p.payload.get("email", "")).lower()
        for group, emails in zip(groups, seen, strict=True):
            if email not in emails:
                group.append(i)
                emails.add(email)
                break
        else:
            groups.append([i])
            seen.append({email})
    return groups
