"""``leadkit query``: every format as a real process, other paths through typer's runner.

The processes of this module start together (one fixture) so their start-up overlaps.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from leadkit.cli.app import app
from leadkit.storage.warehouse import Warehouse
from tests.storage._leads import LEADS, build_warehouse, default_order, key, ts

QUERY = "createdAt.gte=2021-03-01&site.id.in=1,2"
EXPECTED = default_order(
    [r for r in LEADS if r["created_at"] >= ts("2021-03-01 00:00") and r["site"]["id"] in (1, 2)]
)


@dataclass
class Run:
    code: int
    out: str
    err: str


RUNS: dict[str, list[str]] = {
    "table": [QUERY, "-t", "kpro_leads"],
    "csv": [QUERY, "-t", "kpro_leads", "--format", "csv"],
    "json": [QUERY, "-t", "kpro_leads", "--format", "json"],
    "parquet": [QUERY, "-t", "kpro_leads", "-f", "parquet", "-o", "{dir}/page.parquet"],
    "bad-query": ["createdAtt.gte=2021-03-01&size=5000&site.id=[bold]x", "-t", "kpro_leads"],
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Warehouse, dict[str, Run]]:
    directory = tmp_path_factory.mktemp("cli")
    wh = build_warehouse(directory / "w.duckdb")
    (directory / "leadkit.toml").write_text('[warehouse]\npath = "w.duckdb"\n')
    (directory / "missing.toml").write_text('[warehouse]\npath = "nothing-here.duckdb"\n')
    env = {**os.environ, "LEADKIT_CONFIG": str(directory / "leadkit.toml"), "COLUMNS": "200"}
    procs = {}
    for name, args in RUNS.items():
        argv = [a.replace("{dir}", str(directory)) for a in args]
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "leadkit", "query", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=directory,
        )
    runs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        runs[name] = Run(proc.returncode, out, err)
    return directory, wh, runs


def test_table_format_shows_rows_and_the_count_line(
    setup: tuple[Path, Warehouse, dict[str, Run]],
) -> None:
    run = setup[2]["table"]
    assert (run.code, run.err) == (0, "")
    assert f"{len(EXPECTED)} of {len(EXPECTED)} rows, page 1 of 1" in run.out
    assert "kpro_leads: created_at >= 2021-03-01 00:00:00 UTC and site.id in [1, 2]" in run.out
    for lead in EXPECTED:
        assert str(lead["id"]) in run.out
    assert "Traceback" not in run.out


def test_csv_to_stdout_flattens_structs(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = setup[2]["csv"]
    assert run.code == 0
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["_source"], int(r["id"])) for r in rows] == [key(r) for r in EXPECTED]
    assert rows[0]["site.code"] == EXPECTED[0]["site"]["code"]
    assert rows[0]["created_at"] == EXPECTED[0]["created_at"].isoformat()
    assert "_raw" not in rows[0]


def test_json_lines_to_stdout(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = setup[2]["json"]
    assert run.code == 0
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [(r["_source"], r["id"]) for r in rows] == [key(r) for r in EXPECTED]
    assert rows[0]["site"] == EXPECTED[0]["site"]
    assert rows[0]["created_at"] == EXPECTED[0]["created_at"].isoformat()


def test_parquet_round_trips_the_frame(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    directory, wh, runs = setup
    run = runs["parquet"]
    assert (run.code, run.out) == (0, "")
    assert run.err.strip() == (
        f"{len(EXPECTED)} of {len(EXPECTED)} rows, page 1 of 1 to {directory}/page.parquet"
    )
    written = pl.read_parquet(directory / "page.parquet")
    assert_frame_equal(written, wh.query(QUERY, table="kpro_leads").frame)


def test_bad_query_exits_2_listing_every_problem(
    setup: tuple[Path, Warehouse, dict[str, Run]],
) -> None:
    run = setup[2]["bad-query"]
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "error: invalid query (3 problems):\n"
        "  - size=5000 is over the maximum 1000; use size<=1000 and page through with page=\n"
        "  - unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean "
        "'created_at'?\n"
        "  - site.id='[bold]x' is not a whole number\n"
    )


def invoke(setup: tuple[Path, Warehouse, dict[str, Run]], *args: str) -> Run:
    """Run ``leadkit query ARGS`` in this process (the real app, no fakes)."""
    directory = setup[0]
    argv = ["query", *args, "--config", str(directory / "leadkit.toml")]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def test_csv_to_a_file(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    out = setup[0] / "p.csv"
    run = invoke(setup, "size=3&fields=id,site", "-t", "kpro_leads", "-f", "csv", "-o", str(out))
    assert (run.code, run.out) == (0, "")
    assert run.err == f"3 of {len(LEADS)} rows, page 1 of 16 to {out}\n"
    lines = out.read_text().splitlines()
    assert lines[0] == "id,site.id,site.code,site.name"
    assert len(lines) == 4


def test_one_problem_is_one_line(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = invoke(setup, "site.id.gtx=1", "-t", "kpro_leads")
    assert run.code == 2
    assert run.err == (
        "error: unknown operator 'gtx' in 'site.id.gtx=1'; "
        "allowed: not, gt, lt, gte, lte, ltt, in, notin, null, notnull\n"
    )


def test_unknown_table_exits_2(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = invoke(setup, "", "-t", "kpro_lead")
    assert run.code == 2
    assert run.err.startswith("error: unknown table 'kpro_lead'; did you mean 'kpro_leads'?")


def test_parquet_needs_an_output_file(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = invoke(setup, "", "-f", "parquet")
    assert (run.code, run.out) == (2, "")
    assert run.err == "error: --format parquet writes a binary file: add --output FILE.parquet\n"


def test_table_format_cannot_go_to_a_file(setup: tuple[Path, Warehouse, dict[str, Run]]) -> None:
    run = invoke(setup, "", "-o", str(setup[0] / "x.txt"))
    assert run.code == 2
    assert run.err == "error: --output needs --format csv, json or parquet\n"


def test_missing_warehouse_exits_4_saying_what_to_run(
    setup: tuple[Path, Warehouse, dict[str, Run]],
) -> None:
    argv = ["query", "", "--config", str(setup[0] / "missing.toml")]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert result.exit_code == 4
    assert "no warehouse at" in result.stderr
    assert "leadkit extract" in result.stderr
