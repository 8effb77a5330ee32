"""The dashboard's data module: filter plans, caching keyed on the warehouse file, and
reading while a real ``leadkit extract`` process writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from leadkit.dashboard.data import DashboardData
from leadkit.dashboard.scope import LEAD_TABLES, Scope, compile_filter, relation_sql, view_columns
from leadkit.sandbox import SandboxThread
from leadkit.storage.migrations import LEADS_COLUMNS
from leadkit.storage.warehouse import Warehouse
from leadkit.systems import get_system, known_kinds
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
from tests.dashboard.conftest import warehouse_of

SCHEMAS = {
    "kpro_leads": {"eligibility_status": "VARCHAR", "created_at": "TIMESTAMPTZ"},
    "ovipro_leads": {"lead_status_code": "VARCHAR", "created_at": "TIMESTAMPTZ"},
}


@pytest.mark.parametrize(
    ("text", "bound", "left_out", "error"),
    [
        ("", ["kpro_leads", "ovipro_leads"], [], None),
        ("eligibilityStatus=passed", ["kpro_leads"], ["ovipro_leads"], None),
        ("createdAt.gte=2021-03-01", ["kpro_leads", "ovipro_leads"], [], None),
        ("leadStatusCode=NEW&sort=-createdAt&size=5", ["ovipro_leads"], ["kpro_leads"], None),
        ("nope=1", [], ["kpro_leads", "ovipro_leads"], "unknown field 'nope'"),
        ("createdAt.gte=yesterday", [], ["kpro_leads", "ovipro_leads"], "'yesterday'"),
    ],
    ids=["empty", "one-table", "both", "shaping-ignored", "unknown", "bad-value"],
)
def test_filter_plan_binds_per_table(
    text: str, bound: list[str], left_out: list[str], error: str | None
) -> None:
    plan = compile_filter(text, SCHEMAS)
    assert sorted(plan.tables) == bound
    assert sorted(plan.left_out) == left_out
    if error is None:
        assert plan.error is None
    else:
        assert plan.error is not None
        assert error in str(plan.error)


def test_every_lead_system_has_a_dashboard_table_read_from_its_view() -> None:
    assert sorted(t.system for t in LEAD_TABLES) == sorted(
        k for k in known_kinds("source") if get_system(k).view_sql
    )
    for t in LEAD_TABLES:
        table, columns = view_columns(get_system(t.system).view_sql)
        assert table == t.table
        assert list(columns) == [c for c, _ in LEADS_COLUMNS], t.system
        assert columns["system"] == f"'{t.system}'"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a AS system FROM x JOIN y USING (id)",
        "SELECT 'x' AS system, a + 1 FROM x",
        "WITH t AS (SELECT 1) SELECT * FROM t",
    ],
)
def test_a_view_the_dashboard_cannot_read_fails_loudly(sql: str) -> None:
    with pytest.raises(ValueError, match=r"not a plain SELECT|without a name"):
        view_columns(sql)


def test_dashboard_relations_give_the_rows_of_the_leads_view(sandbox_config: Path) -> None:
    """Each lead table as the dashboard reads it holds exactly that system's rows of the
    real ``leads`` view, column for column (``source`` is ``_source``: KPro has a
    ``source`` field of its own, which the filter box keeps)."""
    wh = warehouse_of(sandbox_config)
    names = [c for c, _ in LEADS_COLUMNS if c != "source"]
    cols = ", ".join(names)
    for t in LEAD_TABLES:
        columns = dict(
            wh.sql(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ?",
                [t.table],
            ).iter_rows()
        )
        rel = relation_sql(t, columns)
        ours = f"SELECT {cols}, _source AS source FROM ({rel})"
        view = f"SELECT {cols}, source FROM leads WHERE system = '{t.system}'"
        rows = wh.sql(f"SELECT count(*) AS n FROM ({ours})")["n"][0]
        assert rows > 100, t.table
        diff = wh.sql(
            f"SELECT count(*) AS n FROM (({ours} EXCEPT ALL {view}) "
            f"UNION ALL ({view} EXCEPT ALL {ours}))"
        )["n"][0]
        assert diff == 0, f"{t.table}: {diff} rows differ from the leads view"


def test_results_are_cached_until_the_warehouse_file_changes(
    sandbox_config: Path, tmp_path: Path
) -> None:
    shutil.copy(warehouse_of(sandbox_config).path, tmp_path / "w.duckdb")
    wh = Warehouse(tmp_path / "w.duckdb")
    data = DashboardData(wh)
    scope = Scope(start=date(2021, 1, 1), end=date(2030, 1, 1))
    first = data.overview(scope)
    assert data.overview(scope) is first  # nothing changed: served from the cache
    before = int(first["total"].sum())
    with wh.writing() as con:
        con.execute(
            "INSERT INTO kpro_leads SELECT * REPLACE (id + 90000000 AS id) FROM kpro_leads "
            "ORDER BY id LIMIT 7"
        )
    after = data.overview(scope)
    assert after is not first
    assert int(after["total"].sum()) == before + 7


def test_dashboard_reads_while_an_extract_process_writes(tmp_path: Path) -> None:
    # 30 pages, two at a time, 0.1 s each: the extract lasts several hold_s periods.
    cfg = KProSandboxConfig(leads=3000, seed=5, latency_s=0.1)
    Warehouse(tmp_path / "leadkit.duckdb").migrate()
    with SandboxThread(lambda: KProSandbox(cfg)) as sb:
        config = tmp_path / "leadkit.toml"
        config.write_text(
            '[warehouse]\npath = "leadkit.duckdb"\nhold_s = 0.3\n\n[sources.kpro]\nkind = "kpro"\n'
            f'base_url = "{sb.base_url}"\napi_key = "${{DASHTEST_KEY:-{sb.server.api_key}}}"\n'
            "page_size = 100\nconcurrency = 2\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadkit", "extract", "--config", str(config), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        data = DashboardData(Warehouse(tmp_path / "leadkit.duckdb", busy_timeout_s=30))
        seen: list[int] = []
        deadline = time.monotonic() + 90
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                with data.batch():
                    seen.append(int(data.overview(Scope())["total"].sum()))
                    data.volumes(Scope(), "month")
                time.sleep(0.05)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        assert proc.returncode == 0, stderr
    assert len(seen) >= 3, seen
    assert seen == sorted(seen)
    assert seen[0] < 3000  # read part-way through the extract
    assert int(data.overview(Scope())["total"].sum()) == 3000
