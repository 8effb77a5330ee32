"""``leadkit push`` as real processes: SIGKILL half-way, SIGTERM, the CLI commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import orjson

from leadkit.push.engine import EXIT_INTERRUPTED
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from tests.e2e.conftest import leadkit_cli
from tests.push.conftest import (  # noqa: F401 - fixtures
    DEST_KEY,
    LEADS,
    PushEnv,
    env,
    kpro_dest,
    warehouse_template,
)
from tests.push.test_kpro import StartDest, created


def start_push(where: PushEnv, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "leadkit", "push", "out", "--config", str(where.config_path),
         "--quiet", *extra],
        cwd=where.directory,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def wait_for_created(sb: SandboxThread, proc: subprocess.Popen[str], minimum: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = len(created(sb))
        if n >= minimum:
            return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"fewer than {minimum} leads imported after 60s")


def test_sigkill_half_way_then_rerun_delivers_each_lead_exactly_once(
    env: PushEnv,  # noqa: F811
    kpro_dest: StartDest,  # noqa: F811
) -> None:
    sb = kpro_dest(latency_s=0.1)
    env.config(out=(sb, {"batch_size": 4, "concurrency": 2}))
    proc = start_push(env)
    wait_for_created(sb, proc, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = len(created(sb))
    assert 0 < partial < LEADS
    left = Counter(r["status"] for r in deliveries(env.warehouse, limit=None).iter_rows(named=True))
    assert left["sent"] < LEADS

    rerun = leadkit_cli("push", "out", "--config", str(env.config_path), "--quiet",
                        cwd=env.directory)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr

    refs = created(sb)
    assert len(refs) == LEADS
    assert set(refs.values()) == {1}
    stored = sb.call(lambda: sb.server.leads())
    assert len(stored) == LEADS
    rows = deliveries(env.warehouse, limit=None)
    assert rows.height == LEADS
    assert set(rows["status"]) <= {"sent", "skipped-duplicate"}
    # requests in flight at the kill were resent and answered "duplicate" by KPro
    resent = sum(1 for i in sb.call(lambda: sb.server.imported) if i.status == "duplicate")
    assert (rows["status"] == "skipped-duplicate").sum() == resent
    runs = env.warehouse.sql("SELECT status FROM _pushes ORDER BY started_at")["status"]
    assert runs.to_list() == ["killed", "success"]


def test_sigterm_stops_after_requests_in_flight_and_leaves_nothing_pending(
    env: PushEnv,  # noqa: F811
    kpro_dest: StartDest,  # noqa: F811
) -> None:
    sb = kpro_dest(latency_s=0.1)
    env.config(out=(sb, {"batch_size": 4, "concurrency": 2}))
    proc = start_push(env)
    wait_for_created(sb, proc, 40)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    rows = deliveries(env.warehouse, limit=None)
    assert set(rows["status"]) == {"sent"}  # unstarted leads were put back, none pending
    assert rows.height == len(created(sb)) < LEADS
    runs = env.warehouse.sql("SELECT status FROM _pushes")["status"].to_list()
    assert runs == ["interrupted"]
    rerun = leadkit_cli("push", "out", "--config", str(env.config_path), "--quiet",
                        cwd=env.directory)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert len(created(sb)) == LEADS
    assert set(created(sb).values()) == {1}


def test_push_and_deliveries_through_the_cli(
    env: PushEnv,  # noqa: F811
    kpro_dest: StartDest,  # noqa: F811
) -> None:
    sb = kpro_dest()
    env.config(out=(sb, {}))
    config = str(env.config_path)
    dry = leadkit_cli("push", "out", "--config", config, "--dry-run", "--where", "status=passed",
                      "--limit", "3", cwd=env.directory)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "would-send" in dry.stdout
    assert "externalRef" in dry.stdout
    assert sb.call(lambda: len(sb.server.requests)) == 0

    done = leadkit_cli("push", "out", "--config", config, "--log-format", "json",
                       cwd=env.directory)  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert line["event"] == "push_finished"
    assert line["counts"] == {"sent": LEADS}
    assert DEST_KEY not in done.stdout + done.stderr

    listed = leadkit_cli("deliveries", "--config", config, "--format", "json", "--status", "sent",
                         cwd=env.directory)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = [orjson.loads(x) for x in listed.stdout.splitlines()]
    assert len(rows) == LEADS
    assert {r["destination"] for r in rows} == {"out"}
    csv = leadkit_cli("deliveries", "--config", config, "--format", "csv", cwd=env.directory)
    assert csv.returncode == 0, csv.stderr
    assert "+00:00" in csv.stdout  # ISO 8601, as `leadkit query` writes times
    assert "+0000" not in csv.stdout
    table = leadkit_cli("deliveries", "--config", config, cwd=env.directory)
    assert "Deliveries" in table.stdout
    assert "sent" in table.stdout

    unknown = leadkit_cli("push", "nope", "--config", config, cwd=env.directory)
    assert unknown.returncode == 2
    assert "unknown destination 'nope'; configured destinations: out" in unknown.stderr
    assert not list(env.directory.rglob("*.push-nope*"))  # no lock file left behind
    bad = leadkit_cli("push", "out", "--config", config, "--where", "stauts=passed",
                      cwd=env.directory)  # fmt: skip
    assert bad.returncode == 2
    assert "did you mean 'status'" in bad.stderr
