"""The Real Geeks destination: create leads, PATCH changes, append note activities — or
create anonymous potential-seller leads (``lead_kind = "potential_seller"``).

Per lead (``batch_size`` 1; the engine runs ``concurrency`` of them at once):

* a **new** lead is ``POST /rest/sites/{site}/leads`` with its deterministic ``id``:
  201 → ``sent``. Real Geeks treats a repeated create with the same id as the same lead,
  so a create re-sent after a crash is harmless;
* a **changed** lead (``Prepared.update``) is ``PATCH /rest/sites/{site}/leads/{id}``
  (``/v2/rest/...`` with ``update_api = "v2"``, which also clears fields that became empty)
  without activities, then ``POST .../activities`` with the note **only when the note's
  text differs from the last one delivered** (Real Geeks appends activities and never
  deletes them, so re-adding an unchanged note would duplicate it in the CRM): 200 (+ 200)
  → ``updated``. A 404 (the lead is not there) falls back to a create → ``sent``;
* a **potential seller** is ``POST /rest/sites/{site}/potential-seller-leads`` with its own
  deterministic ``id``, ``created`` and one ``property_viewed`` activity: 201 → ``sent``; a
  changed one (its property changed) is posted again with the same id → ``updated`` (Real
  Geeks merges it into the same lead and appends the new activity);
* 400/422 → ``rejected`` with Real Geeks' ``error`` text; 401 stops the push with
  :class:`~leadkit.errors.SourceAuthError` naming the site (often a missing site grant,
  spec Q10); 429/5xx/timeouts are retried by the HTTP client, then → ``failed``.

**Which note was delivered.** The engine hands ``send`` the new payload and the ledger's
``remote_id`` only, so the destination keeps the note's state there: a lead's ``remote_id``
is ``<lead uuid>#note=<hash>``, the hash (:func:`note_hash`) being that of the last note
text Real Geeks accepted. :func:`parse_remote` splits it; a ``remote_id`` without the
``#note=`` part (a delivery of an older leadkit, or a note that failed) means "not known",
and the note is sent.

Example:
    >>> from leadkit.systems.realgeeks.settings import RealGeeksSettings
    >>> d = RealGeeksDestination("rg", RealGeeksSettings(username="u", password="p",
    ...     site_uuid="106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5"))
    >>> d.describe()
    'rg (realgeeks, site 106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5 at https://receivers.leadrouter.realgeeks.com)'
    >>> parse_remote(remote_ref("0f61b5ce-89f9-532c-8826-62fb1616ac48", note_hash("Hi")))
    ('0f61b5ce-89f9-532c-8826-62fb1616ac48', '3639efcd08abb273')
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

from leadkit.config import DestinationSettings
from leadkit.engine.http import Response, api_error_text
from leadkit.errors import SourceAuthError, SourceError
from leadkit.push.base import Destination, Lead, Outcome, Prepared, PushContext, json_ready
from leadkit.systems.realgeeks.payload import build_payload, build_potential_seller, note_text
from leadkit.systems.realgeeks.settings import RealGeeksSettings

__all__ = [
    "CLEARABLE_FIELDS",
    "NOTE_MARK",
    "RealGeeksDestination",
    "note_hash",
    "parse_remote",
    "remote_ref",
]

#: Lead fields the mapping writes that a v2 update clears (``""``) when they became empty.
CLEARABLE_FIELDS = ("email", "first_name", "last_name", "phone", "zip")
_ACCEPT = (400, 404, 422)
#: Separates the lead's id from the delivered note's hash in ``remote_id``.
NOTE_MARK = "#note="


def note_hash(text: str) -> str:
    """A short hash of a note's text (the first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def remote_ref(lead_id: str, note: str | None) -> str:
    """The ``remote_id`` kept in the ledger: the lead's id, then the delivered note's hash.

    >>> remote_ref("abc", None), remote_ref("abc", "12ef")
    ('abc', 'abc#note=12ef')
    """
    return f"{lead_id}{NOTE_MARK}{note}" if note else lead_id


def parse_remote(remote_id: str | None) -> tuple[str | None, str | None]:
    """``remote_id`` → (the lead's Real Geeks id, the delivered note's hash); None if unknown.

    >>> parse_remote("abc#note=12ef"), parse_remote("abc"), parse_remote(None)
    (('abc', '12ef'), ('abc', None), (None, None))
    """
    if not remote_id:
        return None, None
    lead_id, _, note = remote_id.partition(NOTE_MARK)
    return lead_id or None, note or None


def _payload_note(payload: dict[str, Any]) -> str | None:
    text = note_text(payload)
    return note_hash(text) if text is not None else None


def _adds_activities(payload: dict[str, Any], delivered_note: str | None) -> bool:
    """Whether an update posts the payload's activities: there are some, and the note is
    not the one last delivered (activities without a note are always posted)."""
    if not payload.get("activities"):
        return False
    note = _payload_note(payload)
    return note is None or note != delivered_note


class RealGeeksDestination(Destination):
    """Leads into one Real Geeks client site (spec ``realgeeks.md``).

    Args:
        name: the configured destination name.
        settings: its :class:`RealGeeksSettings`.
    """

    kind: ClassVar[str] = "realgeeks"
    supports_update: ClassVar[bool] = True
    settings: RealGeeksSettings

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        if not isinstance(settings, RealGeeksSettings):
            raise TypeError(f"expected RealGeeksSettings, got {type(settings).__name__}")
        super().__init__(name, settings)
        pair = f"{settings.username}:{settings.password.get_secret_value()}"
        self._token = base64.b64encode(pair.encode("utf-8")).decode("ascii")

    # --- mapping ------------------------------------------------------------------------

    @property
    def potential_sellers(self) -> bool:
        """Whether this destination creates potential-seller leads (``lead_kind``)."""
        return self.settings.lead_kind == "potential_seller"

    def prepare(self, lead: Lead) -> dict[str, Any]:
        """The lead's create payload: :func:`~leadkit.systems.realgeeks.payload.build_payload`,
        or :func:`~leadkit.systems.realgeeks.payload.build_potential_seller` for potential
        sellers.

        Raises:
            LeadRejected: unfixable e-mail or phone, or no contact field; for a potential
                seller, a property value of the wrong kind or not enough property data.
        """
        if self.potential_sellers:
            return json_ready(build_potential_seller(lead, self.settings))
        return json_ready(build_payload(lead, self.settings))

    # --- sending --------------------------------------------------------------------------

    def _url(self, path: str, *, v2: bool = False) -> str:
        prefix = "/v2/rest" if v2 else "/rest"
        return f"{self.settings.base_url}{prefix}/sites/{self.settings.site_uuid}{path}"

    async def _call(self, ctx: PushContext, method: str, url: str, body: Any) -> Response | Outcome:
        """One request; a response (2xx or an accepted 4xx), or a ``failed`` outcome."""
        headers = {
            "Authorization": f"Basic {self._token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            return await ctx.http.request(method, url, json=body, headers=headers, accept=_ACCEPT)
        except SourceAuthError as exc:
            site = self.settings.site_uuid
            raise SourceAuthError(
                f"{self.name}: Real Geeks answered HTTP {exc.status} for site {site}"
                f"{': ' + exc.detail if exc.detail else ''}. Either the username/password are "
                f"wrong, or site {site} has not granted this integration access (ask the site "
                "owner to grant it on the Real Geeks grant page). Check the password in the "
                "environment variable named in leadkit.toml.",
                source=exc.source,
                url=exc.url,
                status=exc.status,
                detail=exc.detail,
            ) from None
        except SourceError as exc:
            return Outcome("failed", http_status=exc.status, detail=ctx.redactor.scrub(str(exc)))

    def _rejected(self, response: Response, ctx: PushContext, prefix: str = "") -> Outcome:
        text = ctx.redactor.scrub(response.body.decode("utf-8", "replace"))
        detail = ctx.redactor.scrub(api_error_text(response.body))
        return Outcome("rejected", response.status, text, prefix + detail)

    async def _post_new(self, item: Prepared, ctx: PushContext, path: str) -> Response | Outcome:
        """POST a create body: the 2xx response, or the outcome of a refusal or a failure."""
        answer = await self._call(ctx, "POST", self._url(path), item.payload)
        if isinstance(answer, Outcome):
            return answer
        if answer.status in (400, 422):
            return self._rejected(answer, ctx)
        if answer.status == 404:
            return Outcome(
                "failed", 404, ctx.redactor.scrub(answer.body.decode("utf-8", "replace")),
                f"create answered 404: check base_url and site_uuid ({self.settings.site_uuid})",
            )  # fmt: skip
        return answer

    async def _create(self, item: Prepared, ctx: PushContext, note: str = "") -> Outcome:
        answer = await self._post_new(item, ctx, "/leads")
        if isinstance(answer, Outcome):
            return answer
        remote = remote_ref(str(item.payload["id"]), _payload_note(item.payload))
        return Outcome("sent", answer.status, answer.body.decode(), note or None, remote)

    async def _create_potential_seller(self, item: Prepared, ctx: PushContext) -> Outcome:
        answer = await self._post_new(item, ctx, "/potential-seller-leads")
        if isinstance(answer, Outcome):
            return answer
        body, lead_id = answer.body.decode(), str(item.payload["id"])
        if item.update:
            return Outcome("updated", answer.status, body, None, lead_id)
        return Outcome("sent", answer.status, body, None, lead_id)

    async def _update(self, item: Prepared, ctx: PushContext) -> Outcome:
        known_id, delivered_note = parse_remote(item.remote_id)
        lead_id = known_id or str(item.payload["id"])
        kept = item.remote_id or lead_id  # what the ledger keeps if the note is not added
        v2 = self.settings.update_api == "v2"
        body = {k: v for k, v in item.payload.items() if k not in ("id", "activities")}
        if v2:
            body.update({name: "" for name in CLEARABLE_FIELDS if name not in body})
        answer = await self._call(ctx, "PATCH", self._url(f"/leads/{lead_id}", v2=v2), body)
        if isinstance(answer, Outcome):
            return answer
        if answer.status == 404:
            return await self._create(item, ctx, note="not found at Real Geeks; created again")
        if answer.status in (400, 422):
            return self._rejected(answer, ctx)
        note = _payload_note(item.payload)
        if _adds_activities(item.payload, delivered_note):
            url = self._url(f"/leads/{lead_id}/activities")
            added = await self._call(ctx, "POST", url, item.payload["activities"])
            if isinstance(added, Outcome):
                detail = f"lead updated, but its note was not added: {added.detail}"
                return Outcome("failed", added.http_status, detail=detail, remote_id=kept)
            if added.status >= 300:
                outcome = self._rejected(added, ctx, "lead updated, but its note was not added: ")
                if added.status == 404:
                    return Outcome("failed", 404, outcome.response, outcome.detail, kept)
                return dataclasses.replace(outcome, remote_id=kept)
        remote = remote_ref(lead_id, note)
        return Outcome("updated", answer.status, answer.body.decode(), None, remote)

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Deliver each lead (create, or PATCH + a changed note for an update; a potential
        seller is posted to its own endpoint); one outcome each.

        Raises:
            SourceAuthError: the credentials were refused for this site (401).
        """
        outcomes: list[Outcome] = []
        for item in batch:
            if self.potential_sellers:
                outcomes.append(await self._create_potential_seller(item, ctx))
            elif item.update:
                outcomes.append(await self._update(item, ctx))
            else:
                outcomes.append(await self._create(item, ctx))
        return outcomes

    async def check(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Dry run: say what would be sent; no request at all."""
        site = self.settings.site_uuid
        out = []
        for item in batch:
            known_id, delivered_note = parse_remote(item.remote_id)
            lead_id = known_id or str(item.payload["id"])
            if self.potential_sellers:
                action = (
                    "send again (its property changed) potential-seller lead"
                    if item.update
                    else "create potential-seller lead"
                )
            elif not item.update:
                action = "create lead"
            elif _adds_activities(item.payload, delivered_note):
                action = "update (PATCH + note) lead"
            else:
                action = "update (PATCH; note unchanged, not added again) lead"
            detail = f"would {action} {lead_id} at site {site}"
            out.append(Outcome("would-send", detail=detail, remote_id=item.remote_id or lead_id))
        return out

    # --- safety -------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """The password and the HTTP Basic token built from it, for redaction."""
        return [self.settings.password.get_secret_value(), self._token]

    def describe(self) -> str:
        """A one-line description safe to print (no secrets)."""
        what = "realgeeks potential sellers" if self.potential_sellers else "realgeeks"
        return f"{self.name} ({what}, site {self.settings.site_uuid} at {self.settings.base_url})"
