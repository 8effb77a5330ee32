"""The official Real Geeks client, ``leadrouter`` 2.0.2 from PyPI, against the sandbox.

leadrouter is synchronous (``requests``), so the sandbox runs in a
:class:`~leadkit.sandbox.SandboxThread`. What it sends is what the sandbox must accept
(spec §7); the differences from the spec found here are in ``docs/realgeeks.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

leadrouter = pytest.importorskip("leadrouter")

from leadkit.sandbox import SandboxThread  # noqa: E402
from leadkit.systems.realgeeks.sandbox import (  # noqa: E402
    RealGeeksSandbox,
    RealGeeksSandboxConfig,
)

LEAD_ID = "5b0e2f0a-3c1d-4e8f-9a7b-2d6c4e8f0a1b"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxThread]:
    """One sandbox for the module (latency well under leadrouter's fixed 2 s timeout)."""
    config = RealGeeksSandboxConfig(latency_s=0.01, retry_after_s=0)
    with SandboxThread(lambda: RealGeeksSandbox(config)) as thread:
        yield thread


@pytest.fixture
def sb(sandbox: SandboxThread) -> RealGeeksSandbox:
    """The sandbox, emptied."""
    server: RealGeeksSandbox = sandbox.server
    sandbox.call(server.clear)
    return server


@pytest.fixture
def client(sb: RealGeeksSandbox) -> Any:
    """``leadrouter.Client`` pointed at the sandbox."""
    return leadrouter.Client(sb.base_url, sb.username, sb.password)


def test_create_update_and_activities(client: Any, sb: RealGeeksSandbox) -> None:
    site = sb.site_uuids[0]
    lead = {
        "id": LEAD_ID,
        "source": "My Website",
        "email": "jack@gmail.com",
        "first_name": "Jäck",  # json.dumps escapes it as \u00e4
        "phone": "808-123-1234",
        "role": "Buyer",
        "created": "2015-04-01T08:41:51+00:00",
        "activities": [{"type": "contact_emailed", "description": "Hi"}],
    }
    assert client.create_lead(site, lead) is None
    assert client.update_lead(site, LEAD_ID, {"last_name": "Johnson", "phone2": ""}) is None
    acts = [
        {"type": "property_viewed", "source": "My Website", "description": "viewed",
         "property": {"mls": "12345", "beds": 2, "half_baths": "1", "sqft": "1340"}},
        {"type": "note", "source": "My Website", "description": "called back"},
    ]  # fmt: skip
    assert client.add_activities(site, LEAD_ID, acts) is None

    stored = sb.lead(site, LEAD_ID)
    assert stored is not None
    assert stored["first_name"] == "Jäck"
    assert stored["last_name"] == "Johnson"
    assert "phone2" not in stored
    assert [a["type"] for a in stored["activities"]] == [
        "contact_emailed", "property_viewed", "note",
    ]  # fmt: skip
    assert stored["activities"][0]["source"] == "My Website"  # defaulted (spec §8)

    create, update, activities = sb.received
    assert (create.method, create.path, create.status) == (
        "POST", f"/rest/sites/{site}/leads", 201,
    )  # fmt: skip
    assert (update.method, update.path, update.status) == (
        "PATCH", f"/rest/sites/{site}/leads/{LEAD_ID}", 200,
    )  # fmt: skip
    assert activities.path == f"/rest/sites/{site}/leads/{LEAD_ID}/activities"
    assert activities.body == acts
    for record in sb.received:
        assert record.headers["Content-Type"] == "application/json; charset=utf-8"
        assert record.headers["User-Agent"].startswith("python-requests/")
        assert "Authorization" not in record.headers


def test_create_potential_seller_lead(client: Any, sb: RealGeeksSandbox) -> None:
    site = sb.site_uuids[1]
    body = {
        "id": LEAD_ID,
        "activities": [
            {"type": "property_viewed", "source": "AVM", "description": "valuation",
             "property": {"street_address": "123 Keolu Dr", "estimated_value": "145000"}},
        ],
    }  # fmt: skip
    assert client.create_potential_seller_lead(site, body) is None
    stored = sb.lead(site, LEAD_ID)
    assert stored is not None
    assert stored["role"] == "Potential Seller"


def test_validation_error_surfaces_as_http_error(client: Any, sb: RealGeeksSandbox) -> None:
    site = sb.site_uuids[0]
    with pytest.raises(leadrouter.HTTPError) as info:
        client.create_lead(site, {"source": "X", "email": "not-an-email"})
    assert str(info.value) == "email 'not-an-email' is not a valid e-mail address"
    assert info.value.status_code == 422
    assert json.loads(info.value.response_text) == {"error": str(info.value)}


def test_unknown_lead_and_activities_shape(client: Any, sb: RealGeeksSandbox) -> None:
    site = sb.site_uuids[0]
    with pytest.raises(leadrouter.HTTPError, match="lead not found") as info:
        client.update_lead(site, LEAD_ID, {"first_name": "J"})
    assert info.value.status_code == 404
    client.create_lead(site, {"id": LEAD_ID, "source": "X", "first_name": "J"})
    with pytest.raises(leadrouter.HTTPError, match="activities must be a list"):
        client.add_activities(site, LEAD_ID, {"type": "note"})


def test_auth_and_site_errors(sb: RealGeeksSandbox) -> None:
    wrong = leadrouter.Client(sb.base_url, sb.username, "wrong")
    with pytest.raises(leadrouter.HTTPError, match="invalid credentials") as info:
        wrong.create_lead(sb.site_uuids[0], {"source": "X", "first_name": "J"})
    assert info.value.status_code == 401
    right = leadrouter.Client(sb.base_url, sb.username, sb.password)
    with pytest.raises(leadrouter.HTTPError, match="no access to site") as info:
        right.create_lead(sb.ungranted_site_uuid, {"source": "X", "first_name": "J"})
    assert info.value.status_code == 401


def test_non_json_fault_gives_a_generic_message(
    client: Any, sb: RealGeeksSandbox, sandbox: SandboxThread
) -> None:
    sandbox.call(lambda: sb.fail_next("503", "500"))
    with pytest.raises(leadrouter.HTTPError, match="503 Server Error") as info:
        client.create_lead(sb.site_uuids[0], {"source": "X", "first_name": "J"})
    assert info.value.status_code == 503
    with pytest.raises(leadrouter.HTTPError, match=r"internal server error \(injected"):
        client.create_lead(sb.site_uuids[0], {"source": "X", "first_name": "J"})


def test_connection_reset_gives_http_error_without_status(
    client: Any, sb: RealGeeksSandbox, sandbox: SandboxThread
) -> None:
    sandbox.call(lambda: sb.fail_next("reset"))
    with pytest.raises(leadrouter.HTTPError) as info:
        client.create_lead(sb.site_uuids[0], {"source": "X", "first_name": "J"})
    assert info.value.status_code is None
    assert sb.leads == {}
