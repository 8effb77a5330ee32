"""Pushing to KPro's import against the KPro sandbox: mapping, ledger, 422s, retries."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from leadkit.engine.http import HttpClient, make_session
from leadkit.push.base import Lead, Prepared, PushContext
from leadkit.push.engine import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, run_push
from leadkit.push.ledger import deliveries
from leadkit.redact import Redactor
from leadkit.sandbox import SandboxThread
from leadkit.systems.kpro.destination import KProDestination, KProDestinationSettings
from tests.push.conftest import DEST_KEY, LEADS, PushEnv

StartDest = Callable[..., SandboxThread]


def created(sb: SandboxThread) -> Counter[str]:
    """externalRef → how many times the sandbox *added* a lead with it."""
    imported = sb.call(lambda: list(sb.server.imported))
    return Counter(i.payload["externalRef"] for i in imported if i.status == "created")


def posts(sb: SandboxThread) -> int:
    return sum(1 for r in sb.call(lambda: list(sb.server.requests)) if r.method == "POST")


def ledger_rows(env: PushEnv) -> dict[str, dict[str, Any]]:
    frame = deliveries(env.warehouse, limit=None)
    return {row["lead_key"]: row for row in frame.iter_rows(named=True)}


def test_push_delivers_every_lead_once_and_a_repeat_sends_nothing(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {"batch_size": 40, "concurrency": 3}))
    first = run_push(cfg, "out", handle_signals=False)
    assert first.exit_code == EXIT_OK, first
    assert first.counts == {"sent": LEADS}
    # e-mails are unique per request (repeat customers go in a second request)
    assert LEADS // 40 <= first.requests == posts(sb) <= LEADS // 20
    refs = created(sb)
    assert len(refs) == LEADS
    assert set(refs.values()) == {1}
    rows = ledger_rows(env)
    assert len(rows) == LEADS
    assert {r["status"] for r in rows.values()} == {"sent"}
    row = next(iter(rows.values()))
    assert row["attempts"] == 1
    assert row["http_status"] == 201
    assert row["remote_id"]
    assert row["delivered_hash"] == row["payload_hash"]
    assert orjson.loads(row["payload"])["externalRef"] == f"leadkit:{row['lead_key']}"

    again = run_push(cfg, "out", handle_signals=False)
    assert again.counts == {"skipped-duplicate": LEADS}
    assert again.requests == 0
    assert posts(sb) == first.requests
    pushes = env.warehouse.sql(
        "SELECT status, sent, skipped_duplicate FROM _pushes ORDER BY started_at"
    )
    assert pushes.rows() == [("success", LEADS, 0), ("success", 0, LEADS)]


def test_every_import_field_is_mapped_from_kpro_leads(env: PushEnv, kpro_dest: StartDest) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {"send_kpro_ids": True}))
    result = run_push(cfg, "out", table="kpro_leads", handle_signals=False)
    assert result.exit_code == EXIT_OK, result
    source = {
        str(r["id"]): r for r in env.warehouse.sql("SELECT * FROM kpro_leads").iter_rows(named=True)
    }
    imported = {i.payload["externalRef"]: i.payload for i in sb.call(lambda: sb.server.imported)}
    assert len(imported) == LEADS
    seen: Counter[str] = Counter()
    for ref, sent in imported.items():
        row = source[ref.rsplit(":", 1)[1]]
        seen.update(list(sent))
        assert sent["email"].lower() == row["email"].lower()
        assert sent["siteId"] == 6
        for field, column in (("firstName", "first_name"), ("lastName", "last_name"),
                              ("title", "title"), ("homeAddress", "home_address"),
                              ("workAddress", "work_address"), ("occupation", "occupation"),
                              ("employerName", "employer_name"), ("hearAboutUs", "hear_about_us"),
                              ("dependants", "dependants"), ("firstTimeBuyer", "first_time_buyer"),
                              ("eligibleCitizen", "eligible_citizen"), ("keyworker", "keyworker"),
                              ("armedForcesMember", "armed_forces_member"),
                              ("hasDisability", "has_disability"),
                              ("housingWaitingList", "housing_waiting_list"),
                              ("homeOwnershipStatus", "home_ownership_status"),
                              ("enquiryType", "enquiry_type")):  # fmt: skip
            assert sent.get(field) == row[column], (field, sent, row)
        for field, column in (("annualHouseholdIncome", "annual_household_income"),
                              ("deposit", "deposit")):  # fmt: skip
            assert sent.get(field) == row[column]
        born = row["date_of_birth"]
        assert sent.get("dateOfBirth") == (born.isoformat() if born else None)
        for field, column in (("livingCircumstance", "living_circumstance"),
                              ("workingCircumstance", "working_circumstance"),
                              ("listingId", "listing"), ("propertyId", "property")):  # fmt: skip
            assert sent.get(field) == (row[column] or {}).get("id")
        if row["home_postcode"]:
            assert (
                sent["homePostcode"].replace(" ", "")
                == row["home_postcode"].replace(" ", "").upper()
            )
        info = sent["additionalInfo"]
        assert f"eligibility: {row['eligibility_status']}" in info
        assert f"site: {row['site']['name']}" in info
        assert f"origin: kpro:main:{row['id']}" in info
        if row["additional_info"]:
            assert info.startswith(row["additional_info"].strip())
        if row["phone"] and "phone" not in sent:
            assert f"phone (not valid): {row['phone']}" in info
    # the sandbox's data exercises the optional fields too
    for field in ("phone", "dateOfBirth", "livingCircumstance", "workingCircumstance",
                  "homePostcode", "listingId", "bedrooms", "enquiryType", "deposit"):  # fmt: skip
        assert seen[field] > 0, field
    stored = sb.call(lambda: sb.server.leads())
    assert {lead["externalRef"] for lead in stored} == set(imported)


def test_invalid_leads_are_rejected_with_the_reason_and_never_sent(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    with env.warehouse.writing() as con:
        bad = [
            r[0] for r in con.execute("SELECT id FROM kpro_leads ORDER BY id LIMIT 3").fetchall()
        ]
        con.execute(
            "UPDATE kpro_leads SET email = 'not-an-email' WHERE id IN (SELECT unnest(?))", [bad]
        )
    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    result = run_push(cfg, "out", handle_signals=False)
    assert result.exit_code == EXIT_REJECTED
    assert result.counts == {"sent": LEADS - 3, "rejected": 3}
    rows = ledger_rows(env)
    for lead_id in bad:
        row = rows[f"kpro:main:{lead_id}"]
        assert row["status"] == "rejected"
        assert row["error"] == "email 'not-an-email' is not a valid e-mail address"
        assert row["payload"] is None
        assert f"leadkit:kpro:main:{lead_id}" not in created(sb)
    # unchanged rejects are not re-recorded, and the exit code says nothing new went wrong
    again = run_push(cfg, "out", handle_signals=False)
    assert again.counts == {"skipped-duplicate": LEADS - 3, "skipped-rejected": 3}
    assert again.exit_code == EXIT_OK


def test_changed_lead_is_not_updatable_in_kpro(env: PushEnv, kpro_dest: StartDest) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    assert run_push(cfg, "out", handle_signals=False).exit_code == EXIT_OK
    with env.warehouse.writing() as con:
        con.execute(
            "UPDATE kpro_leads SET first_name = 'Changed' "
            "WHERE id = (SELECT min(id) FROM kpro_leads)"
        )
    result = run_push(cfg, "out", handle_signals=False)
    assert result.counts == {"skipped-duplicate": LEADS - 1, "not-updatable": 1}
    assert result.requests == 0
    assert result.items[0].detail == "changed since delivered; kpro cannot update a lead"


def test_lost_ledger_rows_are_deduplicated_by_external_ref(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    run_push(cfg, "out", handle_signals=False)
    with env.warehouse.writing() as con:
        con.execute("DELETE FROM _deliveries WHERE lead_key IN "
                    "(SELECT lead_key FROM _deliveries ORDER BY lead_key LIMIT 25)")  # fmt: skip
    result = run_push(cfg, "out", handle_signals=False)
    assert result.counts == {"skipped-duplicate": LEADS}
    assert 1 <= result.requests <= 2
    assert set(created(sb).values()) == {1}
    assert len(created(sb)) == LEADS
    statuses = Counter(r["status"] for r in ledger_rows(env).values())
    assert statuses == {"sent": LEADS - 25, "skipped-duplicate": 25}


def test_too_many_leads_422_splits_the_batch_until_it_fits(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest(max_batch=7)
    cfg = env.config(out=(sb, {"batch_size": 50}))
    result = run_push(cfg, "out", handle_signals=False)
    assert result.counts == {"sent": LEADS}
    assert len(created(sb)) == LEADS


async def test_422_isolates_the_failing_leads_and_delivers_all_valid_ones(
    start_sandbox: Any,
) -> None:
    sb = start_sandbox(leads=0, api_keys=(DEST_KEY,))
    settings = KProDestinationSettings(base_url=sb.base_url, api_key=DEST_KEY)
    dest = KProDestination("out", settings)
    items = []
    for i in range(20):
        payload: dict[str, Any] = {"externalRef": f"r{i}", "email": f"p{i}@example.com"}
        if i in (3, 11):
            payload["homeOwnershipStatus"] = 9  # KPro allows 1-4
        if i == 17:
            payload["dependants"] = -2
        items.append(Prepared(Lead("kpro", "main", str(i), {}), payload, str(i)))
    async with make_session(2, 10) as session:
        http = HttpClient(session, source="out", redactor=Redactor([DEST_KEY]), max_retries=0,
                          log=logging.getLogger("test"))  # fmt: skip
        ctx = PushContext("run", "out", http, Redactor([DEST_KEY]), logging.getLogger("test"))
        outcomes = await dest.send(items, ctx)
    statuses = [o.status for o in outcomes]
    assert [i for i, s in enumerate(statuses) if s == "rejected"] == [3, 11, 17]
    assert statuses.count("sent") == 17
    assert (
        outcomes[3].detail == "homeOwnershipStatus: The selected home ownership status is invalid."
    )
    assert outcomes[17].detail == "dependants: The dependants must be at least 0."
    assert outcomes[3].http_status == 422
    assert sorted(created(sb)) == sorted(f"r{i}" for i in range(20) if i not in (3, 11, 17))
    # one failing request, then the 17 valid leads in one go
    assert [r.status for r in sb.call(lambda: sb.server.requests)] == [422, 201]


def test_transient_faults_are_retried_and_each_lead_lands_once(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest(fault_rate=0.5, fault_kinds=("503", "429", "500"), retry_after_s=0)
    cfg = env.config(out=(sb, {"batch_size": 20, "max_retries": 12}))
    result = run_push(cfg, "out", handle_signals=False)
    assert result.counts == {"sent": LEADS}, result
    assert result.retries > 0
    assert set(created(sb).values()) == {1}
    assert len(created(sb)) == LEADS


def test_failures_that_outlive_the_retries_are_sent_by_the_next_push(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest(fault_rate=1.0, fault_kinds=("503",), retry_after_s=0)
    cfg = env.config(out=(sb, {"batch_size": 120, "max_retries": 1}))
    failed = run_push(cfg, "out", handle_signals=False)
    assert failed.exit_code == EXIT_FAILED
    assert failed.counts == {"failed": LEADS}
    row = next(iter(ledger_rows(env).values()))
    assert row["status"] == "failed"
    assert "giving up after 2 attempts" in row["error"]
    assert DEST_KEY not in row["error"]
    assert "api_key=***" in row["error"]
    sb.call(lambda: sb.server.configure(fault_rate=0.0))
    again = run_push(cfg, "out", handle_signals=False)
    assert again.counts == {"sent": LEADS}
    assert {r["attempts"] for r in ledger_rows(env).values()} == {2}


def test_rejected_credentials_stop_the_push(env: PushEnv, kpro_dest: StartDest) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {"_key": "wrong-key-" + "0" * 20, "batch_size": 10}))
    result = run_push(cfg, "out", handle_signals=False)
    assert result.exit_code == EXIT_FAILED
    assert result.error is not None
    assert "401" in result.error
    assert "wrong-key" not in result.error
    assert result.requests < 10  # stopped early, not one 401 per batch
    statuses = Counter(r["status"] for r in ledger_rows(env).values())
    assert "pending" not in statuses
    assert set(statuses) <= {"failed"}


def test_dry_run_validates_and_sends_nothing(env: PushEnv, kpro_dest: StartDest) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    result = run_push(cfg, "out", dry_run=True, where="status=passed", handle_signals=False)
    assert result.dry_run
    assert result.exit_code == EXIT_OK
    n = int(env.warehouse.sql("SELECT count(*) AS n FROM leads WHERE status = 'passed'")["n"][0])
    assert result.counts == {"would-send": n}
    assert n > 0
    assert result.items[0].payload is not None
    assert "externalRef" in result.items[0].payload
    assert sb.call(lambda: len(sb.server.requests)) == 0
    assert deliveries(env.warehouse).height == 0


def test_limit_and_where_select_the_first_leads_in_key_order(
    env: PushEnv, kpro_dest: StartDest
) -> None:
    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    result = run_push(cfg, "out", where="status.in=passed,failed", limit=7, handle_signals=False)
    assert result.selected == 7
    assert result.counts == {"sent": 7}
    wanted = env.warehouse.sql(
        "SELECT lead_id FROM leads WHERE status IN ('passed', 'failed') ORDER BY lead_id LIMIT 7"
    )["lead_id"].to_list()
    assert sorted(k.rsplit(":", 1)[1] for k in created(sb)) == sorted(wanted)


def test_secrets_never_reach_the_ledger_logs_or_errors(
    env: PushEnv, kpro_dest: StartDest, caplog: pytest.LogCaptureFixture
) -> None:
    sb = kpro_dest(fault_rate=0.6, fault_kinds=("503", "reset"), retry_after_s=0)
    cfg = env.config(out=(sb, {"batch_size": 30, "max_retries": 2}))
    with caplog.at_level(logging.DEBUG, logger="leadkit"):
        result = run_push(cfg, "out", handle_signals=False)
    assert result.retries > 0
    for table in ("_deliveries", "_pushes"):
        text = env.warehouse.sql(f"SELECT * FROM {table}").write_csv()
        assert DEST_KEY not in text
    assert DEST_KEY not in caplog.text
    assert DEST_KEY not in repr(result)


def test_pushes_to_one_destination_do_not_run_twice(env: PushEnv, kpro_dest: StartDest) -> None:
    from leadkit.engine.lock import RunLock
    from leadkit.errors import RunLockedError

    sb = kpro_dest()
    cfg = env.config(out=(sb, {}))
    with RunLock(env.directory / "leadkit.duckdb.push-out"):
        with pytest.raises(RunLockedError, match="another `leadkit push out` is running") as info:
            run_push(cfg, "out", handle_signals=False)
        assert info.value.exit_code == 75
        # a dry run takes no lock
        assert run_push(cfg, "out", dry_run=True, limit=1, handle_signals=False).exit_code == 0
    assert asyncio.iscoroutinefunction(KProDestination.send)


async def test_422_naming_every_lead_rejects_them_all_in_one_request(
    start_sandbox: Any,
) -> None:
    """When the 422 names each lead of the batch (e-mails are unique per request), each is
    a failing lead: record them all with their messages, no bisecting (spec §6.1, Q10)."""
    sb = start_sandbox(leads=0, api_keys=(DEST_KEY,))
    dest = KProDestination("out", KProDestinationSettings(base_url=sb.base_url, api_key=DEST_KEY))
    items = [
        Prepared(
            Lead("kpro", "main", str(i), {}),
            {"externalRef": f"r{i}", "email": f"p{i}@example.com", "dependants": -1},
            str(i),
        )
        for i in range(8)
    ]
    async with make_session(2, 10) as session:
        http = HttpClient(session, source="out", redactor=Redactor([DEST_KEY]), max_retries=0,
                          log=logging.getLogger("test"))  # fmt: skip
        ctx = PushContext("run", "out", http, Redactor([DEST_KEY]), logging.getLogger("test"))
        outcomes = await dest.send(items, ctx)
    assert [o.status for o in outcomes] == ["rejected"] * 8
    assert {o.detail for o in outcomes} == {"dependants: The dependants must be at least 0."}
    assert [r.status for r in sb.call(lambda: sb.server.requests)] == [422]
    assert not created(sb)
