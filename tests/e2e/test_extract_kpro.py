"""KPro extract end to end: real sockets on 127.0.0.1, a real DuckDB file, no mocks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import orjson

from leadkit.config import LeadkitConfig
from leadkit.engine.extract import EXIT_FAILED, run_extract
from leadkit.storage.warehouse import Warehouse
from tests.e2e.conftest import StartSandbox

MakeConfig = Callable[..., LeadkitConfig]


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def snake_obj(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): snake_obj(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_obj(v) for v in value]
    return value


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def warehouse_rows(wh: Warehouse, source: str) -> dict[int, dict[str, Any]]:
    frame = wh.sql("SELECT * FROM kpro_leads WHERE _source = ? ORDER BY id", [source])
    return {row["id"]: row for row in frame.iter_rows(named=True)}


def assert_equals_dataset(wh: Warehouse, source: str, leads: list[dict[str, Any]]) -> None:
    rows = warehouse_rows(wh, source)
    assert sorted(rows) == sorted(lead["id"] for lead in leads)
    for lead in leads:
        row = rows[lead["id"]]
        assert orjson.loads(row["_raw"]) == lead
        assert row["created_at"] == ts(lead["createdAt"])
        assert row["updated_at"] == ts(lead["updatedAt"])
        assert str(row["created_at"].tzinfo) == "UTC"
        for field in (
            "email",
            "firstName",
            "phone",
            "eligibilityStatus",
            "enquiryType",
            "annualHouseholdIncome",
            "dependants",
            "keyworker",
            "homeOwnershipStatus",
        ):
            assert row[snake(field)] == lead[field], field
        for field in (
            "site",
            "housingProvider",
            "listing",
            "property",
            "development",
            "livingCircumstance",
            "workingCircumstance",
            "buyingInterestPeriod",
            "source",
        ):
            assert row[snake(field)] == snake_obj(lead[field]), field
        dob = lead["dateOfBirth"]
        assert row["date_of_birth"] == (date.fromisoformat(dob) if dob else None)


def dataset(sb: Any) -> list[dict[str, Any]]:
    return list(sb.call(lambda: sb.server.leads()))


def test_full_extract_equals_the_sandbox_dataset(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=1500, seed=7)
    cfg = make_config({"main": (sb, {"page_size": 200, "concurrency": 4})})
    result = run_extract(cfg, handle_signals=False)
    assert result.ok, result.sources
    wh = Warehouse(cfg.warehouse.path)
    leads = dataset(sb)
    assert len(leads) == 1500
    assert_equals_dataset(wh, "main", leads)
    src = result.sources[0]
    assert (src.pages, src.records, src.inserted, src.rejects) == (8, 1500, 1500, 0)
    run = wh.sql("SELECT status, pages, leads_inserted, error FROM _runs").rows()
    assert run == [("success", 8, 1500, None)]
    # Nulls survive as nulls, not as empty strings.
    nulls = sum(1 for lead in leads if lead["phone"] is None)
    assert nulls > 0
    assert wh.sql("SELECT count(*) AS n FROM kpro_leads WHERE phone IS NULL")["n"][0] == nulls
    # The canonical view covers the same leads.
    assert wh.sql("SELECT count(*) AS n FROM leads WHERE system = 'kpro'")["n"][0] == 1500


def test_rerun_changes_nothing_and_incremental_adds_exactly_the_new_leads(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=600, seed=3)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 3})})
    first = run_extract(cfg, handle_signals=False).sources[0]
    assert first.inserted == 600
    second = run_extract(cfg, handle_signals=False).sources[0]
    assert (second.inserted, second.updated, second.rejects) == (0, 0, 0)
    sb.call(lambda: sb.server.add_leads(37))
    third = run_extract(cfg, handle_signals=False).sources[0]
    assert (third.inserted, third.updated) == (37, 0)
    # The incremental run asked only for recent leads (cursor minus overlap), ascending.
    last_query = sb.call(lambda: sb.server.requests[-1])
    query = dict(last_query.query)
    assert "createdAt.gte" in query
    assert query["sort"] == "createdAt"
    wh = Warehouse(cfg.warehouse.path)
    assert_equals_dataset(wh, "main", dataset(sb))
    state = wh.sql("SELECT cursor FROM _state WHERE source = 'main'")["cursor"][0]
    newest = max(ts(lead["createdAt"]) for lead in dataset(sb))
    assert ts(state) == newest


def test_full_refresh_rereads_everything_and_picks_up_edits(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=300, seed=5)
    cfg = make_config({"main": (sb, {"page_size": 100})})
    run_extract(cfg, handle_signals=False)
    result = run_extract(cfg, full_refresh=True, handle_signals=False).sources[0]
    assert (result.records, result.inserted, result.updated, result.unchanged) == (300, 0, 0, 300)
    assert result.mode == "full"


def test_twenty_percent_faults_still_complete_and_duplicate_free(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=2000, seed=11, fault_rate=0.2)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 6, "max_retries": 10})})
    result = run_extract(cfg, handle_signals=False)
    assert result.ok, result.sources[0].error
    assert result.sources[0].retries > 0
    wh = Warehouse(cfg.warehouse.path)
    counts = wh.sql("SELECT count(*) AS n, count(DISTINCT id) AS d FROM kpro_leads").row(0)
    assert counts == (2000, 2000)
    assert_equals_dataset(wh, "main", dataset(sb))


def test_wrong_key_fails_that_source_only_and_never_shows_the_key(
    start_sandbox: StartSandbox, make_config: MakeConfig, capfd: Any
) -> None:
    good = start_sandbox(leads=250, seed=1)
    bad = start_sandbox(leads=250, seed=2)
    wrong_key = "f" * 64
    cfg = make_config(
        {
            "good": (good, {"page_size": 100}),
            "bad": (bad, {"page_size": 100, "_key": wrong_key}),
        }
    )
    result = run_extract(cfg, handle_signals=False)
    assert result.exit_code == EXIT_FAILED
    by_name = {s.name: s for s in result.sources}
    assert by_name["good"].status == "success"
    assert by_name["good"].inserted == 250
    failed = by_name["bad"]
    assert failed.status == "failed"
    assert failed.error is not None
    assert "bad:" in failed.error
    assert "HTTP 401" in failed.error
    assert "Unauthenticated." in failed.error
    assert "api_key=***" in failed.error
    assert wrong_key not in failed.error
    # Not retried: one request only.
    assert len(bad.call(lambda: list(bad.server.requests))) == 1
    wh = Warehouse(cfg.warehouse.path)
    runs = wh.sql("SELECT source, status, error FROM _runs ORDER BY source").rows()
    assert runs[0][:2] == ("bad", "failed")
    assert wrong_key not in (runs[0][2] or "")
    out, err = capfd.readouterr()
    assert wrong_key not in out + err
    assert wrong_key.encode() not in cfg.warehouse.path.read_bytes()


def test_malformed_records_go_to_rejects_and_the_rest_loads(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=800, seed=4, malformed_rate=0.02)
    cfg = make_config({"main": (sb, {"page_size": 100})})
    result = run_extract(cfg, handle_signals=False).sources[0]
    leads = dataset(sb)

    def broken(lead: dict[str, Any]) -> bool:
        return (
            lead["id"] is None
            or lead["site"] is None
            or not isinstance(lead["email"], str)
            or not re.match(r"^\d{4}-\d{2}-\d{2}T", lead["createdAt"])
        )

    bad = [lead for lead in leads if broken(lead)]
    assert {lead["id"] is None for lead in bad} == {True, False}, "every kind should occur"
    assert result.status == "success"
    assert result.rejects == len(bad)
    wh = Warehouse(cfg.warehouse.path)
    rejected = wh.sql("SELECT record_id, reason, raw, context FROM _rejects")
    raws = [orjson.loads(r) for r in rejected["raw"]]
    assert sorted(raws, key=repr) == sorted(bad, key=repr)
    assert all(c.startswith("page ") for c in rejected["context"])
    assert all(reason for reason in rejected["reason"])
    loaded = set(wh.sql("SELECT id FROM kpro_leads")["id"].to_list())
    assert loaded == {lead["id"] for lead in leads if not broken(lead)}
    # A second run does not duplicate the rejects.
    run_extract(cfg, full_refresh=True, handle_signals=False)
    assert wh.sql("SELECT count(*) AS n FROM _rejects")["n"][0] == len(bad)


def test_leads_created_during_the_extract_are_neither_lost_nor_doubled(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=1000, seed=9, grow_per_request=3)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 4})})
    result = run_extract(cfg, handle_signals=False).sources[0]
    assert result.status == "success"
    wh = Warehouse(cfg.warehouse.path)
    after_first = set(wh.sql("SELECT id FROM kpro_leads")["id"].to_list())
    assert len(after_first) > 1000  # it followed leads that arrived while paging
    sb.call(lambda: sb.server.configure(grow_per_request=0))
    run_extract(cfg, handle_signals=False)
    ids = wh.sql("SELECT id FROM kpro_leads")["id"].to_list()
    assert len(ids) == len(set(ids))
    assert set(ids) == {lead["id"] for lead in dataset(sb)}
