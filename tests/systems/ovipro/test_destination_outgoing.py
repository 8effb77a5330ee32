"""``endpoint = "outgoing"``: ``POST /outgoingLeads`` for leads extracted from the same OviPro
sandbox, over real sockets, with the real push engine and DuckDB ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadkit.push.engine import EXIT_OK, EXIT_REJECTED
from tests.systems.ovipro.pushing import OviPush, ovi_push, when


@pytest.fixture
def ovi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OviPush]:
    with ovi_push(tmp_path, monkeypatch, leads=40) as env:
        yield env


def settings(env: OviPush, **extra: Any) -> dict[str, Any]:
    office = env.server.office_ids[0]
    return {"endpoint": "outgoing", "agency_office_id": office,
            "subject": "Muista hakea lainaa ajoissa", **extra}  # fmt: skip


def refs(env: OviPush, destination: str = "bank") -> Counter[str]:
    """leadkit lead key → how many outgoing leads the sandbox holds for it."""
    out: Counter[str] = Counter()
    prefix = f"ref: {destination}/"
    for item in env.sb.call(lambda: env.server.outgoing_leads()):
        for line in item["lead"]["additionalNote"].splitlines():
            if line.startswith(prefix):
                out[line.removeprefix(prefix)] += 1
    return out


def test_outgoing_leads_are_created_once_with_the_mapped_fields(ovi: OviPush) -> None:
    office = ovi.server.office_ids[0]
    agent = ovi.server.world.office(office).agents[1]
    cfg = ovi.config(bank=settings(ovi, agent_id=agent.agent_id, language_code="sv"))
    rows = {
        str(r["lead_id"]): r
        for r in ovi.warehouse.sql("SELECT * FROM ovipro_leads").iter_rows(named=True)
    }
    result = ovi.push(cfg, "bank", limit=12)
    assert result.exit_code == EXIT_OK
    assert result.counts == {"sent": 12}
    created = ovi.sb.call(lambda: list(ovi.server.created))
    assert {c.endpoint for c in created} == {"outgoing"}
    listed = {item["leadId"]: item for item in ovi.sb.call(lambda: ovi.server.outgoing_leads())}
    ledger = ovi.ledger("bank")
    assert len(ledger) == 12
    for lead_id, row in ledger.items():
        assert row["status"] == "sent"
        assert row["http_status"] == 201
        item = listed[row["remote_id"]]
        source = rows[lead_id]["lead"]
        assert item["customer"]["partyId"] == source["customer"]["party_id"]
        assert item["customer"]["firstName"] == (source["customer"]["first_name"] or "")
        assert item["sender"]["agencyOfficeId"] == office
        assert item["sender"]["agentId"] == agent.agent_id
        assert item["lead"]["subject"] == "Muista hakea lainaa ajoissa"
        assert item["lead"]["languageCode"] == "sv"
        assert item["lead"]["message"] == (source["message"] or "")
        note = item["lead"]["additionalNote"]
        assert f"ref: bank/ovipro:ovi:{lead_id}" in note.splitlines()
        if source["additional_note"]:
            assert note.startswith(source["additional_note"])
        if source["realty"]:
            assert f"realty: {source['realty']['friendly_id']}" in note
        assert "realty" not in item["lead"]  # an incoming lead's realty has no realtyId
    assert set(refs(ovi).values()) == {1}

    again = ovi.push(cfg, "bank", limit=12)
    assert again.requests == 0
    assert again.counts == {"skipped-duplicate": 12}
    changed = ovi.config(bank=settings(ovi, subject="Another subject"))
    assert ovi.push(changed, "bank", limit=12).counts == {"not-updatable": 12}
    assert len(ovi.sb.call(lambda: list(ovi.server.created))) == 12


def test_leads_without_an_ovipro_party_are_rejected_with_the_reason(ovi: OviPush) -> None:
    cfg = ovi.config(bank=settings(ovi))
    result = ovi.push(cfg, "bank", table="leads", limit=2)
    assert result.exit_code == EXIT_REJECTED
    assert result.counts == {"rejected": 2}
    assert result.requests == 0
    assert "push from --table ovipro_leads" in str(result.items[0].detail)


def test_an_unknown_party_is_rejected_with_ovipros_errors(ovi: OviPush) -> None:
    [lead_id] = ovi.ids("true")[:1]
    cfg = ovi.config(bank=settings(ovi))
    party = ovi.warehouse.sql(
        f"SELECT lead.customer.party_id AS p FROM ovipro_leads WHERE lead_id = '{lead_id}'"
    )["p"][0]
    ovi.sb.call(lambda: ovi.server.world.parties.pop(party))
    result = ovi.push(cfg, "bank", where=f"leadId={lead_id}")
    assert result.counts == {"rejected": 1}
    row = ovi.ledger("bank")[lead_id]
    assert row["http_status"] == 400
    assert row["error"] == f"customer.partyId: partyId={party!r} is not a customer"


def test_pending_outgoing_leads_are_looked_up_before_any_resend(ovi: OviPush) -> None:
    cfg = ovi.config(bank=settings(ovi))
    assert ovi.push(cfg, "bank", limit=8).counts == {"sent": 8}
    ledger = ovi.ledger("bank")
    pending = sorted(ledger)[:4]
    with ovi.warehouse.writing() as con:
        con.execute(
            "UPDATE _deliveries SET status = 'pending', delivered_hash = NULL, remote_id = NULL "
            "WHERE lead_id IN (SELECT unnest(?))",
            [pending],
        )
    lost = [ledger[i]["remote_id"] for i in pending[:2]]  # these never reached OviPro
    ovi.sb.call(lambda: ovi.server.delete_outgoing_leads(lost))
    result = ovi.push(cfg, "bank", limit=12)
    assert result.counts == {"sent": 8, "skipped-duplicate": 4}  # 2 found, 2 resent, 4 new
    assert len(refs(ovi)) == 12
    assert set(refs(ovi).values()) == {1}
    ledger = ovi.ledger("bank")
    assert {r["status"] for r in ledger.values()} == {"sent"}
    assert ledger[pending[2]]["error"] == "found at OviPro after an interrupted push"
    lookups = [r for r in ovi.requests("GET") if r.path.endswith("/outgoingLeads")]
    assert 1 <= len(lookups) <= 4  # one per customer of the pending leads
    office = ovi.server.office_ids[0]
    assert all(dict(r.query).get("agencyOfficeId") == office for r in lookups)
    assert all(dict(r.query).get("partyId") for r in lookups)
    assert len(ovi.sb.call(lambda: list(ovi.server.created))) == 8 + 2 + 4


def test_unclear_answers_are_looked_up_and_each_lead_is_created_once(ovi: OviPush) -> None:
    ovi.sb.call(
        lambda: ovi.server.configure(
            fault_rate=0.3, fault_kinds=("500", "502", "504", "reset", "503", "429"),
            retry_after_s=0, fault_on_tokens=False,
        )
    )  # fmt: skip
    cfg = ovi.config(bank=settings(ovi, max_retries=15, concurrency=3))
    result = ovi.push(cfg, "bank", limit=25)
    assert result.counts == {"sent": 25}, [i for i in result.items if i.status != "sent"]
    faults = Counter(r.fault for r in ovi.sb.call(lambda: list(ovi.server.requests)) if r.fault)
    assert faults["500"] + faults["502"] + faults["504"] + faults["reset"] > 0
    assert len(refs(ovi)) == 25
    assert set(refs(ovi).values()) == {1}
    assert any(r.path.endswith("/outgoingLeads") for r in ovi.requests("GET"))


def test_a_token_that_expires_mid_push_is_renewed(ovi: OviPush) -> None:
    cfg = ovi.config(bank=settings(ovi, concurrency=2))
    tokens = ovi.sb.call(lambda: ovi.server.token_requests)
    ovi.sb.call(lambda: ovi.server.configure(latency_s=0.02))

    def posted() -> bool:
        return len(ovi.requests("POST")) - tokens >= 3

    with when(posted, lambda: ovi.sb.call(ovi.server.expire_tokens)):
        result = ovi.push(cfg, "bank", limit=15)
    assert result.counts == {"sent": 15}
    assert any(r.status == 401 for r in ovi.sb.call(lambda: list(ovi.server.requests)))
    assert ovi.sb.call(lambda: ovi.server.token_requests) == tokens + 2
    assert set(refs(ovi).values()) == {1}
    assert len(refs(ovi)) == 15


def test_a_dry_run_sends_nothing(ovi: OviPush) -> None:
    cfg = ovi.config(bank=settings(ovi))
    result = ovi.push(cfg, "bank", limit=5, dry_run=True)
    assert result.counts == {"would-send": 5}
    assert result.requests == 0
    payload = result.items[0].payload
    assert payload is not None
    assert set(payload) == {"lead", "customer", "sender"}
    assert ovi.sb.call(lambda: list(ovi.server.created)) == []
    assert ovi.ledger("bank") == {}
