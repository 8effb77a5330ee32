"""``endpoint = "status"``: ``PUT /leads/{leadId}`` for leads extracted from the same OviPro
sandbox, over real sockets, with the real push engine and DuckDB ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadkit.errors import ConfigError
from leadkit.push.engine import EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from tests.systems.ovipro.pushing import OviPush, ovi_push, when

OFFICE = "0b5f8b4e-3a5c-4c1e-9d51-2b1b1c6f9a11"


@pytest.fixture
def ovi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OviPush]:
    with ovi_push(tmp_path, monkeypatch) as env:
        yield env


def puts(env: OviPush) -> list[str]:
    """Lead ids of the PUTs the sandbox answered 200."""
    return [r.path.rsplit("/", 1)[-1] for r in env.requests("PUT") if r.status == 200]


def test_a_status_push_sets_the_status_once_and_a_new_target_is_an_update(ovi: OviPush) -> None:
    new = ovi.ids("lead_status_code = 'NEW'")
    assert len(new) >= 3
    before = {i: ovi.sb.call(lambda i=i: ovi.server.lead(i)) for i in new}
    cfg = ovi.config(progress={"endpoint": "status", "status_code": "IN_PROGRESS"})
    first = ovi.push(cfg, "progress", where="leadStatusCode=NEW")
    assert first.exit_code == EXIT_OK
    assert first.counts == {"sent": len(new)}
    assert {ovi.status(i) for i in new} == {"IN_PROGRESS"}
    assert sorted(puts(ovi)) == new
    ledger = ovi.ledger("progress")
    assert {r["status"] for r in ledger.values()} == {"sent"}
    assert {i: r["remote_id"] for i, r in ledger.items()} == {i: i for i in new}
    assert all(r["http_status"] == 200 for r in ledger.values())
    assert {r["error"] for r in ledger.values()} == {"NEW → IN_PROGRESS"}
    # Every field the change does not name keeps its value (the PUT carries the current ones).
    for lead_id, old in before.items():
        now = ovi.sb.call(lambda i=lead_id: ovi.server.lead(i))
        assert now["lead"] == old["lead"]
        assert now["leadActionCodes"] == old["leadActionCodes"]

    again = ovi.push(cfg, "progress", where="leadStatusCode=NEW")
    assert again.requests == 0
    assert again.counts == {"skipped-duplicate": len(new)}

    agent = ovi.server.world.office(before[new[0]]["lead"]["agencyOfficeId"]).agents[0].agent_id
    approve = ovi.config(
        progress={"endpoint": "status", "status_code": "APPROVED",
                  "lead_action_codes": ["CALLED"], "agent_id": agent}
    )  # fmt: skip
    updated = ovi.push(approve, "progress", where="leadStatusCode=NEW", limit=2)
    assert updated.counts == {"updated": 2}
    for lead_id in new[:2]:
        lead = ovi.sb.call(lambda i=lead_id: ovi.server.lead(i))
        assert lead["leadStatusCode"] == "APPROVED"
        assert "decisionTime" in lead
        assert lead["lead"]["agentId"] == agent
        assert "CALLED" in lead["leadActionCodes"]
    assert ovi.status(new[2]) == "IN_PROGRESS"
    ledger = ovi.ledger("progress")
    assert ledger[new[0]]["status"] == "sent"
    assert ledger[new[0]]["attempts"] == 2


def test_an_illegal_transition_and_an_unknown_lead_are_rejected_with_ovipros_text(
    ovi: OviPush,
) -> None:
    approved = ovi.ids("lead_status_code = 'APPROVED'")[:3]
    gone = ovi.ids("lead_status_code = 'NEW'")[:1]
    ovi.sb.call(lambda: ovi.server.delete_leads(gone))
    cfg = ovi.config(back={"endpoint": "status", "status_code": "IN_PROGRESS"})
    where = "leadId[]=" + "&leadId[]=".join(approved + gone)
    result = ovi.push(cfg, "back", where=where)
    assert result.exit_code == EXIT_REJECTED
    assert result.counts == {"rejected": 4}
    ledger = ovi.ledger("back")
    for lead_id in approved:
        row = ledger[lead_id]
        assert row["status"] == "rejected"
        assert row["http_status"] == 400
        assert row["error"] == (
            "INVALID_STATUS: leadStatusCode cannot change from 'APPROVED' to 'IN_PROGRESS'; "
            "APPROVED is final"
        )
        assert '"errorCode":"INVALID_STATUS"' in row["response"]
        assert ovi.status(lead_id) == "APPROVED"
    assert ledger[gone[0]]["status"] == "rejected"
    assert ledger[gone[0]]["error"].startswith(f"INVALID_ID: OviPro has no lead {gone[0]}")
    # a rejected change is not tried again until the target changes
    again = ovi.push(cfg, "back", where=where)
    assert again.counts == {"skipped-rejected": 4}
    assert again.requests == 0


def test_an_unknown_id_answered_404_by_the_put_is_rejected(ovi: OviPush) -> None:
    """The lead vanishes between the read and the PUT: OviPro's 404 INVALID_ID decides."""
    [lead_id] = ovi.ids("lead_status_code = 'NEW'")[:1]
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED"})
    ovi.sb.call(lambda: ovi.server.configure(latency_s=0.2))
    reads = len(ovi.requests("GET"))

    def read_done() -> bool:
        return len(ovi.requests("GET")) > reads

    with when(read_done, lambda: ovi.sb.call(lambda: ovi.server.delete_leads([lead_id]))):
        result = ovi.push(cfg, "approve", where=f"leadId={lead_id}")
    assert result.counts == {"rejected": 1}
    row = ovi.ledger("approve")[lead_id]
    assert row["http_status"] == 404
    assert row["error"] == f"INVALID_ID: no lead with leadId={lead_id!r}"


def test_a_lead_already_at_the_target_is_not_written(ovi: OviPush) -> None:
    approved = ovi.ids("lead_status_code = 'APPROVED'")[:2]
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED"})
    result = ovi.push(cfg, "approve", where="leadId[]=" + "&leadId[]=".join(approved))
    assert result.counts == {"sent": 2}
    assert puts(ovi) == []
    assert {i.detail for i in result.items} == {"already APPROVED at OviPro"}


def test_429_and_5xx_are_retried_and_every_status_is_set(ovi: OviPush) -> None:
    new = ovi.ids("lead_status_code IN ('NEW', 'IN_PROGRESS')")
    ovi.sb.call(
        lambda: ovi.server.configure(
            fault_rate=0.35, fault_kinds=("429", "500", "503", "502", "reset"),
            retry_after_s=0, fault_on_tokens=False,
        )
    )  # fmt: skip
    cfg = ovi.config(
        reject={"endpoint": "status", "status_code": "REJECTED", "max_retries": 15,
                "concurrency": 3}
    )  # fmt: skip
    result = ovi.push(cfg, "reject", where="leadStatusCode[]=NEW&leadStatusCode[]=IN_PROGRESS")
    assert result.exit_code == EXIT_OK, [i for i in result.items if i.status != "sent"]
    assert result.counts == {"sent": len(new)}
    assert result.retries > 0
    faults = Counter(r.fault for r in ovi.sb.call(lambda: list(ovi.server.requests)) if r.fault)
    assert sum(faults.values()) >= 3
    assert {ovi.status(i) for i in new} == {"REJECTED"}
    request_ids = ovi.sb.call(lambda: list(ovi.server.request_ids))
    assert len(request_ids) == len(set(request_ids))  # a fresh Request-ID on every attempt


def test_faults_that_outlive_the_retries_fail_and_the_next_push_sends(ovi: OviPush) -> None:
    [lead_id] = ovi.ids("lead_status_code = 'NEW'")[:1]
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED",
                              "max_retries": 1})  # fmt: skip
    ovi.sb.call(lambda: ovi.server.configure(fault_rate=1.0, fault_kinds=("503",)))
    failed = ovi.push(cfg, "approve", where=f"leadId={lead_id}")
    assert failed.exit_code == EXIT_FAILED
    assert failed.counts == {"failed": 1}
    assert ovi.ledger("approve")[lead_id]["status"] == "failed"
    ovi.sb.call(lambda: ovi.server.configure(fault_rate=0.0))
    assert ovi.push(cfg, "approve", where=f"leadId={lead_id}").counts == {"sent": 1}
    assert ovi.status(lead_id) == "APPROVED"


def test_a_dry_run_reads_but_never_writes(ovi: OviPush) -> None:
    new = ovi.ids("lead_status_code = 'NEW'")
    approved = ovi.ids("lead_status_code = 'APPROVED'")[:1]
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED"})
    where = "leadId[]=" + "&leadId[]=".join(new + approved)
    result = ovi.push(cfg, "approve", where=where, dry_run=True)
    assert result.counts == {"would-send": len(new) + 1}
    details = Counter(i.detail for i in result.items)
    assert details == {
        "NEW → APPROVED": len(new),
        "already APPROVED at OviPro; nothing to change": 1,
    }
    assert result.items[0].payload == {"leadId": result.items[0].lead_key.split(":")[-1],
                                       "leadStatusCode": "APPROVED"}  # fmt: skip
    assert ovi.requests("PUT") == []
    assert {ovi.status(i) for i in new} == {"NEW"}
    assert ovi.ledger("approve") == {}


def test_a_token_that_expires_mid_push_is_renewed_once(ovi: OviPush) -> None:
    new = ovi.ids("lead_status_code IN ('NEW', 'IN_PROGRESS')")
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED",
                              "concurrency": 2})  # fmt: skip
    tokens = ovi.sb.call(lambda: ovi.server.token_requests)
    ovi.sb.call(lambda: ovi.server.configure(latency_s=0.02))
    with when(lambda: len(puts(ovi)) >= 3, lambda: ovi.sb.call(ovi.server.expire_tokens)):
        result = ovi.push(cfg, "approve", where="leadStatusCode[]=NEW&leadStatusCode[]=IN_PROGRESS")
    assert result.counts == {"sent": len(new)}
    assert {ovi.status(i) for i in new} == {"APPROVED"}
    assert any(r.status == 401 for r in ovi.sb.call(lambda: list(ovi.server.requests)))
    assert ovi.sb.call(lambda: ovi.server.token_requests) == tokens + 2


def test_a_pending_status_change_is_sent_again_safely(ovi: OviPush) -> None:
    """PUT is idempotent: a lead a killed push left pending is simply resent; its read
    shows whether the first PUT arrived."""
    new = ovi.ids("lead_status_code = 'NEW'")[:2]
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED"})
    where = "leadId[]=" + "&leadId[]=".join(new)
    assert ovi.push(cfg, "approve", where=where).counts == {"sent": 2}
    with ovi.warehouse.writing() as con:
        con.execute("UPDATE _deliveries SET status = 'pending', delivered_hash = NULL")
    result = ovi.push(cfg, "approve", where=where)
    assert result.counts == {"sent": 2}
    assert {i.detail for i in result.items} == {"already APPROVED at OviPro"}
    assert len(puts(ovi)) == 2


def test_other_systems_and_outgoing_leads_are_rejected_before_any_request(
    ovi: OviPush,
) -> None:
    cfg = ovi.config(approve={"endpoint": "status", "status_code": "APPROVED"})
    result = ovi.push(cfg, "approve", table="leads", where="system=ovipro", limit=3)
    assert set(result.counts) <= {"sent", "updated"}  # the leads view works too
    ovi.sb.call(lambda: ovi.server.add_outgoing_leads(2))
    ovi.extract(outgoing=True)
    result = ovi.push(cfg, "approve", table="ovipro_outgoing_leads")
    assert result.counts == {"rejected": 2}
    assert "outgoing lead" in str(result.items[0].detail)
    assert result.requests == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"endpoint": "status"}, "bad.status_code: is required with endpoint = 'status'"),
        ({"status_code": "APPROVED", "agency_office_id": OFFICE},
         "bad.status_code: is only used with endpoint = 'status', but endpoint is 'leads'; set "
         "endpoint = 'status' or remove status_code (got 'APPROVED')"),
        ({"endpoint": "status", "status_code": "DONE"}, "bad.status_code: Input should be 'NEW'"),
        ({"endpoint": "status", "status_code": "NEW", "agency_office_id": OFFICE},
         "bad.agency_office_id: is not used with endpoint = 'status'"),
        ({"endpoint": "status", "status_code": "NEW", "agent_id": "Bob"},
         "bad.agent_id: must be a lowercase uuid"),
        ({"endpoint": "outgoing", "agency_office_id": OFFICE},
         "bad.subject: is required with endpoint = 'outgoing'"),
        ({"endpoint": "outgoing", "subject": "Laina"},
         "bad.agency_office_id: is required with endpoint = 'outgoing' (the sending office)"),
    ],
)  # fmt: skip
def test_settings_errors_are_clear_and_never_show_the_password(
    ovi: OviPush, settings: dict[str, str], message: str
) -> None:
    secret = "hunter2-not-shown"
    with pytest.raises(ConfigError) as info:
        ovi.config(bad={**settings, "_password": secret})
    assert message in str(info.value)
    assert secret not in str(info.value)
