"""Pushing to OviPro against the OviPro sandbox: creates, look-ups instead of blind retries,
marketplace bodies, 400s, credentials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from leadkit.push.engine import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, run_push
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from tests.push.conftest import LEADS, PushEnv

StartOvi = Callable[..., SandboxThread]


def start(start_ovipro: StartOvi, **knobs: Any) -> SandboxThread:
    return start_ovipro(leads=5, outgoing_leads=0, seed=2, **knobs)


def created_keys(sb: SandboxThread) -> Counter[str]:
    """leadkit lead key → how many leads the sandbox created with it."""
    out: Counter[str] = Counter()
    for c in sb.call(lambda: list(sb.server.created)):
        for ident in c.body["lead"].get("supplierAssignedIdentifiers", []):
            if ident["schemeId"] == "leadkit":
                out[ident["supplierAssignedId"]] += 1
    return out


def stored_keys(sb: SandboxThread) -> Counter[str]:
    out: Counter[str] = Counter()
    for item in sb.call(lambda: sb.server.leads()):
        for ident in item["lead"]["supplierAssignedIdentifiers"]:
            if ident["schemeId"] == "leadkit":
                out[ident["supplierAssignedId"]] += 1
    return out


def test_push_creates_each_lead_once_with_leadkit_id_and_mapped_fields(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    sb = start(start_ovipro)
    cfg = env.config(ovi=(sb, {"phone_region": "GB", "concurrency": 8, "tags": ["leadkit"]}))
    result = run_push(cfg, "ovi", handle_signals=False)
    sent = result.counts.get("sent", 0)
    assert sent + result.counts.get("rejected", 0) == LEADS
    assert result.exit_code in (EXIT_OK, EXIT_REJECTED)
    keys = created_keys(sb)
    assert len(keys) == sent
    assert set(keys.values()) == {1}
    rows = {r["lead_key"]: r for r in deliveries(env.warehouse, limit=None).iter_rows(named=True)}
    for key, row in rows.items():
        if row["status"] == "rejected":
            assert "phone" in row["error"]
            assert "is not a valid" in row["error"]
            assert key not in keys
    leads = {
        f"kpro:{r['source']}:{r['lead_id']}": r
        for r in env.warehouse.sql("SELECT * FROM leads").iter_rows(named=True)
    }
    bodies = {
        c.body["lead"]["supplierAssignedIdentifiers"][0]["supplierAssignedId"]: (c, c.body["lead"])
        for c in sb.call(lambda: list(sb.server.created))
    }
    office = sb.server.office_ids[0]
    for key, (record, body) in bodies.items():
        row = leads[key]
        assert rows[key]["remote_id"] == record.lead_id
        assert body["agencyOfficeId"] == office
        assert body["leadTypeCode"] == "BUYER_REFERRAL"
        assert body["leadSourceTypeCode"] == "OTHER"
        assert body["tags"] == ["leadkit"]
        customer = body["customer"]
        assert customer.get("firstName") == row["first_name"]
        assert customer.get("lastName") == row["last_name"]
        assert customer["emailAddress"].lower() == row["email"].lower()
        if row["phone"]:
            assert customer["phoneNumber"].startswith("+44")
        assert body["message"] == (row["message"] or "").strip()
        assert f"origin: {key}" in body["additionalNote"]
        assert f"status: {row['status']}" in body["additionalNote"]
        assert record.request_id is not None
    again = run_push(cfg, "ovi", handle_signals=False)
    assert again.requests == 0
    assert again.counts == {"skipped-duplicate": sent, "skipped-rejected": LEADS - sent}


def test_marketplace_endpoint_nests_the_office(env: PushEnv, start_ovipro: StartOvi) -> None:
    sb = start(start_ovipro)
    cfg = env.config(
        ovi=(sb, {"phone_region": "GB", "endpoint": "marketplace", "marketplace_code": "ETUOVI"})
    )
    result = run_push(cfg, "ovi", where="phone.null=true", limit=5, handle_signals=False)
    assert result.counts == {"sent": 5}
    created = sb.call(lambda: list(sb.server.created))
    assert {c.endpoint for c in created} == {"marketplace"}
    assert {c.marketplace for c in created} == {"ETUOVI"}
    lead = created[0].body["lead"]
    assert lead["agencyOffice"] == {"agencyOfficeId": sb.server.office_ids[0]}
    assert "agencyOfficeId" not in lead
    assert "leadSourceTypeCode" not in lead


def test_pending_leads_are_looked_up_before_any_resend(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    sb = start(start_ovipro)
    cfg = env.config(ovi=(sb, {"phone_region": "GB"}))
    where = "phone.null=true"
    assert run_push(cfg, "ovi", where=where, limit=10, handle_signals=False).counts == {"sent": 10}
    rows = deliveries(env.warehouse, limit=None).sort("lead_key")
    pending = rows["lead_key"].to_list()[:4]
    # as a push killed mid-request leaves them: pending, outcome unknown
    with env.warehouse.writing() as con:
        con.execute(
            "UPDATE _deliveries SET status = 'pending', delivered_hash = NULL, remote_id = NULL "
            "WHERE lead_key IN (SELECT unnest(?))",
            [pending],
        )
    # two of the four never reached OviPro
    lost = rows.filter(rows["lead_key"].is_in(pending[:2]))["remote_id"].to_list()
    sb.call(lambda: sb.server.delete_leads(lost))
    result = run_push(cfg, "ovi", where=where, limit=15, handle_signals=False)
    assert result.counts == {"sent": 9, "skipped-duplicate": 6}  # 2 found, 2 resent, 5 new
    assert stored_keys(sb) == dict.fromkeys(stored_keys(sb), 1)
    assert len(stored_keys(sb)) == 15
    assert set(deliveries(env.warehouse, limit=None)["status"]) == {"sent"}


def test_faults_are_retried_or_looked_up_and_each_lead_is_created_once(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    sb = start(start_ovipro, fault_rate=0.3, fault_kinds=("503", "429", "500", "reset"),
               retry_after_s=0)  # fmt: skip
    cfg = env.config(ovi=(sb, {"phone_region": "GB", "max_retries": 10, "concurrency": 4}))
    result = run_push(cfg, "ovi", where="phone.null=true", limit=30, handle_signals=False)
    assert result.counts == {"sent": 30}, [i for i in result.items if i.status != "sent"]
    assert result.retries > 0
    faults = Counter(r.fault for r in sb.call(lambda: sb.server.requests) if r.fault)
    assert faults["reset"] + faults["500"] > 0
    keys = created_keys(sb)
    assert len(keys) == 30
    assert set(keys.values()) == {1}


def test_a_gateway_502_or_504_is_looked_up_before_a_retry(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    """Q15: behind a gateway, 502/504 may come after OviPro created the lead."""
    sb = start(start_ovipro, fault_rate=0.3, fault_kinds=("502", "504"), fault_on_tokens=False)
    cfg = env.config(ovi=(sb, {"phone_region": "GB", "max_retries": 20, "concurrency": 2}))
    result = run_push(cfg, "ovi", where="phone.null=true", limit=20, handle_signals=False)
    assert result.counts == {"sent": 20}, [i for i in result.items if i.status != "sent"]
    requests = sb.call(lambda: list(sb.server.requests))
    gateway = [i for i, r in enumerate(requests) if r.method == "POST" and r.fault]
    assert gateway
    # After each failed create the next request of the push is a look-up, not a re-POST.
    lookups = [r for r in requests if r.method == "GET" and r.path.endswith("/leads")]
    assert len(lookups) >= 1
    keys = created_keys(sb)
    assert len(keys) == 20
    assert set(keys.values()) == {1}


def test_ovipro_400_is_a_rejection_with_its_errors(env: PushEnv, start_ovipro: StartOvi) -> None:
    sb = start(start_ovipro)
    stranger = "0b5f8b4e-3a5c-4c1e-9d51-2b1b1c6f9a11"
    cfg = env.config(ovi=(sb, {"phone_region": "GB", "agency_office_id": stranger}))
    result = run_push(cfg, "ovi", where="phone.null=true", limit=2, handle_signals=False)
    assert result.exit_code == EXIT_REJECTED
    assert result.counts == {"rejected": 2}
    assert result.items[0].http_status == 400
    assert result.items[0].detail == (
        f"lead.agencyOfficeId: lead.agencyOfficeId='{stranger}' is not an agency office"
    )


def test_wrong_password_stops_the_push_without_leaking_it(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    sb = start(start_ovipro)
    cfg = env.config(ovi=(sb, {"_password": "not-the-password-123", "phone_region": "GB"}))
    result = run_push(cfg, "ovi", where="phone.null=true", limit=10, handle_signals=False)
    assert result.exit_code == EXIT_FAILED
    assert result.error is not None
    assert "rejected the login" in result.error
    assert "not-the-password-123" not in env.warehouse.sql("SELECT * FROM _deliveries").write_csv()
    assert sb.call(lambda: len(sb.server.created)) == 0


def test_a_wrong_leads_path_fails_the_leads_instead_of_rejecting_them(
    env: PushEnv, start_ovipro: StartOvi
) -> None:
    """A 404 NOT_FOUND (misconfigured path) says nothing about the lead: 'failed', so the
    next push — with the path fixed — sends it (a 'rejected' lead would be skipped)."""
    sb = start(start_ovipro)
    wrong = env.config(ovi=(sb, {"phone_region": "GB", "leads_path": "/no-such-leads"}))
    first = run_push(wrong, "ovi", where="phone.null=true", limit=3, handle_signals=False)
    assert first.exit_code == EXIT_FAILED
    assert first.counts == {"failed": 3}
    assert {i.http_status for i in first.items} == {404}
    assert set(deliveries(env.warehouse, limit=None)["status"]) == {"failed"}
    fixed = env.config(ovi=(sb, {"phone_region": "GB"}))
    second = run_push(fixed, "ovi", where="phone.null=true", limit=3, handle_signals=False)
    assert second.counts == {"sent": 3}
    assert sum(created_keys(sb).values()) == 3
