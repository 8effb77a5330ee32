"""Pushing from system tables (``--table ovipro_leads`` / ``carehome_leads``), not only the
``leads`` view: the rows keep the API's own shape, so the destinations must still find the
contact fields (issue 7: "--table leads" or a system table)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.push.engine import run_push
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from tests.e2e.conftest import carehome_block, ovipro_block, start_carehome
from tests.push.conftest import PushEnv

realgeeks = pytest.importorskip("leadkit.systems.realgeeks.sandbox")

__all__ = ["start_carehome"]

Start = Callable[..., SandboxThread]


def _extract(env: PushEnv, block: str) -> None:
    """Add a source block to the test's leadkit.toml and extract it into the warehouse."""
    text = env.config_path.read_text() + "\n" + block
    env.config_path.write_text(text)
    result = run_extract(load_config(env.config_path), handle_signals=False)
    assert result.exit_code == 0, result


def test_kpro_import_from_ovipro_leads_finds_the_customer_fields(
    env: PushEnv, start_ovipro: Start, kpro_dest: Callable[..., SandboxThread]
) -> None:
    source = start_ovipro(leads=30, outgoing_leads=0, seed=5)
    dest = kpro_dest()
    env.config(kp=(dest, {"batch_size": 10}))
    _extract(env, ovipro_block("ovi", source, {}, env.monkeypatch))
    with env.warehouse.reading() as con:
        emails = {
            str(r[0]): r[1]
            for r in con.execute(
                "SELECT lead_id, lead.customer.email_address FROM ovipro_leads"
            ).fetchall()
        }
    result = run_push(load_config(env.config_path), "kp", table="ovipro_leads",
                      handle_signals=False)  # fmt: skip
    with_email = {k for k, e in emails.items() if e}
    assert with_email, "the sandbox generated no e-mail addresses"
    assert result.counts.get("sent") == len(with_email), result.counts
    imported = {i.payload["email"].lower() for i in dest.call(lambda: list(dest.server.imported))}
    assert imported == {emails[k].lower() for k in with_email}
    ledger = deliveries(env.warehouse, destination="kp", limit=None)
    assert set(ledger["status"]) <= {"sent", "rejected"}


def test_realgeeks_from_carehome_leads_sends_names_email_and_phone(
    env: PushEnv, start_carehome: Start
) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    source = start_carehome(leads=25, seed=3, start=start, days=2, quirk_rate=0,
                            anonymised_rate=0)  # fmt: skip
    dest = SandboxThread(lambda: realgeeks.RealGeeksSandbox())
    with dest:
        env.config(crm=(dest, {"phone_region": "GB"}))
        block = carehome_block("ch", source, {"start": start.date().isoformat()}, env.monkeypatch)
        _extract(env, block)
        result = run_push(load_config(env.config_path), "crm", table="carehome_leads",
                          handle_signals=False)  # fmt: skip
        assert result.counts.get("sent", 0) >= 20, result.counts
        site = dest.server.site_uuids[0]
        stored = dest.call(lambda: list(dest.server.leads.get(site, {}).values()))
    assert len(stored) == result.counts["sent"]
    assert all(lead.get("email") and lead.get("first_name") for lead in stored)
    assert sum(1 for lead in stored if lead.get("phone")) >= 15
