"""Conformance: the real third-party client (PyPI ``autumna`` 0.1.2) against the sandbox.

The client hard-codes ``https://www.autumna.co.uk/api/{path}/``; the test hands its module
a ``requests`` whose ``get`` sends the same request to the sandbox on 127.0.0.1 instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from autumna import client as autumna_client
from autumna.constants import Category
from autumna.exceptions import APIException
from autumna.resources.lead import Lead

from leadkit.sandbox import SandboxThread
from leadkit.systems.carehome.sandbox import QUIRKS, CarehomeSandbox, CarehomeSandboxConfig

PRODUCTION = "https://www.autumna.co.uk/api/"
START = datetime(2024, 5, 1, tzinfo=UTC)


def _redirect(monkeypatch: pytest.MonkeyPatch, sb: SandboxThread) -> list[str]:
    seen: list[str] = []

    def get(url: str, **kwargs: Any) -> requests.Response:
        assert url.startswith(PRODUCTION), url
        seen.append(url)
        return requests.get(sb.base_url + "/api/" + url[len(PRODUCTION) :], **kwargs)

    monkeypatch.setattr(autumna_client, "requests", SimpleNamespace(get=get))
    return seen


def _start(**knobs: Any) -> SandboxThread:
    config = CarehomeSandboxConfig(start=START, days=7, **knobs)
    return SandboxThread(lambda: CarehomeSandbox(config))


def test_the_autumna_client_reads_every_category(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every quirk except an invalid visitDate, which the client cannot parse (next test).
    quirks = tuple(q for q in QUIRKS if q != "invalid_visit_date")
    with _start(leads=400, seed=11, quirk_rate=0.4, quirks=quirks) as sb:
        seen = _redirect(monkeypatch, sb)
        api = autumna_client.APIClient(sb.server.api_key, timeout=10)
        window = {"date_time_from": START, "date_time_to": START + timedelta(days=7)}
        total = 0
        for category in Category:
            leads = Lead.many(api, is_anonymised=False, category_id=category, **window)
            assert leads, category
            assert {lead.category.id for lead in leads} == {category.value}
            assert all(lead.date_time.year == 2024 for lead in leads)
            total += len(leads)
            for lead in leads:
                assert str(lead)  # names, service and category all readable
                if category.value in (2, 3):
                    assert lead.visit_date is not None
                    assert lead.visit_time
        assert total == len(sb.call(lambda: sb.server.leads(anonymised=False)))
        anonymised = Lead.many(api, is_anonymised=True, **window)
        assert anonymised
        assert all(lead.is_anonymised for lead in anonymised)
        assert len(Lead.many(api)) == total  # no filters at all
        # It sends capitalised booleans and the trailing-slash path.
        logged = sb.call(lambda: list(sb.server.requests))
        assert ("isAnonymised", "True") in logged[-2].params
        assert all(r.path == "/api/leads/" for r in logged)
        assert len(seen) == len(logged)
        # The sandbox keeps the documented snake_case budget keys: the client (which reads
        # camelCase) gets None for those, and the values for the camelCase quirk records.
        budgets = [lead.budget_min for c in (6, 7, 8) for lead in Lead.many(api, category_id=c)]
        assert None in budgets
        assert any(b is not None for b in budgets)


def test_the_client_reports_the_message_of_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    with _start(leads=20, seed=1) as sb:
        _redirect(monkeypatch, sb)
        with pytest.raises(APIException, match=r"^Invalid API key$"):
            Lead.many(autumna_client.APIClient("0" * 40))
        api = autumna_client.APIClient(sb.server.api_key)
        with pytest.raises(APIException, match=r"^Invalid serviceId$"):
            Lead.many(api, service_id="abc")


def test_an_invalid_visit_date_is_a_real_quirk_for_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _start(leads=200, seed=2, quirk_rate=0.5, quirks=("invalid_visit_date",)) as sb:
        _redirect(monkeypatch, sb)
        api = autumna_client.APIClient(sb.server.api_key)
        with pytest.raises(
            ValueError, match=r"does not match format|unconverted data|out of range"
        ):
            Lead.many(api, category_id=Category.IN_PERSON_VISIT_REQUEST)
