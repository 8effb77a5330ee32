"""The DuckDB warehouse: migrations, upserts, rejects, and the reader/writer protocol."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from leadkit.errors import WarehouseBusyError, WarehouseError
from leadkit.storage.migrations import LEADS_COLUMNS, MIGRATIONS
from leadkit.storage.warehouse import Warehouse, record_rejects, upsert_frame
from leadkit.systems.base import Reject
from leadkit.systems.kpro.models import TABLE_SCHEMA, raw_hash
from leadkit.systems.kpro.tables import LEADS_TABLE


def rows(ids: list[int], raw: str = "{}") -> pl.DataFrame:
    now = datetime(2021, 3, 10, tzinfo=UTC)
    base = {c: [None] * len(ids) for c in TABLE_SCHEMA}
    base.update(
        {
            "id": ids,
            "email": [f"{i}@x.test" for i in ids],
            "created_at": [now] * len(ids),
            "updated_at": [now] * len(ids),
            "_source": ["main"] * len(ids),
            "_run_id": ["r1"] * len(ids),
            "_extracted_at": [now] * len(ids),
            "_raw": [raw.replace("ID", str(i)) for i in ids],
            "_hash": [raw_hash(raw.replace("ID", str(i)).encode()) for i in ids],
        }
    )
    return pl.DataFrame(base, schema=TABLE_SCHEMA)


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    assert wh.migrate() == MIGRATIONS[-1].version
    assert wh.migrate() == MIGRATIONS[-1].version
    applied = wh.sql("SELECT version FROM _migrations ORDER BY version")["version"].to_list()
    assert applied == [m.version for m in MIGRATIONS]
    view_cols = wh.sql("SELECT * FROM leads LIMIT 0").columns
    assert view_cols == [c for c, _ in LEADS_COLUMNS]
    for table in ("kpro_leads", "kpro_sites", "kpro_schemes", "_runs", "_state", "_rejects"):
        assert table in wh.tables()


def test_migration_7_turns_an_old_json_raw_column_into_varchar_keeping_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.duckdb"
    wh = Warehouse(path)
    with wh.writing() as con:
        upsert_frame(con, LEADS_TABLE, rows([1, 2], '{"id": ID, "email": "e"}'))
        # The shape a warehouse had before migration 7: _raw as DuckDB's JSON type.
        con.execute("ALTER TABLE kpro_leads ALTER _raw TYPE JSON")
        con.execute("DELETE FROM _migrations WHERE version = 7")
    types = "SELECT data_type FROM information_schema.columns WHERE column_name = '_raw' AND "
    with duckdb.connect(str(path), read_only=True) as raw:
        assert raw.sql(types + "table_name = 'kpro_leads'").fetchall() == [("JSON",)]
    assert Warehouse(path).migrate() == MIGRATIONS[-1].version
    for table in ("kpro_leads", "ovipro_leads", "ovipro_outgoing_leads", "carehome_leads"):
        assert wh.sql(types + f"table_name = '{table}'").rows() == [("VARCHAR",)]
    got = wh.sql("SELECT id, _raw ->> 'email' AS email FROM kpro_leads ORDER BY id").rows()
    assert got == [(1, "e"), (2, "e")]
    with wh.writing() as con:
        con.execute("CHECKPOINT")
        methods = con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('kpro_leads') "
            "WHERE column_name = '_raw' AND segment_type = 'VARCHAR'"
        ).fetchall()
    assert methods == [("ZSTD",)]


def test_reference_tables_hold_the_spec_lists(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    site = wh.sql("SELECT code, name FROM kpro_sites WHERE id = 6").rows()
    assert site == [("API", "KPro Marketing API")]
    assert wh.sql("SELECT count(*) AS n FROM kpro_sites")["n"][0] == 21
    assert wh.sql("SELECT count(*) AS n FROM kpro_working_circumstances")["n"][0] == 9


def test_upsert_counts_inserted_updated_unchanged(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.writing() as con:
        c1 = upsert_frame(con, LEADS_TABLE, rows([1, 2, 3], '{"id": ID}'))
        c2 = upsert_frame(con, LEADS_TABLE, rows([2, 3, 4], '{"id": ID}'))
        changed = rows([3], '{"id": ID, "changed": true}').with_columns(
            pl.lit("r2").alias("_run_id")
        )
        c3 = upsert_frame(con, LEADS_TABLE, changed)
    assert (c1.inserted, c1.updated, c1.unchanged) == (3, 0, 0)
    assert (c2.inserted, c2.updated, c2.unchanged) == (1, 0, 2)
    assert (c3.inserted, c3.updated, c3.unchanged) == (0, 1, 0)
    got = wh.sql("SELECT id, _run_id FROM kpro_leads ORDER BY id").rows()
    assert got == [(1, "r1"), (2, "r1"), (3, "r2"), (4, "r1")]


def test_same_reject_twice_is_counted_not_duplicated(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    rej = [Reject("email is missing or null", '{"id": 5}', "5", "page 1")]
    with wh.writing() as con:
        record_rejects(con, rej, source="main", system="kpro", table="kpro_leads", run_id="r1")
        record_rejects(con, rej, source="main", system="kpro", table="kpro_leads", run_id="r2")
    got = wh.sql("SELECT record_id, reason, times_seen, first_run_id, last_run_id FROM _rejects")
    assert got.rows() == [("5", "email is missing or null", 2, "r1", "r2")]


def test_reading_a_missing_warehouse_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"no warehouse at .*leadkit extract"):
        Warehouse(tmp_path / "none.duckdb").sql("SELECT 1")


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_reader_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    proc = _hold(path, 0.7)
    try:
        # The other process holds the file for 0.7 s; the read waits instead of failing.
        assert Warehouse(path, busy_timeout_s=20).sql("SELECT 42 AS x")["x"][0] == 42
    finally:
        proc.wait(timeout=20)


def test_reader_gives_up_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    proc = _hold(path, 5)
    try:
        with pytest.raises(WarehouseBusyError, match=r"is busy: process \d+ has held it"):
            Warehouse(path, busy_timeout_s=0.3).sql("SELECT 1")
    finally:
        proc.kill()
        proc.wait(timeout=20)


def test_a_writer_never_gets_a_read_only_connection_in_the_same_process(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    with (
        wh.reading(),
        pytest.raises(WarehouseError, match="holds it open read-only"),
        wh.writing(),
    ):
        pass
    with wh.writing() as con:  # once the reader is closed, writing works again
        con.execute("SELECT 1").fetchall()


def test_queries_share_one_open_connection_that_a_writer_here_takes_back(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    assert wh.sql("SELECT count(*) AS n FROM kpro_leads")["n"][0] == 0
    reader = wh._shared()
    assert reader.is_open
    for _ in range(5):
        wh.query("size=1", table="kpro_leads")
    assert reader.opens == 1  # one open for six calls
    # A writer in this process gets the file at once; the next query sees its rows.
    with wh.writing() as con:
        con.execute("INSERT INTO kpro_leads (id, _source) VALUES (1, 'main')")
    assert not reader.is_open
    assert wh.query("", table="kpro_leads").total == 1
    assert reader.opens == 2


def test_a_script_that_queried_exits_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    code = textwrap.dedent(
        f"""
        import leadkit
        wh = leadkit.connect({str(path)!r})
        print(wh.sql("SELECT 1 AS one")["one"][0], wh.query("", table="leads").total)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (run.returncode, run.stdout.split(), run.stderr) == (0, ["1", "0"], "")
