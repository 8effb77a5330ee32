"""Carehome extract end to end: the carehome sandbox on 127.0.0.1, a real DuckDB file.

Expected rows are computed here, record by record in plain Python, from the spec's rules
(strip, ``ast.literal_eval`` of list-strings, ``phonenumbers`` E.164, …) — independently of
the source's vectorised normalisation.
"""

from __future__ import annotations

import ast
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers
import pytest

from leadkit.config import LeadkitConfig
from leadkit.engine.extract import EXIT_FAILED, run_extract
from leadkit.sandbox import SandboxThread
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.carehome.sandbox import QUIRKS
from tests.e2e.conftest import StartSandbox

MakeConfig = Callable[..., LeadkitConfig]
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
MONTH_AGO = TODAY - timedelta(days=30)


# --- the spec's normalisation, one record at a time -------------------------------------


def text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return value.strip() or None


def listed(value: str | None) -> tuple[list[str], bool]:
    if value is None or not value.strip():
        return [], True
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return [value.strip()], False
    if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
        return [v.strip() for v in parsed], True
    return [value.strip()], False


def phone(value: str | None) -> tuple[str | None, bool]:
    shown = text(value)
    if shown is None:
        return None, True
    try:
        number = phonenumbers.parse(shown, "GB")
    except phonenumbers.NumberParseException:
        return shown, False
    if not phonenumbers.is_valid_number(number):
        return shown, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True


def visit(value: str | None) -> tuple[date | None, bool]:
    shown = text(value)
    if shown is None:
        return None, True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", shown):
        return None, False
    try:
        return datetime.strptime(shown, "%Y-%m-%d").date(), True
    except ValueError:
        return None, False


def expected_row(rec: dict[str, Any]) -> dict[str, Any]:
    csd = rec["categorySpecificData"]
    warnings = set()
    lists = {}
    pairs = (("onBehalfOf", "on_behalf_of"), ("funding", "funding"), ("timescales", "timescales"))
    for api, col in pairs:
        lists[col], ok = listed(rec[api])
        if not ok:
            warnings.add(f"{col}_unparseable")
    tel, ok = phone(rec["telephone"])
    if not ok:
        warnings.add("telephone_unparseable")
    visit_date, ok = visit(csd.get("visitDate"))
    if not ok:
        warnings.add("visit_date_invalid")
    email = text(rec["from"])
    email = email.lower() if email else None
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        warnings.add("email_invalid")
    service = rec["service"]
    return {
        "id": rec["id"],
        "category_id": rec["category"]["id"],
        "category_name": rec["category"]["name"],
        "service": {
            "id": service["id"],
            "name": text(service["name"]),
            "postcode": text(service["postcode"]),
        },
        "to_email": (text(rec["to"]) or "").lower() or None,
        "from_email": email,
        "date": datetime.fromisoformat(rec["date"].replace("Z", "+00:00")),
        "content": text(rec["content"]),
        "enquirer_first_name": text(rec["enquirerFirstName"]),
        "enquirer_surname": text(rec["enquirerSurname"]),
        "resident_first_name": text(rec["residentFirstName"]),
        "resident_surname": text(rec["residentSurname"]),
        "telephone": tel,
        "is_anonymised": rec["isAnonymised"],
        **lists,
        "instruction": text(csd.get("instruction")),
        "visit_date": visit_date,
        "visit_time": text(csd.get("visitTime")),
        "email_permission": csd.get("emailPermission"),
        "phone_permission": csd.get("phonePermission"),
        "budget_type": text(csd.get("budget_type", csd.get("budgetType"))),
        "budget_min": csd.get("budget_min", csd.get("budgetMin")),
        "budget_max": csd.get("budget_max", csd.get("budgetMax")),
        "dq_warnings": sorted(warnings),
    }


# --- helpers ------------------------------------------------------------------------------


def run(cfg: LeadkitConfig) -> Any:
    return {s.name: s for s in run_extract(cfg, handle_signals=False).sources}


def stored(wh: Warehouse, source: str = "ch") -> dict[int, dict[str, Any]]:
    frame = wh.sql("SELECT * FROM carehome_leads WHERE _source = ?", [source])
    return {row["id"]: row for row in frame.iter_rows(named=True)}


def server_leads(sb: SandboxThread, anonymised: bool | None = False) -> list[dict[str, Any]]:
    return list(sb.call(lambda: sb.server.leads(anonymised=anonymised)))


def assert_equals_server(wh: Warehouse, sb: SandboxThread, anonymised: bool | None = False) -> None:
    leads = server_leads(sb, anonymised)
    rows = stored(wh)
    assert sorted(rows) == sorted(r["id"] for r in leads)
    for rec in leads:
        row = rows[rec["id"]]
        want = expected_row(rec)
        got = {k: row[k] for k in want}
        got["dq_warnings"] = sorted(got["dq_warnings"])
        assert got == want, rec["id"]


# --- tests ----------------------------------------------------------------------------------


def test_full_month_equals_the_sandbox_category_by_category_with_every_quirk(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_carehome(leads=1500, seed=21, start=MONTH_AGO, days=30, quirk_rate=0.3)
    cfg = make_config(
        {"ch": (sb, {"start": MONTH_AGO.date().isoformat(), "include_anonymised": True})}
    )
    result = run(cfg)["ch"]
    assert result.status == "success", result.error
    wh = Warehouse(cfg.warehouse.path)
    leads = server_leads(sb, None)
    rows = stored(wh)
    assert len(rows) == len(leads) == 1500
    assert (result.records, result.inserted, result.rejects) == (1500, 1500, 0)
    for category in range(1, 9):
        mine = [r for r in leads if r["category"]["id"] == category]
        assert mine, category
        for rec in mine:
            row = rows[rec["id"]]
            want = expected_row(rec)
            got = {k: row[k] for k in want}
            got["dq_warnings"] = sorted(got["dq_warnings"])
            assert got == want, (category, rec["id"])
            # The raw record is kept byte for byte (the API's own rendering, escapes and all).
            assert row["_raw"] == sb.call(lambda i=rec["id"]: sb.server.raw(i))
    quirks = {lead.quirk for lead in sb.call(lambda: sb.server.dataset) if lead.id in rows}
    assert set(QUIRKS) <= quirks
    assert any(r["is_anonymised"] for r in rows.values())
    assert any("\\u00" in r["_raw"] for r in rows.values())  # escapes kept as sent
    # Data-quality warnings: per record, and counted for the run.
    per_record = sum(len(r["dq_warnings"]) for r in rows.values())
    assert per_record > 0
    assert result.warnings == per_record
    assert wh.sql("SELECT warnings FROM _runs")["warnings"].to_list() == [per_record]
    codes = {w for r in rows.values() for w in r["dq_warnings"]}
    assert {"telephone_unparseable", "visit_date_invalid", "funding_unparseable"} <= codes
    # One request per day and lane (anonymised or not): 30 whole days and today's part.
    assert result.requests == 31 * 2
    # The canonical view and the category reference table.
    view = wh.sql("SELECT * FROM leads WHERE system = 'carehome'")
    assert view.height == 1500
    one = view.filter(view["lead_id"] == str(leads[0]["id"])).row(0, named=True)
    first = rows[leads[0]["id"]]
    assert one["category"] == first["category_name"]
    assert one["channel"] == first["service"]["name"]
    assert one["status"] is None
    assert one["email"] == first["from_email"]
    cats = wh.sql("SELECT id, name FROM carehome_categories ORDER BY id")
    assert cats.height == 8
    assert cats.row(7) == (8, "Placement")
    # The watermark is the run's end, and a re-run changes nothing.
    again = run(cfg)["ch"]
    assert (again.inserted, again.updated) == (0, 0)


def test_a_lead_exactly_on_a_window_boundary_lands_once(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=3)
    sb = start_carehome(leads=60, seed=2, start=start, days=3, quirk_rate=0, anonymised_rate=0)
    boundary = start + timedelta(days=1)
    on = sb.call(lambda: sb.server.add_leads(1, at=boundary, category=4))[0]
    after = sb.call(
        lambda: sb.server.add_leads(1, at=boundary + timedelta(milliseconds=517), category=5)
    )[0]
    cfg = make_config({"ch": (sb, {"start": start.date().isoformat()})})
    result = run(cfg)["ch"]
    assert result.status == "success", result.error
    # The sandbox sent the boundary lead with both windows; it was received and stored once.
    served = sum(r.leads for r in sb.call(lambda: list(sb.server.requests)))
    assert served == 62 + 1
    assert (result.records, result.inserted) == (62, 62)
    wh = Warehouse(cfg.warehouse.path)
    rows = stored(wh)
    assert rows[on]["date"] == boundary
    assert rows[after]["date"].microsecond == 517000
    assert_equals_server(wh, sb)


def test_windows_that_time_out_or_are_too_large_are_split_and_lose_nothing(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=4)
    sb = start_carehome(leads=400, seed=4, start=start, days=4, slow_over=70, slow_s=1.5)
    cfg = make_config(
        {"ch": (sb, {"start": start.date().isoformat(), "timeout_s": 1.0, "concurrency": 5})}
    )
    result = run(cfg)["ch"]
    assert result.status == "success", result.error
    assert result.retries == 0
    deadline = time.monotonic() + 10  # the slow answers nobody waited for are logged late
    while sb.call(lambda: len(sb.server.requests)) < result.requests < 100:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    requests = sb.call(lambda: list(sb.server.requests))
    assert result.requests == len(requests) > 5  # 5 windows, the 4 full days split
    halves = [r for r in requests if dict(r.params)["dateTimeFrom"].endswith("T12:00:00")]
    assert len(halves) == 4  # each full day was asked again as two halves
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_server(wh, sb)
    assert wh.sql("SELECT cursor FROM _state")["cursor"][0] == result.cursor_after
    # "Too many leads" (a 500 whose message says so) splits as well, without retries.
    sb.call(lambda: sb.server.configure(slow_over=None, max_results=40))
    before = sb.call(lambda: len(sb.server.requests))
    cfg2 = make_config({"ch": (sb, {"start": start.date().isoformat()})})
    again = run_extract(cfg2, handle_signals=False, full_refresh=True).sources[0]
    assert again.status == "success", again.error
    total = len(server_leads(sb))
    assert (again.records, again.retries, again.unchanged) == (total, 0, total)
    answers = [r for r in sb.call(lambda: list(sb.server.requests))[before:]]
    assert sum(r.status == 500 for r in answers) >= 4
    assert max(r.leads for r in answers if r.status == 200) <= 40
    assert_equals_server(wh, sb)


def test_an_incremental_run_picks_up_exactly_the_new_leads(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=5)
    sb = start_carehome(leads=300, seed=6, start=start, days=5)
    cfg = make_config({"ch": (sb, {"start": start.date().isoformat(), "overlap_s": 0})})
    first = run(cfg)["ch"]
    assert first.status == "success"
    end = datetime.fromisoformat(first.cursor_after)
    while datetime.now(UTC) < end + timedelta(seconds=2):
        time.sleep(0.05)
    new = sb.call(lambda: sb.server.add_leads(7, at=end + timedelta(milliseconds=700)))
    second = run(cfg)["ch"]
    assert second.status == "success"
    assert (second.records, second.inserted, second.updated) == (7, 7, 0)
    assert second.requests == 1
    assert second.cursor_before == first.cursor_after
    wh = Warehouse(cfg.warehouse.path)
    assert set(new) <= set(stored(wh))
    assert_equals_server(wh, sb)
    # With the default overlap the next run re-reads the last minutes: nothing changes.
    cfg_overlap = make_config({"ch": (sb, {"start": start.date().isoformat()})})
    third = run(cfg_overlap)["ch"]
    assert (third.inserted, third.updated) == (0, 0)
    assert third.records >= 7


def test_a_wrong_key_fails_this_source_only_without_retries_or_the_key(
    start_carehome: StartSandbox,
    make_config: MakeConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = TODAY - timedelta(days=3)
    good = start_carehome(leads=90, seed=7, start=start, days=3)
    bad = start_carehome(leads=90, seed=8, start=start, days=3)
    wrong = "Zz9" + "q" * 37
    cfg = make_config(
        {
            "ch": (good, {"start": start.date().isoformat()}),
            "ch_bad": (bad, {"start": start.date().isoformat(), "_key": wrong}),
        }
    )
    leadkit_log = logging.getLogger("leadkit")
    leadkit_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="leadkit"):
            extract = run_extract(cfg, handle_signals=False)
    finally:
        leadkit_log.removeHandler(caplog.handler)
    assert extract.exit_code == EXIT_FAILED
    by = {s.name: s for s in extract.sources}
    assert by["ch"].status == "success"
    assert by["ch"].inserted > 0
    failed = by["ch_bad"]
    assert failed.status == "failed"
    assert failed.retries == 0
    assert failed.error is not None
    assert "ch_bad" in failed.error
    assert "api_key" in failed.error
    assert "Invalid API key" in failed.error
    assert "not retried" in failed.error
    assert wrong not in failed.error
    assert wrong not in caplog.text
    # Every request of the failed source was answered once; none was sent again.
    assert len(bad.call(lambda: list(bad.server.requests))) == failed.requests <= 4
    wh = Warehouse(cfg.warehouse.path)
    for table in ("_runs", "_state", "_rejects", "carehome_leads"):
        dump = str(wh.sql(f"SELECT * FROM {table}").rows())
        assert wrong not in dump, table
        assert good.server.api_key not in dump, table


def test_a_malformed_body_ends_in_rejects_and_the_next_run_loads_the_window(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=2)
    sb = start_carehome(leads=80, seed=9, start=start, days=2, malformed_rate=1.0)
    cfg = make_config({"ch": (sb, {"start": start.date().isoformat(), "max_retries": 2})})
    result = run(cfg)["ch"]
    assert result.status == "success", result.error
    assert (result.inserted, result.rejects, result.requests) == (0, 3, 3 * 3)
    assert result.cursor_after is None  # the watermark never passes a rejected window
    wh = Warehouse(cfg.warehouse.path)
    rejects = wh.sql("SELECT reason, context, raw FROM _rejects ORDER BY context")
    assert rejects.height == 3
    for reason, context, raw in rejects.iter_rows():
        assert "not valid JSON after 3 attempts" in reason
        assert context.startswith("window ")
        assert "isAnonymised=false" in context
        assert "“" in raw
        assert sb.server.api_key not in raw
    assert f"window {start:%Y-%m-%dT%H:%M:%S}Z.." in rejects["context"][0]
    sb.call(lambda: sb.server.configure(malformed_rate=0.3))
    cfg_patient = make_config({"ch": (sb, {"start": start.date().isoformat(), "max_retries": 10})})
    again = run(cfg_patient)["ch"]
    assert again.status == "success"
    assert again.cursor_after is not None
    assert_equals_server(wh, sb)


def test_server_faults_are_retried_and_categories_and_envelope_are_honoured(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=3)
    sb = start_carehome(leads=240, seed=10, start=start, days=3, fault_rate=0.3, envelope=True)
    cfg = make_config(
        {"ch": (sb, {"start": start.date().isoformat(), "categories": [2, 3], "max_retries": 10})}
    )
    result = run(cfg)["ch"]
    assert result.status == "success", result.error
    assert result.retries > 0
    wh = Warehouse(cfg.warehouse.path)
    rows = stored(wh)
    wanted = [r for r in server_leads(sb) if r["category"]["id"] in (2, 3)]
    assert sorted(rows) == sorted(r["id"] for r in wanted)
    for rec in wanted:
        got = {k: rows[rec["id"]][k] for k in expected_row(rec)}
        got["dq_warnings"] = sorted(got["dq_warnings"])
        assert got == expected_row(rec)
    sent = {dict(r.params).get("categoryId") for r in sb.call(lambda: list(sb.server.requests))}
    assert sent == {"2", "3"}


def test_an_id_reused_with_another_category_is_quarantined(
    start_carehome: StartSandbox, make_config: MakeConfig
) -> None:
    start = TODAY - timedelta(days=2)
    sb = start_carehome(leads=40, seed=12, start=start, days=2, quirk_rate=0, anonymised_rate=0)
    original = server_leads(sb)[0]
    clash = {
        **original,
        "category": {"id": 5, "name": "Email Details Request"},
        "date": f"{start + timedelta(days=1, hours=3):%Y-%m-%dT%H:%M:%S}.250Z",
        "categorySpecificData": {"instruction": "Email Me Details"},
    }
    if original["category"]["id"] == 5:
        clash["category"] = {"id": 4, "name": "Call Back Request"}
    sb.call(lambda: sb.server.add_record(clash))
    cfg = make_config({"ch": (sb, {"start": start.date().isoformat(), "concurrency": 1})})
    result = run(cfg)["ch"]
    assert result.status == "success"
    assert result.rejects == 1
    wh = Warehouse(cfg.warehouse.path)
    row = stored(wh)[original["id"]]
    assert row["category_id"] == original["category"]["id"]
    reject = wh.sql("SELECT record_id, reason, raw FROM _rejects").row(0)
    assert reject[0] == str(original["id"])
    assert "quarantined" in reject[1]
    assert '"Email Details Request"' in reject[2] or '"Call Back Request"' in reject[2]
