"""leadkit as scheduled jobs run it: real processes, signals, locks, concurrent readers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from leadkit.config import LeadkitConfig
from leadkit.engine.extract import EXIT_INTERRUPTED, EXIT_LOCKED
from leadkit.errors import WarehouseError
from leadkit.storage.warehouse import Warehouse
from tests.e2e.conftest import StartSandbox, leadkit_cli

MakeConfig = Callable[..., LeadkitConfig]


def start_extract(cfg: LeadkitConfig, *extra: str) -> subprocess.Popen[str]:
    assert cfg.path is not None
    return subprocess.Popen(
        [sys.executable, "-m", "leadkit", "extract", "--config", str(cfg.path), "--quiet", *extra],
        cwd=cfg.path.parent,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def count(wh: Warehouse) -> int:
    try:
        return int(wh.sql("SELECT count(*) AS n FROM kpro_leads")["n"][0])
    except WarehouseError:
        return 0


def wait_for_rows(
    wh: Warehouse, proc: subprocess.Popen[str], minimum: int, timeout: float = 60
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = count(wh) if wh.path.exists() else 0
        if n >= minimum:
            return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"fewer than {minimum} rows after {timeout}s")


def ids(wh: Warehouse) -> list[int]:
    return [int(i) for i in wh.sql("SELECT id FROM kpro_leads")["id"].to_list()]


def dataset_ids(sb: Any) -> set[int]:
    return {lead["id"] for lead in sb.call(lambda: sb.server.leads())}


def test_sigkill_half_way_then_rerun_ends_with_exactly_the_dataset(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    # About 3 s of fetching (30 pages, two at a time, 0.2 s each), and a writer that lets
    # readers in after 0.1 s: rows are visible long before the end, even on a loaded machine.
    sb = start_sandbox(leads=3000, seed=21, latency_s=0.2)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 2})}, hold_s=0.1)
    wh = Warehouse(cfg.warehouse.path, busy_timeout_s=30)
    proc = start_extract(cfg)
    partial = wait_for_rows(wh, proc, 300)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 0 < partial < 3000
    assert count(wh) < 3000
    rerun = leadkit_cli(
        "extract", "--config", str(cfg.path), "--quiet", cwd=cfg.warehouse.path.parent
    )
    assert rerun.returncode == 0, rerun.stderr
    got = ids(wh)
    assert len(got) == len(set(got))
    assert set(got) == dataset_ids(sb)
    statuses = wh.sql("SELECT status FROM _runs ORDER BY started_at")["status"].to_list()
    assert statuses == ["killed", "success"]


def test_sigterm_stops_cleanly_after_the_current_commit(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    # As above: the signal lands while pages are still coming, even on a loaded machine.
    sb = start_sandbox(leads=3000, seed=22, latency_s=0.2)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 2})}, hold_s=0.1)
    wh = Warehouse(cfg.warehouse.path, busy_timeout_s=30)
    proc = start_extract(cfg)
    wait_for_rows(wh, proc, 200)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED
    run = wh.sql("SELECT status, pages, leads_inserted FROM _runs").row(0)
    assert run[0] == "interrupted"
    assert run[2] == count(wh)
    again = leadkit_cli(
        "extract", "--config", str(cfg.path), "--quiet", cwd=cfg.warehouse.path.parent
    )
    assert again.returncode == 0, again.stderr
    assert set(ids(wh)) == dataset_ids(sb)


def test_a_second_extract_on_the_same_warehouse_exits_with_its_own_code(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    # Slow enough (40 pages × 0.3 s, one at a time) that the first run is still going
    # while the other two start, even on a loaded machine; it is stopped at the end.
    sb = start_sandbox(leads=4000, seed=23, latency_s=0.3)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 1})})
    wh = Warehouse(cfg.warehouse.path, busy_timeout_s=30)
    first = start_extract(cfg)
    try:
        wait_for_rows(wh, first, 100)
        second = leadkit_cli("extract", "--config", str(cfg.path), cwd=cfg.warehouse.path.parent)
        assert second.returncode == EXIT_LOCKED
        assert "another leadkit extract" in second.stderr
        assert f"PID {first.pid}" in second.stderr
        # The code is configurable for schedulers that treat 75 specially.
        assert cfg.path is not None
        other = cfg.path.with_name("custom.toml")
        other.write_text(
            cfg.path.read_text().replace("[warehouse]\n", "[warehouse]\nlocked_exit_code = 3\n")
        )
        third = leadkit_cli("extract", "--config", str(other), cwd=cfg.warehouse.path.parent)
        assert third.returncode == 3, third.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)


def test_readers_in_another_process_never_fail_while_an_extract_writes(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=4000, seed=24, latency_s=0.01)
    cfg = make_config({"main": (sb, {"page_size": 100, "concurrency": 4})}, hold_s=0.2)
    wh = Warehouse(cfg.warehouse.path, busy_timeout_s=30)
    proc = start_extract(cfg)
    seen: list[int] = []
    reads = 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if wh.path.exists():
            seen.append(int(wh.sql("SELECT count(*) AS n FROM kpro_leads")["n"][0]))
            reads += 1
    assert proc.wait(timeout=60) == 0, proc.communicate()
    assert reads >= 5
    assert seen == sorted(seen)  # each read sees a committed state; counts never go back
    assert count(wh) == 4000


def test_cli_json_logs_and_runs_history_hold_no_secret(
    start_sandbox: StartSandbox, make_config: MakeConfig
) -> None:
    sb = start_sandbox(leads=300, seed=25, fault_rate=0.3)
    cfg = make_config({"main": (sb, {"page_size": 100, "max_retries": 10})})
    assert cfg.path is not None
    res = leadkit_cli(
        "extract", "--config", str(cfg.path), "--log-format", "json", cwd=cfg.path.parent
    )
    assert res.returncode == 0, res.stderr
    key = sb.server.api_key
    assert key not in res.stdout + res.stderr
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert events[0]["event"] == "source_finished"
    assert events[0]["inserted"] == 300
    for line in res.stderr.splitlines():
        doc = orjson.loads(line)  # every log line is JSON
        assert {"ts", "level", "msg"} <= set(doc)
    runs = leadkit_cli("runs", "--config", str(cfg.path), "--json", cwd=cfg.path.parent)
    assert runs.returncode == 0, runs.stderr
    assert orjson.loads(runs.stdout.splitlines()[0])["status"] == "success"


def test_init_writes_a_config_that_validates_once_the_key_is_set(tmp_path: Path) -> None:
    res = leadkit_cli("init", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "leadkit.toml").read_text()
    assert "${KPRO_API_KEY}" in text
    missing = leadkit_cli("extract", cwd=tmp_path)
    assert missing.returncode == 2
    assert "KPRO_API_KEY is not set" in missing.stderr
    again = leadkit_cli("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr
