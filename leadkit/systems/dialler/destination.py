"""The dialler as a push destination: ``/lead/add``, test mode and ``/lead/cancel``.

Every answer is read from its **body**, never from the status alone (spec Q1):

=====================================================  ======================  ==========
answer                                                 outcome                 retried?
=====================================================  ======================  ==========
``{"saved": true, "processed": true}``                 ``sent``                —
``… "processed": false, "error": "Existing Contact"``  ``skipped-duplicate``   no
``… "error": "Another call is already scheduled"``     ``skipped-duplicate``   no
either, after an attempt with an unknown outcome       ``sent`` (Q6)           no
``… "error": "Unknown Type"``                          ``rejected``            no
400 ``{"field": {"0": "message"}}``                    ``rejected``            no
``{"test": "ok"}`` (dry run)                           ``would-send``          —
401                                                    raises                  no
429 / 5xx / timeout / reset, after the retries         ``failed``              next push
``{"cancelled": true}``                                ``cancelled``           —
``"warning": "not found"`` / ``"already processed"``   ``rejected``            no
``"warning": "server error (call group)"``             ``rejected``            no
``"warning": "server error (save)"``                   ``failed``              next push
=====================================================  ======================  ==========

The key travels in the query string (``key=``); :meth:`DiallerDestination.secrets` hands it
to the redactor, and the HTTP client shows URLs with ``key=***``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from leadkit.config import DestinationSettings
from leadkit.engine.http import Response
from leadkit.errors import SourceAuthError, SourceError
from leadkit.push.base import (
    Destination,
    Lead,
    LeadRejected,
    Outcome,
    Prepared,
    PushContext,
    json_ready,
)
from leadkit.systems.dialler.payload import build_cancel, build_payload
from leadkit.systems.dialler.settings import DiallerSettings

__all__ = [
    "ADD_PATH",
    "CANCEL_PATH",
    "DUPLICATE_ERRORS",
    "DiallerDestination",
    "add_outcome",
    "cancel_outcome",
    "format_errors",
]

ADD_PATH = "/lead/add"
CANCEL_PATH = "/lead/cancel"
#: ``error`` texts of a saved-but-not-processed lead that mean "the dialler already has it".
DUPLICATE_ERRORS = frozenset({"Existing Contact", "Another call is already scheduled"})
_RETRYABLE_WARNINGS = ("server error (save)",)
_MAX_RESPONSE = 2000


def format_errors(body: Any) -> str:
    """The messages of a 400 body, field by field; values may be ``{"0": …}`` objects,
    lists or strings (spec Q8).

    >>> format_errors({"email": {"0": "Email cannot be blank."}, "mobile": ["A.", "B."]})
    'email: Email cannot be blank.; mobile: A.; mobile: B.'
    """
    if not isinstance(body, Mapping):
        return str(body)
    parts: list[str] = []
    for field, messages in body.items():
        if isinstance(messages, Mapping):
            values = [messages[k] for k in sorted(messages, key=_php_index)]
        elif isinstance(messages, list):
            values = messages
        else:
            values = [messages]
        parts += [f"{field}: {value}" for value in values]
    return "; ".join(parts)


def _php_index(key: Any) -> tuple[int, str]:
    text = str(key)
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def add_outcome(status: int, body: Any, *, test: bool = False, resend: bool = False) -> Outcome:
    """Read an answer of ``/lead/add`` (``test``: a dry run's) into an outcome.

    ``resend``: an earlier attempt's outcome is unknown (a push was killed mid-request), so
    the dialler may already have queued this very lead; "Existing Contact" and "Another
    call is already scheduled" then mean "already queued" and count as ``sent`` (spec Q6).

    >>> add_outcome(200, {"saved": True, "processed": True}).status
    'sent'
    >>> add_outcome(200, {"saved": True, "processed": False, "error": "Existing Contact"})
    Outcome(status='skipped-duplicate', http_status=200, response=None, detail='Existing Contact', remote_id=None)
    >>> add_outcome(400, {"email": {"0": "Email cannot be blank."}}).detail
    'email: Email cannot be blank.'
    >>> add_outcome(200, {"test": "ok"}, test=True).status
    'would-send'
    >>> add_outcome(200, {"saved": True, "processed": False, "error": "Existing Contact"},
    ...             resend=True).status
    'sent'
    """  # noqa: E501
    if status == 400:
        return Outcome("rejected", status, detail=format_errors(body))
    if not isinstance(body, Mapping):
        return Outcome("failed", status, detail="unexpected answer (not a JSON object)")
    if test:
        if body.get("test") == "ok":
            return Outcome("would-send", status, detail="valid (the dialler's test mode)")
        return Outcome("failed", status, detail="unexpected answer to a test submission")
    if body.get("saved") is True and body.get("processed") is True:
        return Outcome("sent", status)
    error = body.get("error")
    if body.get("processed") is False and isinstance(error, str) and error:
        if error in DUPLICATE_ERRORS:
            if resend:
                return Outcome("sent", status, detail=f"{error}: already queued by an earlier "
                               "attempt whose answer was lost (spec Q6)")  # fmt: skip
            return Outcome("skipped-duplicate", status, detail=error)
        return Outcome("rejected", status, detail=error)
    return Outcome("failed", status, detail="unexpected answer (neither processed nor an error)")


def cancel_outcome(status: int, body: Any) -> Outcome:
    """Read an answer of ``/lead/cancel`` into an outcome.

    >>> cancel_outcome(200, {"cancelled": True}).status
    'cancelled'
    >>> [cancel_outcome(200, {"cancelled": False, "warning": w}).status for w in
    ...  ("not found", "already processed", "server error (call group)", "server error (save)")]
    ['rejected', 'rejected', 'rejected', 'failed']
    """
    if status == 400:
        return Outcome("rejected", status, detail=format_errors(body))
    if not isinstance(body, Mapping):
        return Outcome("failed", status, detail="unexpected answer (not a JSON object)")
    if body.get("cancelled") is True:
        return Outcome("cancelled", status)
    warning = body.get("warning")
    if body.get("cancelled") is False and isinstance(warning, str) and warning:
        if warning in _RETRYABLE_WARNINGS or not warning.startswith(
            ("not found", "already processed", "server error (call group)")
        ):
            return Outcome("failed", status, detail=warning)
        return Outcome("rejected", status, detail=warning)
    return Outcome("failed", status, detail="unexpected answer (neither cancelled nor a warning)")


class DiallerDestination(Destination):
    """Push leads into the dialler's call queue, and cancel queued calls.

    Args:
        name: the configured destination name.
        settings: its :class:`~leadkit.systems.dialler.settings.DiallerSettings`.

    Example:
        >>> settings = DiallerSettings(base_url="https://d.example", api_key="k" * 16,
        ...                            lead_type="motor-trade")
        >>> dest = DiallerDestination("dialler_main", settings)
        >>> lead = Lead("kpro", "kpro_main", "42", {"email": "A@B.co", "full_name": "Ann Lee",
        ...             "phone": "+44 7840 258823", "postcode": "SW1A 1AA"})
        >>> dest.prepare(lead)
        {'email': 'a@b.co', 'first_name': 'Ann', 'surname': 'Lee', 'mobile': '07840258823', 'type': 'motor-trade', 'data': '{"postcode":"SW1A 1AA"}'}
        >>> dest.describe()
        "dialler_main (dialler: type 'motor-trade' at https://d.example)"
    """  # noqa: E501

    kind: ClassVar[str] = "dialler"
    supports_update: ClassVar[bool] = False
    supports_cancel: ClassVar[bool] = True

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        if not isinstance(settings, DiallerSettings):
            raise TypeError(f"{name}: expected DiallerSettings, got {type(settings).__name__}")
        super().__init__(name, settings)
        self.config = settings
        self._warned_type = False

    def prepare(self, lead: Lead) -> dict[str, Any]:
        """The ``/lead/add`` body for a lead (see :mod:`leadkit.systems.dialler.payload`).

        Raises:
            LeadRejected: no valid e-mail, names or UK mobile.
        """
        return json_ready(build_payload(lead, self.config))

    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Add each lead to the call queue (one request per lead)."""
        return [await self._add(item, ctx, test=False) for item in batch]

    async def check(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Dry run: the same requests with ``"test": true`` (validated, nothing saved)."""
        return [await self._add(item, ctx, test=True) for item in batch]

    async def cancel(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Cancel each lead's queued call, by the (type, mobile) it was sent with."""
        outcomes: list[Outcome] = []
        for item in batch:
            if ctx.stop.is_set():
                outcomes.append(Outcome("failed", detail="not sent: the push was stopped"))
                continue
            try:
                body = json_ready(build_cancel(item.payload, self.config))
            except LeadRejected as exc:
                outcomes.append(Outcome("rejected", detail=exc.reason))
                continue
            answer = await self._post(CANCEL_PATH, body, ctx)
            if isinstance(answer, Outcome):
                outcomes.append(answer)
                continue
            outcome = cancel_outcome(answer.status, _json(answer))
            outcomes.append(_with_response(outcome, answer, ctx))
        return outcomes

    def secrets(self) -> list[str]:
        """The API key (it travels in the URL)."""
        return [self.config.api_key.get_secret_value()]

    def describe(self) -> str:
        """Name, kind, lead type and host (never the key)."""
        return f"{self.name} (dialler: type {self.config.lead_type!r} at {self.config.base_url})"

    async def _add(self, item: Prepared, ctx: PushContext, *, test: bool) -> Outcome:
        if ctx.stop.is_set():
            return Outcome("failed", detail="not sent: the push was stopped")
        body = {**item.payload, "test": True} if test else dict(item.payload)
        answer = await self._post(ADD_PATH, body, ctx)
        if isinstance(answer, Outcome):
            return answer
        # Q6: after an attempt whose outcome is unknown — a killed push (resend) or a retry
        # after a timeout, reset or 5xx in this push — a duplicate answer means delivered.
        unknown = item.resend or answer.uncertain
        outcome = add_outcome(answer.status, _json(answer), test=test, resend=unknown)
        if outcome.detail == "Unknown Type" and not self._warned_type:
            self._warned_type = True
            ctx.log.warning(
                "%s: the dialler does not know lead type %r; check lead_type in leadkit.toml",
                self.name,
                self.config.lead_type,
            )
        return _with_response(outcome, answer, ctx)

    async def _post(self, path: str, body: dict[str, Any], ctx: PushContext) -> Response | Outcome:
        key = self.config.api_key.get_secret_value()
        try:
            return await ctx.http.request(
                "POST",
                self.config.base_url + path,
                params={"key": key},
                json=body,
                accept=(400,),
            )
        except SourceAuthError:
            raise
        except SourceError as exc:
            return Outcome("failed", exc.status, detail=ctx.redactor.scrub(str(exc)))


def _json(answer: Response) -> Any:
    try:
        return answer.json()
    except orjson.JSONDecodeError:
        return answer.body.decode("utf-8", "replace")


def _with_response(outcome: Outcome, answer: Response, ctx: PushContext) -> Outcome:
    text = ctx.redactor.scrub(answer.body.decode("utf-8", "replace")[:_MAX_RESPONSE])
    detail = ctx.redactor.scrub(outcome.detail) if outcome.detail else outcome.detail
    return Outcome(outcome.status, answer.status, text, detail, outcome.remote_id)
