"""The engine pushing to Real Geeks: potential-seller leads from system tables, and notes
added on update only when their text changed. Real DuckDB, the sandbox on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leadkit.cli.sandboxes import _realgeeks_toml
from leadkit.config import LeadkitConfig, load_config
from leadkit.push.engine import EXIT_OK, EXIT_REJECTED, run_push
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from leadkit.systems.realgeeks.destination import parse_remote
from leadkit.systems.realgeeks.payload import CONTACT_FIELDS
from tests.e2e.conftest import ovipro_block
from tests.push.conftest import LEADS, PushEnv
from tests.push.test_system_tables import _extract

realgeeks = pytest.importorskip("leadkit.systems.realgeeks.sandbox")

Start = Callable[..., SandboxThread]

#: kpro_leads → Property: the development's address (or the listing's development's).
KPRO_PROPERTY = (
    'property_fields = { street_address = ["development.street", '
    '"listing.development.street"], city = ["development.town", "listing.development.town"], '
    'zip = ["development.postcode", "listing.development.postcode"], '
    'beds = "property.bedrooms" }\n'
)


@pytest.fixture
def rg() -> Iterator[SandboxThread]:
    """A Real Geeks sandbox in its own thread."""
    config = realgeeks.RealGeeksSandboxConfig(retry_after_s=0)
    with SandboxThread(lambda: realgeeks.RealGeeksSandbox(config)) as sb:
        yield sb


def sellers_config(env: PushEnv, rg: SandboxThread) -> LeadkitConfig:
    """``[destinations.sellers]``: potential sellers with :data:`KPRO_PROPERTY`."""
    env.config(sellers=(rg, {"lead_source": "Homes"}))  # writes the connection lines
    text = env.config_path.read_text() + 'lead_kind = "potential_seller"\n' + KPRO_PROPERTY
    env.config_path.write_text(text)
    return load_config(env.config_path)


def received(rg: SandboxThread) -> list[Any]:
    return rg.call(lambda: list(rg.server.received))


def stored_leads(rg: SandboxThread) -> dict[str, dict[str, Any]]:
    site = rg.server.site_uuids[0]
    return rg.call(lambda: {k: dict(v) for k, v in rg.server.leads.get(site, {}).items()})


def test_potential_sellers_from_kpro_leads(env: PushEnv, rg: SandboxThread) -> None:
    cfg = sellers_config(env, rg)
    with env.warehouse.reading() as con:
        (located,) = con.execute(
            "SELECT count(*) FROM kpro_leads WHERE nullif(trim(coalesce("
            "development.street, listing.development.street)), '') IS NOT NULL"
        ).fetchone() or (0,)
    assert 0 < located < LEADS

    dry = run_push(cfg, "sellers", table="kpro_leads", dry_run=True, handle_signals=False)
    assert dry.counts == {"would-send": located, "rejected": LEADS - located}
    assert rg.call(lambda: list(rg.server.requests)) == []  # a dry run sends nothing
    assert deliveries(env.warehouse, destination="sellers", limit=None).is_empty()

    first = run_push(cfg, "sellers", table="kpro_leads", handle_signals=False)
    assert first.exit_code == EXIT_REJECTED
    assert first.counts == {"sent": located, "rejected": LEADS - located}
    assert first.requests == located  # nothing sent for the rejected rows
    bodies = [r.body for r in received(rg)]
    assert {r.path.rsplit("/", 1)[1] for r in received(rg)} == {"potential-seller-leads"}
    assert {tuple(sorted(b)) for b in bodies} == {("activities", "created", "id")}
    leads = stored_leads(rg)
    assert len(leads) == located
    for lead in leads.values():
        assert lead["role"] == "Potential Seller"
        assert not [f for f in CONTACT_FIELDS if f in lead]
        (viewed,) = lead["activities"]
        assert viewed["type"] == "property_viewed"
        assert viewed["source"] == "Homes"
        assert viewed["property"]["street_address"]
    with env.warehouse.reading() as con:
        emails = [
            r[0] for r in con.execute("SELECT email FROM kpro_leads WHERE email <> ''").fetchall()
        ]
    sent_text = repr(bodies)
    assert emails
    assert not [e for e in emails if e in sent_text]  # never a contact detail

    ledger = deliveries(env.warehouse, destination="sellers", limit=None)
    rejected = ledger.filter(ledger["status"] == "rejected")
    assert rejected.height == LEADS - located
    assert all(e.startswith("not enough property data") for e in rejected["error"])
    sent = ledger.filter(ledger["status"] == "sent")
    assert set(sent["remote_id"]) == set(leads)  # the potential seller's own uuid

    again = run_push(cfg, "sellers", table="kpro_leads", handle_signals=False)
    assert again.requests == 0
    assert again.exit_code == EXIT_OK
    assert again.counts == {"skipped-duplicate": located, "skipped-rejected": LEADS - located}


def test_potential_sellers_from_ovipro_realties_with_the_sandbox_example(
    env: PushEnv, rg: SandboxThread, start_ovipro: Start
) -> None:
    """The ``[destinations.realgeeks_sandbox_sellers]`` block ``leadkit sandbox`` writes."""
    source = start_ovipro(leads=40, outgoing_leads=0, seed=7)
    env.config()
    text = env.config_path.read_text() + "\n" + _realgeeks_toml("realgeeks_sandbox", rg.server)
    env.config_path.write_text(text)
    _extract(env, ovipro_block("ovi", source, {}, env.monkeypatch))
    with env.warehouse.reading() as con:
        (located,) = con.execute(
            "SELECT count(*) FROM ovipro_leads "
            "WHERE nullif(trim(lead.realty.address.street_address), '') IS NOT NULL"
        ).fetchone() or (0,)
    assert located > 0
    cfg = load_config(env.config_path)
    result = run_push(cfg, "realgeeks_sandbox_sellers", table="ovipro_leads", handle_signals=False)
    assert result.counts.get("sent") == located, result.counts
    for lead in stored_leads(rg).values():
        assert lead["role"] == "Potential Seller"
        assert not [f for f in CONTACT_FIELDS if f in lead]
        assert lead["activities"][0]["property"]["street_address"]


def test_an_update_adds_a_note_only_when_its_text_changed(env: PushEnv, rg: SandboxThread) -> None:
    cfg = env.config(crm=(rg, {"phone_region": "GB"}))
    first = run_push(cfg, "crm", limit=20, handle_signals=False)
    assert first.counts.get("sent", 0) > 0
    ledger = deliveries(env.warehouse, destination="crm", status="sent", limit=None)
    row = ledger.sort("lead_key").row(0, named=True)
    lead_id, note = parse_remote(row["remote_id"])
    assert lead_id is not None
    assert note is not None
    kpro_id = row["lead_key"].rsplit(":", 1)[1]

    def notes() -> list[str]:
        lead = stored_leads(rg)[lead_id]
        return [a["description"] for a in lead["activities"] if a["type"] == "note"]

    def change(column: str, value: str) -> None:
        with env.warehouse.writing() as con:
            con.execute(
                f"UPDATE kpro_leads SET {column} = ? WHERE CAST(id AS VARCHAR) = ?",
                [value, kpro_id],
            )

    assert len(notes()) == 1
    before = len(received(rg))

    change("phone", "07700 900123")  # a lead field only: PATCH, no note
    phone = run_push(cfg, "crm", limit=20, handle_signals=False)
    assert phone.counts.get("updated") == 1, phone.counts
    assert phone.requests == 1
    assert [r.method for r in received(rg)[before:]] == ["PATCH"]
    assert stored_leads(rg)[lead_id]["phone"] == "+44 7700 900123"
    assert len(notes()) == 1
    after_phone = deliveries(env.warehouse, destination="crm", limit=None)
    assert (
        after_phone.filter(after_phone["lead_key"] == row["lead_key"])["remote_id"][0]
        == (row["remote_id"])
    )

    change("additional_info", "Please call after 6pm")  # carried in the note: one new note
    message = run_push(cfg, "crm", limit=20, handle_signals=False)
    assert message.counts.get("updated") == 1, message.counts
    assert message.requests == 2
    texts = notes()
    assert len(texts) == 2
    assert "Message: Please call after 6pm" in texts[-1]

    assert run_push(cfg, "crm", limit=20, handle_signals=False).requests == 0
    assert len(notes()) == 2
