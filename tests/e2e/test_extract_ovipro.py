"""OviPro extract end to end: the OviPro sandbox on 127.0.0.1, a real DuckDB file, no mocks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from leadkit.config import LeadkitConfig
from leadkit.engine.extract import EXIT_FAILED, EXIT_OK, run_extract
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.ovipro.sandbox import OviProAccount
from tests.e2e.conftest import StartSandbox, leadkit_cli

MakeConfig = Callable[..., LeadkitConfig]

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: Base64 of the JOSE header every HS256 JWT starts with: no token may be stored or shown.
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def expected(value: Any) -> Any:
    """An API value as the warehouse should hold it: snake_case keys, "" → null."""
    if isinstance(value, dict):
        return {snake(k): expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expected(v) for v in value]
    return None if value == "" else value


def present(value: Any) -> Any:
    """Drop null STRUCT fields (the table has every documented field; the API omits some)."""
    if isinstance(value, dict):
        return {k: present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [present(v) for v in value]
    return value


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def rows(wh: Warehouse, table: str, source: str) -> dict[str, dict[str, Any]]:
    frame = wh.sql(f"SELECT * FROM {table} WHERE _source = ?", [source])
    return {row["lead_id"]: row for row in frame.iter_rows(named=True)}


def server_leads(sb: Any) -> list[dict[str, Any]]:
    return list(sb.call(lambda: sb.server.leads()))


def server_outgoing(sb: Any) -> list[dict[str, Any]]:
    return list(sb.call(lambda: sb.server.outgoing_leads()))


def assert_equals_server(wh: Warehouse, source: str, sb: Any) -> None:
    """Every incoming and outgoing lead of the sandbox, field by field; nothing else current."""
    incoming = server_leads(sb)
    stored = rows(wh, "ovipro_leads", source)
    current = {k: v for k, v in stored.items() if v["_vanished_at"] is None}
    assert sorted(current) == sorted(lead["leadId"] for lead in incoming)
    for lead in incoming:
        row = current[lead["leadId"]]
        assert orjson.loads(row["_raw"]) == lead
        assert row["lead_status_code"] == (lead.get("leadStatusCode") or None)
        assert row["lead_action_codes"] == expected(lead.get("leadActionCodes"))
        for field in ("assignmentTime", "decisionTime", "creationTime", "modificationTime"):
            assert row[snake(field)] == ts(lead.get(field)), field
        assert present(row["lead"]) == present(expected(lead["lead"]))
    outgoing = server_outgoing(sb)
    stored_out = rows(wh, "ovipro_outgoing_leads", source)
    current_out = {k: v for k, v in stored_out.items() if v["_vanished_at"] is None}
    assert sorted(current_out) == sorted(lead["leadId"] for lead in outgoing)
    for lead in outgoing:
        row = current_out[lead["leadId"]]
        assert orjson.loads(row["_raw"]) == lead
        assert row["creation_time"] == ts(lead["creationTime"])
        for field in ("lead", "customer", "sender"):
            assert present(row[field]) == present(expected(lead[field])), field


def run(cfg: LeadkitConfig) -> Any:
    return {s.name: s for s in run_extract(cfg, handle_signals=False).sources}


def test_full_extract_equals_the_sandbox_incoming_and_outgoing_field_by_field(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=1234, outgoing_leads=321, seed=7)
    cfg = make_config({"op": (sb, {"page_size": 100, "concurrency": 4})})
    result = run(cfg)["op"]
    assert result.status == "success", result.error
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_server(wh, "op", sb)
    # Every lead counted once although pages overlap by one lead.
    assert (result.records, result.inserted, result.updated, result.rejects) == (1555, 1555, 0, 0)
    assert result.vanished == 0
    # 1234 leads in pages of 100 starting 99 apart: 13 requests; 321 outgoing: 4; 1 token.
    assert result.requests == 1 + 13 + 4
    # Responses are committed in batches of about 1000 leads: two for incoming, one outgoing.
    assert result.pages == 3
    run_row = wh.sql(
        "SELECT status, leads_inserted, leads_vanished, error, requests FROM _runs"
    ).row(0)
    assert run_row[:4] == ("success", 1555, 0, None)
    # Empty strings are nulls in the table (Q7), and the sandbox does send some.
    empties = sum(1 for lead in server_leads(sb) if lead["lead"].get("message") == "")
    assert empties > 0
    nulls = wh.sql("SELECT count(*) AS n FROM ovipro_leads WHERE lead.message IS NULL")["n"][0]
    assert nulls >= empties
    # Request-IDs: every request the sandbox saw had a valid, unique lowercase uuid4.
    ids = sb.call(lambda: list(sb.server.request_ids))
    assert len(ids) == run_row[4] == sb.call(lambda: len(sb.server.requests))
    assert all(UUID4.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert sb.call(lambda: sb.server.token_requests) == 1


def test_the_leads_view_maps_ovipro_columns(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=150, outgoing_leads=10, seed=3)
    cfg = make_config({"op": (sb, {})})
    assert run(cfg)["op"].status == "success"
    wh = Warehouse(cfg.warehouse.path)
    view = {
        r["lead_id"]: r
        for r in wh.sql("SELECT * FROM leads WHERE system = 'ovipro'").iter_rows(named=True)
    }
    assert len(view) == 150  # incoming only
    for lead in server_leads(sb):
        row = view[lead["leadId"]]
        inner, customer = lead["lead"], lead["lead"].get("customer") or {}
        first, last = customer.get("firstName") or None, customer.get("lastName") or None
        assert row["source"] == "op"
        assert row["created_at"] == ts(lead["creationTime"])
        assert row["updated_at"] == ts(lead.get("modificationTime"))
        assert row["email"] == (customer.get("emailAddress") or None)
        assert (row["first_name"], row["last_name"]) == (first, last)
        assert row["full_name"] == (" ".join(p for p in (first, last) if p) or None)
        assert row["phone"] == (customer.get("phoneNumber") or None)
        assert row["status"] == lead["leadStatusCode"]
        assert row["category"] == (inner.get("leadTypeCode") or None)
        assert row["channel"] == (inner.get("leadSourceTypeCode") or None)
        postcode = ((inner.get("realty") or {}).get("address") or {}).get("postcode")
        assert row["postcode"] == (postcode or None)
        assert row["message"] == (inner.get("message") or None)
    codes = wh.sql("SELECT code FROM ovipro_lead_status_codes ORDER BY code")["code"].to_list()
    assert codes == ["APPROVED", "IN_PROGRESS", "NEW", "REJECTED"]


def test_rerun_counts_unchanged_and_status_changes_are_updates_next_run(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=400, outgoing_leads=40, seed=5)
    cfg = make_config({"op": (sb, {"page_size": 50, "concurrency": 3})})
    run(cfg)
    again = run(cfg)["op"]
    assert (again.inserted, again.updated, again.unchanged, again.vanished) == (0, 0, 440, 0)
    new = [lead["leadId"] for lead in server_leads(sb) if lead["leadStatusCode"] == "NEW"][:4]
    assert len(new) == 4
    for lead_id, status in zip(
        new, ["IN_PROGRESS", "APPROVED", "REJECTED", "APPROVED"], strict=True
    ):
        sb.call(lambda i=lead_id, s=status: sb.server.set_status(i, s))
    third = run(cfg)["op"]
    assert (third.inserted, third.updated, third.unchanged) == (0, 4, 436)
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_server(wh, "op", sb)
    changed = wh.sql(
        "SELECT count(*) AS n FROM ovipro_leads WHERE _run_id = "
        "(SELECT run_id FROM _runs ORDER BY started_at DESC LIMIT 1)"
    )["n"][0]
    assert changed == 4  # only the changed rows carry the new run id


def test_deleted_leads_are_flagged_vanished_and_a_lead_that_comes_back_is_not(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=300, outgoing_leads=30, seed=6)
    cfg = make_config({"op": (sb, {"page_size": 40, "concurrency": 4})})
    run(cfg)
    gone = [lead["leadId"] for lead in server_leads(sb)[10:15]]
    sb.call(lambda: sb.server.delete_leads(gone))
    second = run(cfg)["op"]
    assert (second.status, second.vanished, second.inserted) == ("success", 5, 0)
    wh = Warehouse(cfg.warehouse.path)
    flagged = wh.sql("SELECT lead_id FROM ovipro_leads WHERE _vanished_at IS NOT NULL")
    assert sorted(flagged["lead_id"].to_list()) == sorted(gone)
    assert wh.sql("SELECT leads_vanished FROM _runs ORDER BY started_at")[
        "leads_vanished"
    ].to_list() == [0, 5]
    assert_equals_server(wh, "op", sb)
    # An account that loses access to an office sees its leads vanish; regaining it brings
    # them back (un-flagged), with nothing doubled.
    leads = server_leads(sb)
    office = leads[0]["lead"]["agencyOfficeId"]
    offices = sorted({lead["lead"]["agencyOfficeId"] for lead in leads})
    scoped = OviProAccount(
        sb.server.username, sb.server.password, tuple(o for o in offices if o != office)
    )
    everything = OviProAccount(sb.server.username, sb.server.password, tuple(offices))
    sb.call(lambda: sb.server.configure(accounts=(scoped,)))
    third = run(cfg)["op"]
    hidden = {lead["leadId"] for lead in leads if lead["lead"]["agencyOfficeId"] == office}
    assert third.vanished >= len(hidden) > 0
    sb.call(lambda: sb.server.configure(accounts=(everything,)))
    fourth = run(cfg)["op"]
    assert (fourth.status, fourth.inserted, fourth.vanished) == ("success", 0, 0)
    back = wh.sql("SELECT count(*) AS n FROM ovipro_leads WHERE _vanished_at IS NULL")["n"][0]
    assert back == len(leads)
    assert_equals_server(wh, "op", sb)
    total = wh.sql("SELECT count(*) AS n, count(DISTINCT lead_id) AS d FROM ovipro_leads").row(0)
    assert total == (300, 300)


def test_switching_outgoing_leads_off_leaves_the_stored_ones_alone(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=120, outgoing_leads=30, seed=10)
    run(make_config({"op": (sb, {})}))
    off = run(make_config({"op": (sb, {"include_outgoing": False})}))["op"]
    assert (off.status, off.records, off.vanished) == ("success", 120, 0)
    wh = Warehouse(make_config({"op": (sb, {})}).warehouse.path)
    kept = wh.sql("SELECT count(*) AS n FROM ovipro_outgoing_leads WHERE _vanished_at IS NULL")
    assert kept["n"][0] == 30
    gets = [r.path for r in sb.call(lambda: list(sb.server.requests)) if r.method == "GET"]
    assert gets.count("/lead/v1/outgoingLeads") == 1  # only the first run asked


def test_inserts_and_deletes_during_the_scan_end_equal_to_the_server_after_the_next_run(
    start_ovipro: StartSandbox, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    sb = start_ovipro(leads=1500, outgoing_leads=20, seed=9)
    cfg = make_config({"op": (sb, {"page_size": 50, "concurrency": 6})})
    assert run(cfg)["op"].inserted == 1520
    before = {lead["leadId"] for lead in server_leads(sb)}
    # Before answering each GET /leads the sandbox now adds two new leads and deletes one
    # existing lead: offsets shift under the concurrent pages.
    sb.call(lambda: sb.server.configure(grow_per_request=2, shrink_per_request=1))
    leadkit_log = logging.getLogger("leadkit")
    leadkit_log.addHandler(caplog.handler)  # whatever an earlier test did to propagation
    try:
        with caplog.at_level(logging.WARNING, logger="leadkit"):
            busy = run(cfg)["op"]
    finally:
        leadkit_log.removeHandler(caplog.handler)
    assert busy.status == "success", busy.error
    wh = Warehouse(cfg.warehouse.path)
    stored = wh.sql("SELECT lead_id, _vanished_at FROM ovipro_leads")
    ids = stored["lead_id"].to_list()
    assert len(ids) == len(set(ids))  # nothing doubled
    now = {lead["leadId"] for lead in server_leads(sb)}
    assert len(now - before) > 0  # leads really arrived during the scan...
    assert len(before - now) > 0  # ...and others were deleted
    # Never wrongly flagged: a lead marked vanished is really gone from the server.
    flagged = set(stored.filter(stored["_vanished_at"].is_not_null())["lead_id"].to_list())
    assert not flagged & now
    # Either the scan saw the offsets move (and flagged nothing), or it was provably complete
    # and flagged at least the lead deleted before its first page was served.
    assert "leads moved between the pages" in caplog.text or busy.vanished >= 1
    # The next run, with the server quiet, makes the warehouse equal to the server.
    sb.call(lambda: sb.server.configure(grow_per_request=0, shrink_per_request=0))
    quiet = run(cfg)["op"]
    assert quiet.status == "success"
    assert_equals_server(wh, "op", sb)
    everything = wh.sql("SELECT lead_id, _vanished_at FROM ovipro_leads")
    vanished = set(everything.filter(everything["_vanished_at"].is_not_null())["lead_id"].to_list())
    assert vanished == set(everything["lead_id"].to_list()) - now  # exactly those gone
    assert len(everything) == len(set(everything["lead_id"].to_list()))


def test_leads_created_during_the_scan_are_read_in_the_same_run(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    """New leads sort last (creationTime|asc): offsets do not shift, the scan stays provably
    complete, and it follows the list to its end."""
    sb = start_ovipro(leads=1000, outgoing_leads=10, seed=12, grow_per_request=3)
    cfg = make_config({"op": (sb, {"page_size": 100, "concurrency": 4})})
    first = run(cfg)["op"]
    assert first.status == "success"
    wh = Warehouse(cfg.warehouse.path)
    # Growth happens only on GET /leads, so after the last incoming page the server is still.
    assert_equals_server(wh, "op", sb)
    assert len(server_leads(sb)) > 1000 + 3 * 10
    sb.call(lambda: sb.server.configure(grow_per_request=0))
    second = run(cfg)["op"]
    assert (second.inserted, second.updated, second.vanished) == (0, 0, 0)


def test_token_expiry_mid_extract_costs_one_token_request_per_expiry(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=2000, outgoing_leads=100, seed=4, token_lifetime_s=1, latency_s=0.1)
    cfg = make_config({"op": (sb, {"page_size": 50, "concurrency": 2})})
    result = run(cfg)["op"]
    assert result.status == "success", result.error
    tokens = sb.call(lambda: sb.server.token_requests)
    lifetimes = result.seconds / 1.0
    # At least one token per lifetime the run lasted, at most one per 0.8 lifetime (plus the
    # first): never one per waiting request (2 in flight, 40+ page requests).
    assert result.seconds > 2
    assert int(lifetimes) <= tokens <= int(result.seconds / 0.8) + 2
    assert tokens < (result.requests - tokens) / 4
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_server(wh, "op", sb)


def test_two_accounts_side_by_side_keep_their_own_rows(
    start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_ovipro(leads=200, outgoing_leads=20, seed=8)
    offices = sorted({lead["lead"]["agencyOfficeId"] for lead in server_leads(sb)})
    north = OviProAccount("north.service", "north-password-1", tuple(offices[:4]))
    south = OviProAccount("south.service", "south-password-2", tuple(offices[2:]))
    sb.call(lambda: sb.server.configure(accounts=(north, south)))
    cfg = make_config(
        {
            "op_north": (sb, {"_username": north.username, "_password": north.password}),
            "op_south": (sb, {"_username": south.username, "_password": south.password}),
        }
    )
    results = run(cfg)
    assert all(r.status == "success" for r in results.values()), results
    wh = Warehouse(cfg.warehouse.path)
    for name, account in (("op_north", north), ("op_south", south)):
        mine = {
            lead["leadId"]
            for lead in server_leads(sb)
            if lead["lead"]["agencyOfficeId"] in account.offices
        }
        assert set(rows(wh, "ovipro_leads", name)) == mine
    shared = wh.sql(
        "SELECT lead_id FROM ovipro_leads GROUP BY lead_id HAVING count(DISTINCT _source) = 2"
    )
    assert shared.height > 0  # offices 2 and 3 are seen by both accounts, stored per source


def test_failures_get_documented_behaviour_and_clear_messages_and_kpro_still_loads(
    start_sandbox: StartSandbox,
    start_ovipro: StartSandbox,
    make_config: MakeConfig,
    capfd: pytest.CaptureFixture[str],
) -> None:
    kpro = start_sandbox(leads=300, seed=1)
    wrong_pw = start_ovipro(leads=20, outgoing_leads=2, seed=1)
    no_key = start_ovipro(leads=20, outgoing_leads=2, seed=2, require_api_key=True)
    unavailable = start_ovipro(
        leads=20,
        outgoing_leads=2,
        seed=3,
        fault_rate=1.0,
        fault_kinds=("503",),
        fault_on_tokens=False,
    )
    limited = start_ovipro(
        leads=20,
        outgoing_leads=2,
        seed=4,
        fault_rate=1.0,
        fault_kinds=("429",),
        retry_after_s=0,
        fault_on_tokens=False,
    )
    flaky = start_ovipro(leads=600, outgoing_leads=60, seed=5, fault_rate=0.25)
    resets = start_ovipro(
        leads=300, outgoing_leads=10, seed=6, fault_rate=0.4, fault_kinds=("reset",)
    )
    password = "definitely-wrong-password"
    cfg = make_config(
        {
            "kpro": (kpro, {"page_size": 100}),
            "op_password": (wrong_pw, {"_password": password}),
            "op_key": (no_key, {}),
            "op_503": (unavailable, {"max_retries": 2}),
            "op_429": (limited, {"max_retries": 2}),
            "op_flaky": (flaky, {"page_size": 50, "max_retries": 10}),
            "op_resets": (resets, {"page_size": 50, "max_retries": 10}),
        }
    )
    extract = run_extract(cfg, handle_signals=False)
    assert extract.exit_code == EXIT_FAILED
    by = {s.name: s for s in extract.sources}
    assert (by["kpro"].status, by["kpro"].inserted) == ("success", 300)
    assert by["op_flaky"].status == "success"
    assert by["op_flaky"].retries > 0
    # Every attempt, retries included, had its own valid Request-ID — also when the
    # connection was reset (aiohttp's silent resend with the same headers is switched off).
    assert by["op_resets"].status == "success"
    assert by["op_resets"].retries > 0
    for name, sb in (("op_flaky", flaky), ("op_resets", resets)):
        seen = sb.call(lambda sb=sb: list(sb.server.request_ids))
        assert len(seen) == by[name].requests
        assert len(set(seen)) == len(seen)
        assert all(UUID4.match(i) for i in seen)
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_server(wh, "op_resets", resets)
    assert_equals_server(wh, "op_flaky", flaky)

    def error(name: str) -> str:
        assert by[name].status == "failed"
        assert by[name].error is not None
        text = by[name].error
        assert text.startswith(f"{name}: ")
        assert re.search(r"Request-ID [0-9a-f]{8}-[0-9a-f]{4}-4", text), text
        return text

    text = error("op_password")
    assert "cannot get an OviPro token: HTTP 401 on POST" in text
    assert "check `username` and `password` in [sources.op_password]" in text
    assert password not in text
    assert wrong_pw.call(lambda: wrong_pw.server.token_requests) == 1  # no retry loop
    assert wrong_pw.call(lambda: len(wrong_pw.server.requests)) == 1

    text = error("op_key")
    assert "HTTP 404" in text
    assert "INVALID_API_KEY" in text
    assert "check `api_key` in [sources.op_key]" in text
    assert no_key.call(lambda: len(no_key.server.requests)) == 1

    text = error("op_503")
    assert "giving up after 3 attempts" in text
    assert "HTTP 503" in text
    assert "the next run reads everything again" in text
    assert unavailable.call(lambda: unavailable.server.token_requests) == 1

    text = error("op_429")
    assert "giving up after 3 attempts" in text
    assert "HTTP 429" in text

    # The same messages are in _runs; no password or token anywhere.
    stored = dict(wh.sql("SELECT source, error FROM _runs").rows())
    assert stored["op_password"] == by["op_password"].error
    out, err = capfd.readouterr()
    everything = out + err + "".join(str(e) for e in stored.values())
    for secret in (password, flaky.server.password, JWT_HEADER):
        assert secret not in everything
        assert secret.encode() not in cfg.warehouse.path.read_bytes()


def test_cli_extracts_kpro_and_ovipro_concurrently(
    start_sandbox: StartSandbox, start_ovipro: StartSandbox, make_config: MakeConfig
) -> None:
    kpro = start_sandbox(leads=200, seed=2)
    op = start_ovipro(leads=200, outgoing_leads=20, seed=2)
    cfg = make_config({"kpro": (kpro, {}), "op": (op, {})})
    assert cfg.path is not None
    proc = leadkit_cli(
        "extract", "--config", str(cfg.path), "--log-format", "json", cwd=cfg.path.parent
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    finished = [orjson.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert {(f["source"], f["status"], f["inserted"]) for f in finished} == {
        ("kpro", "success", 200),
        ("op", "success", 220),
    }
    assert op.server.password not in proc.stdout + proc.stderr
    assert JWT_HEADER not in proc.stdout + proc.stderr
    runs = leadkit_cli("runs", "--config", str(cfg.path), "--json", cwd=cfg.path.parent)
    assert runs.returncode == 0
    assert {orjson.loads(line)["source"] for line in runs.stdout.splitlines()} == {"kpro", "op"}
