"""The Real Geeks destination: create leads, PATCH changes, append note activities.

Per lead (``batch_size`` 1; the engine runs ``concurrency`` of them at once):

* a **new** lead is ``POST /rest/sites/{site}/leads`` with its deterministic ``id``:
  201 → ``sent``. Real Geeks treats a repeated create with the same id as the same lead,
  so a create re-sent after a crash is harmless;
* a **changed** lead (``Prepared.update``) is ``PATCH /rest/sites/{site}/leads/{id}``
  (``/v2/rest/...`` with ``update_api = "v2"``, which also clears fields that became empty)
  without activities, then ``POST .../activities`` with the new note: 200 + 200 →
  ``updated``. A 404 (the lead is not there) falls back to a create → ``sent``;
* 400/422 → ``rejected`` with Real Geeks' ``error`` text; 401 stops the push with
  :class:`~leadkit.errors.SourceAuthError` naming the site (often a missing site grant,
  spec Q10); 429/5xx/timeouts are retried by the HTTP client, then → ``failed``.

Example:
    >>> from leadkit.systems.realgeeks.settings import RealGeeksSettings
    >>> d = RealGeeksDestination("rg", RealGeeksSettings(username="u", password="p",
    ...     site_uuid="106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5"))
    >>> d.describe()
    'rg (realgeeks, site 106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5 at https://receivers.leadrouter.realgeeks.com)'
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from leadkit.config import DestinationSettings
from leadkit.engine.http import Response, api_error_text
from leadkit.errors import SourceAuthError, SourceError
from leadkit.push.base import Destination, Lead, Outcome, Prepared, PushContext, json_ready
from leadkit.systems.realgeeks.payload import build_payload
from leadkit.systems.realgeeks.settings import RealGeeksSettings

__all__ = ["CLEARABLE_FIELDS", "RealGeeksDestination"]

#: Lead fields the mapping writes that a v2 update clears (``""``) when they became empty.
CLEARABLE_FIELDS = ("email", "first_name", "last_name", "phone", "zip")
_ACCEPT = (400, 404, 422)


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

    def prepare(self, lead: Lead) -> dict[str, Any]:
        """The lead's create payload (see :func:`~leadkit.systems.realgeeks.payload.build_payload`).

        Raises:
            LeadRejected: unfixable e-mail or phone, or no contact field.
        """
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

    async def _create(self, item: Prepared, ctx: PushContext, note: str = "") -> Outcome:
        lead_id = str(item.payload["id"])
        answer = await self._call(ctx, "POST", self._url("/leads"), item.payload)
        if isinstance(answer, Outcome):
            return answer
        if answer.status in (400, 422):
            return self._rejected(answer, ctx)
        if answer.status == 404:
            return Outcome(
                "failed", 404, ctx.redactor.scrub(answer.body.decode("utf-8", "replace")),
                f"create answered 404: check base_url and site_uuid ({self.settings.site_uuid})",
            )  # fmt: skip
        return Outcome("sent", answer.status, answer.body.decode(), note or None, lead_id)

    async def _update(self, item: Prepared, ctx: PushContext) -> Outcome:
        lead_id = item.remote_id or str(item.payload["id"])
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
        activities = item.payload.get("activities") or []
        if activities:
            url = self._url(f"/leads/{lead_id}/activities")
            added = await self._call(ctx, "POST", url, activities)
            if isinstance(added, Outcome):
                detail = f"lead updated, but its note was not added: {added.detail}"
                return Outcome("failed", added.http_status, detail=detail, remote_id=lead_id)
            if added.status >= 300:
                outcome = self._rejected(added, ctx, "lead updated, but its note was not added: ")
                if added.status == 404:
                    return Outcome("failed", 404, outcome.response, outcome.detail, lead_id)
                return dataclasses.replace(outcome, remote_id=lead_id)
        return Outcome("updated", answer.status, answer.body.decode(), None, lead_id)

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Deliver each lead (create, or PATCH + note for an update); one outcome each.

        Raises:
            SourceAuthError: the credentials were refused for this site (401).
        """
        outcomes: list[Outcome] = []
        for item in batch:
            if item.update:
                outcomes.append(await self._update(item, ctx))
            else:
                outcomes.append(await self._create(item, ctx))
        return outcomes

    async def check(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Dry run: say what would be sent; no request at all."""
        site = self.settings.site_uuid
        out = []
        for item in batch:
            lead_id = item.remote_id or str(item.payload["id"])
            action = "update (PATCH + note)" if item.update else "create"
            detail = f"would {action} lead {lead_id} at site {site}"
            out.append(Outcome("would-send", detail=detail, remote_id=lead_id))
        return out

    # --- safety -------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """The password and the HTTP Basic token built from it, for redaction."""
        return [self.settings.password.get_secret_value(), self._token]

    def describe(self) -> str:
        """A one-line description safe to print (no secrets)."""
        return (
            f"{self.name} (realgeeks, site {self.settings.site_uuid} at {self.settings.base_url})"
        )
