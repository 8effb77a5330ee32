"""The engine driving the dialler and Real Geeks destinations against their sandboxes:
exactly once, test-mode dry runs, cancel, updates, pending resends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leadkit.push.engine import EXIT_OK, EXIT_REJECTED, run_push
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from tests.push.conftest import LEADS, PushEnv

dialler = pytest.importorskip("leadkit.systems.dialler.sandbox")
realgeeks = pytest.importorskip("leadkit.systems.realgeeks.sandbox")

Start = Callable[..., SandboxThread]


def _starter(build: Callable[..., Any]) -> Iterator[Start]:
    started: list[SandboxThread] = []

    def start(**knobs: Any) -> SandboxThread:
        sb = SandboxThread(lambda: build(**knobs))
        sb.__enter__()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.__exit__(None, None, None)


@pytest.fixture
def start_dialler() -> Iterator[Start]:
    yield from _starter(
        lambda **k: dialler.DiallerSandbox(dialler.DiallerSandboxConfig(clock_speed=0, **k))
    )


@pytest.fixture
def start_realgeeks() -> Iterator[Start]:
    yield from _starter(
        lambda **k: realgeeks.RealGeeksSandbox(realgeeks.RealGeeksSandboxConfig(**k))
    )


def queued(sb: SandboxThread) -> Counter[str]:
    return Counter(s.mobile for s in sb.call(lambda: sb.server.saved) if s.state == "queued")


def adds(sb: SandboxThread) -> int:
    return sum(1 for r in sb.call(lambda: sb.server.received) if r.path.endswith("/lead/add"))


def test_dialler_queues_each_valid_mobile_once_and_rejects_the_rest(
    env: PushEnv, start_dialler: Start
) -> None:
    sb = start_dialler()
    cfg = env.config(calls=(sb, {"concurrency": 8}))
    dry = run_push(cfg, "calls", dry_run=True, handle_signals=False)
    assert sb.call(lambda: len(sb.server.saved)) == 0  # the API's test mode saves nothing
    assert adds(sb) == dry.counts.get("would-send", 0) > 0
    result = run_push(cfg, "calls", handle_signals=False)
    sent = result.counts.get("sent", 0)
    assert result.exit_code in (EXIT_OK, EXIT_REJECTED)
    # test mode cannot see repeat mobiles ("Another call is already scheduled")
    assert sent + result.counts.get("skipped-duplicate", 0) == dry.counts["would-send"]
    assert sum(result.counts.values()) == LEADS
    calls = queued(sb)
    states = Counter(s.state for s in sb.call(lambda: sb.server.saved))
    assert sum(calls.values()) == sent, (states, result.counts)  # one call per sent lead …
    rows = deliveries(env.warehouse, limit=None)
    assert set(rows["status"]) <= {"sent", "rejected", "skipped-duplicate"}
    before = adds(sb)
    again = run_push(cfg, "calls", handle_signals=False)
    assert adds(sb) == before  # … and a repeat sends nothing
    assert again.counts.get("sent", 0) == 0


def test_dialler_pending_resend_counts_as_delivered_and_cancel_withdraws(
    env: PushEnv, start_dialler: Start
) -> None:
    sb = start_dialler()
    cfg = env.config(calls=(sb, {}))
    first = run_push(cfg, "calls", where="status=passed", handle_signals=False)
    sent = first.counts["sent"]
    keys = deliveries(env.warehouse, status="sent", limit=3)["lead_key"].to_list()
    with env.warehouse.writing() as con:
        con.execute(
            "UPDATE _deliveries SET status = 'pending', delivered_hash = NULL "
            "WHERE lead_key IN (SELECT unnest(?))",
            [keys],
        )
    again = run_push(cfg, "calls", where="status=passed", handle_signals=False)
    # The three pending leads are resent; the dialler answers "Existing Contact" (or
    # "Another call is already scheduled"), which for a resend means the earlier attempt
    # queued the call: 'sent' (dialler spec Q6, docs/dialler.md), never a second call.
    assert again.counts.get("sent", 0) == 3
    assert again.requests == 3
    assert set(
        deliveries(env.warehouse, limit=None).filter(
            deliveries(env.warehouse, limit=None)["lead_key"].is_in(keys)
        )["status"]
    ) == {"sent"}
    assert sum(queued(sb).values()) == sent  # no second call queued
    cancel = run_push(cfg, "calls", where="status=passed", cancel=True, handle_signals=False)
    assert cancel.counts.get("cancelled") == sent
    assert sum(queued(sb).values()) == 0
    assert set(deliveries(env.warehouse, status="cancelled", limit=None)["lead_key"]) >= set(keys)


def test_realgeeks_creates_once_then_updates_a_changed_lead(
    env: PushEnv, start_realgeeks: Start
) -> None:
    sb = start_realgeeks()
    cfg = env.config(crm=(sb, {"phone_region": "GB", "concurrency": 8}))
    first = run_push(cfg, "crm", handle_signals=False)
    sent = first.counts.get("sent", 0)
    assert sent > 0
    site = sb.server.site_uuids[0]
    stored = sb.call(lambda: dict(sb.server.leads.get(site, {})))
    assert len(stored) == sent
    again = run_push(cfg, "crm", handle_signals=False)
    assert again.requests == 0
    with env.warehouse.writing() as con:
        lead = con.execute(
            "SELECT lead_key FROM _deliveries WHERE status = 'sent' ORDER BY lead_key LIMIT 1"
        ).fetchall()[0][0]
        con.execute(
            "UPDATE kpro_leads SET first_name = 'Changed' WHERE CAST(id AS VARCHAR) = ?",
            [lead.rsplit(":", 1)[1]],
        )
    changed = run_push(cfg, "crm", handle_signals=False)
    assert changed.counts.get("updated") == 1
    assert any(r.method == "PATCH" for r in sb.call(lambda: sb.server.requests))
    assert len(sb.call(lambda: dict(sb.server.leads.get(site, {})))) == sent
    # issue 7: the ledger's statuses are sent/rejected/failed/skipped-duplicate/cancelled;
    # an accepted update is 'sent' (with the new payload as the delivered one).
    ledger = deliveries(env.warehouse, limit=None)
    assert set(ledger["status"]) <= {"sent", "rejected", "failed", "skipped-duplicate"}
    row = ledger.filter(ledger["lead_key"] == lead).row(0, named=True)
    assert row["status"] == "sent"
    assert row["delivered_hash"] == row["payload_hash"]
    assert row["attempts"] == 2
