"""Extract benchmark: ``leadkit extract`` and a dlt baseline against the KPro sandbox.

Every run is a separate process: the sandbox (``python -m leadkit.systems.kpro.simulator``,
all JSON rendered at start with ``--prerender``), ``leadkit extract --quiet`` with a
fresh ``leadkit.toml`` and warehouse in a temporary directory, and the dlt baseline
(``bench/dlt_baseline.py`` in its own environment ``bench/.venv-dlt``). For each run the
bench records the wall time, the peak RSS and CPU time of that process (``os.wait4``), the
sandbox's CPU time, and checks that the warehouse holds exactly the sandbox's leads (count
and distinct ids). A run that loads the wrong number of rows is reported as a failure.

Usage (``make bench`` runs the first)::

    .venv/bin/python bench/extract.py                 # everything, 3 repeats, ~15 min
    .venv/bin/python bench/extract.py --quick         # 10,000 leads, 1 repeat, no 1M run
    .venv/bin/python bench/extract.py --only 'leadkit-50ms-*' --repeat 1
    .venv/bin/python bench/extract.py --skip-1m --no-dlt
    .venv/bin/python bench/extract.py --list
    .venv/bin/python bench/extract.py --only leadkit-0ms-p1000-c16 --profile

It prints a markdown table and writes ``bench/results/extract-<date>T<time>.json``.
``bench/README.md`` and ``docs/benchmarks.md`` explain the method and the figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import fnmatch
import json
import math
import os
import platform
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PYTHON = Path(sys.executable)
LEADKIT = PYTHON.parent / "leadkit"
DLT_VENV = BENCH / ".venv-dlt"
DLT_PYTHON = DLT_VENV / "bin" / "python"
DLT_REQUIREMENTS = BENCH / "requirements-dlt.txt"
PY_SPY = DLT_VENV / "bin" / "py-spy"
LEADS_PATH = "/api/bulk/open/leads"

# Targets from issue 3 (page size 1000, concurrency 16).
TARGET_FLOOR_RATIO = 1.3
TARGET_DLT_SPEEDUP = 4.0
TARGET_LEADS_PER_S = 50_000
TARGET_RSS_MB = 300

#: A run is "disturbed" when other processes used more than this share of one CPU meanwhile.
DISTURBED_SHARE = 0.1

# dlt's settings, shared by every dlt scenario (see dlt_baseline.py and docs/benchmarks.md).
DLT_COMMON = (
    "--loader-file-format=parquet",
    "--normalize-workers=2",
    "--file-max-items=20000",
    "--buffer-max-items=5000",
)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One benchmark configuration."""

    id: str
    tool: str  # "leadkit" or "dlt"
    leads: int
    latency_ms: int
    page_size: int
    concurrency: int  # leadkit: requests in flight; dlt: page-range partitions
    dlt_args: tuple[str, ...] = ()
    note: str = ""

    @property
    def pages(self) -> int:
        return math.ceil(self.leads / self.page_size)

    @property
    def latency_floor_s(self) -> float:
        """pages x latency / concurrency: the time the waits take if perfectly overlapped."""
        return self.pages * self.latency_ms / 1000 / self.concurrency

    @property
    def zero_latency_id(self) -> str:
        return re.sub(r"-\d+ms-", "-0ms-", self.id, count=1)


def scenarios(leads: int, *, big: int, with_1m: bool) -> list[Scenario]:
    """The matrix of issue 3, the 1M memory run and the dlt baselines."""
    out = [
        Scenario(f"leadkit-{lat}ms-p{page}-c{conc}", "leadkit", leads, lat, page, conc)
        for lat in (50, 0)
        for page in (1000, 100)
        for conc in (16, 8)
    ]
    if with_1m:
        out.append(Scenario("leadkit-1m-0ms-p1000-c16", "leadkit", big, 0, 1000, 16))
    for lat in (50, 0):
        out.append(
            Scenario(
                f"dlt-{lat}ms-p1000",
                "dlt",
                leads,
                lat,
                1000,
                1,
                DLT_COMMON,
                "one rest_api resource, parallelized, append",
            )
        )
        out.append(
            Scenario(
                f"dlt-part4-{lat}ms-p1000",
                "dlt",
                leads,
                lat,
                1000,
                4,
                (*DLT_COMMON, "--partitions=4", "--extract-workers=4"),
                "4 resources over page ranges, parallelized, append",
            )
        )
    out.append(
        Scenario(
            "dlt-part4-merge-50ms-p1000",
            "dlt",
            leads,
            50,
            1000,
            4,
            (*DLT_COMMON, "--partitions=4", "--extract-workers=4", "--write-disposition=merge"),
            "as dlt-part4, write_disposition=merge on id",
        )
    )
    return out


# --- processes ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_seconds() -> float:
    """CPU time spent by every process on the machine so far (all CPUs, from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, *, busy_cpus: float = 0.15) -> float:
    """Wait until the whole machine used < ``busy_cpus`` CPUs over one second (bounded).

    Returns:
        The seconds waited (``max_wait_s`` or more if the machine never became quiet).
    """
    started = time.monotonic()
    while True:
        before = system_busy_seconds()
        time.sleep(1.0)
        if system_busy_seconds() - before < busy_cpus:
            return time.monotonic() - started
        if time.monotonic() - started >= max_wait_s:
            return time.monotonic() - started


@dataclasses.dataclass
class Finished:
    """A child process that has exited, as measured by ``os.wait4``."""

    returncode: int
    started_epoch: float
    ended_epoch: float
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str


def run_measured(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path, timeout_s: float
) -> Finished:
    """Run ``cmd``; wall time, peak RSS and CPU of that process (and its waited children).

    Raises:
        TimeoutError: the process ran longer than ``timeout_s`` (it is killed).
    """
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started_epoch, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        result: list[tuple[int, int, Any]] = []
        waiter = threading.Thread(target=lambda: result.append(os.wait4(proc.pid, 0)))
        waiter.start()
        timed_out = True
        try:
            waiter.join(timeout_s)
            timed_out = waiter.is_alive()
        finally:
            if waiter.is_alive():  # timed out, or the bench itself is being stopped
                proc.kill()
                waiter.join(30)
        if timed_out or not result:
            raise TimeoutError(f"{cmd[0]} did not finish within {timeout_s:.0f} s")
        wall = time.perf_counter() - started
        ended_epoch = time.time()
    _, status, usage = result[0]
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    return Finished(
        returncode=proc.returncode,
        started_epoch=started_epoch,
        ended_epoch=ended_epoch,
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        cpu_s=usage.ru_utime + usage.ru_stime,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


class Sandbox:
    """The KPro sandbox in its own process on 127.0.0.1."""

    def __init__(self, leads: int, latency_ms: int, *, ready_timeout_s: float) -> None:
        self.leads, self.latency_ms = leads, latency_ms
        cmd = [
            str(PYTHON), "-m", "leadkit.systems.kpro.simulator", "--port", "0",
            "--leads", str(leads), "--latency-ms", str(latency_ms), "--prerender",
        ]  # fmt: skip
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.url = self._wait_for_url(ready_timeout_s)
        self.startup_s = time.perf_counter() - started
        from leadkit.systems.kpro.simulator import DEMO_API_KEY

        self.api_key = DEMO_API_KEY
        self._warm_up()

    def _wait_for_url(self, timeout_s: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        seen: list[str] = []
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if not sel.select(left):
                    continue
                line = self.proc.stdout.readline()
                if not line:
                    break
                seen.append(line)
                if line.startswith("KPRO_SANDBOX_URL="):
                    drain = threading.Thread(target=self._drain, daemon=True)
                    drain.start()  # keep reading so that a chatty sandbox never blocks
                    return line.split("=", 1)[1].strip()
        self.stop()
        raise RuntimeError(
            f"sandbox did not start within {timeout_s:.0f} s: {''.join(seen)[-500:]}"
        )

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for _ in self.proc.stdout:
                pass

    def _warm_up(self) -> None:
        """One request so that the sort order used by both tools is computed and cached."""
        url = f"{self.url}{LEADS_PATH}?api_key={self.api_key}&sort=createdAt&size=1000&page=1"
        with urllib.request.urlopen(url, timeout=60) as response:  # 127.0.0.1 only
            response.read()

    def cpu_s(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def sandbox(leads: int, latency_ms: int, *, ready_timeout_s: float) -> Iterator[Sandbox]:
    sb = Sandbox(leads, latency_ms, ready_timeout_s=ready_timeout_s)
    try:
        yield sb
    finally:
        sb.stop()


# --- one run ------------------------------------------------------------------------------


def count_rows(db: Path, table: str) -> tuple[int, int]:
    """(rows, distinct ids) in ``table`` of the DuckDB file ``db``, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows, ids = con.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchall()[0]
    finally:
        con.close()
    return int(rows), int(ids)


def engine_span(db: Path) -> tuple[float, float] | None:
    """The run's start and end (epoch seconds) as recorded in ``_runs``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = "SELECT epoch(min(started_at)), epoch(max(ended_at)) FROM _runs"
        began, ended = con.execute(sql).fetchall()[0]
    finally:
        con.close()
    return None if began is None or ended is None else (float(began), float(ended))


def leadkit_config(sc: Scenario, sb: Sandbox) -> str:
    return (
        "[warehouse]\n"
        'path = "warehouse.duckdb"\n\n'
        "[sources.kpro]\n"
        'kind = "kpro"\n'
        f'base_url = "{sb.url}"\n'
        'api_key = "${KPRO_API_KEY}"\n'
        f"page_size = {sc.page_size}\n"
        f"concurrency = {sc.concurrency}\n"
    )


def child_env(sb: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADKIT_", "VIRTUAL_ENV"))}
    env["KPRO_API_KEY"] = sb.api_key
    env["NO_COLOR"] = "1"
    return env


def run_once(sc: Scenario, sb: Sandbox, *, timeout_s: float, profile: Path | None = None) -> dict:
    """Run ``sc`` once against ``sb``; the measurements and the row check."""
    workdir = Path(tempfile.mkdtemp(prefix=f"leadkit-bench-{sc.id}-"))
    try:
        if sc.tool == "leadkit":
            (workdir / "leadkit.toml").write_text(leadkit_config(sc, sb))
            cmd = [str(LEADKIT), "extract", "--config", "leadkit.toml", "--quiet"]
            db, table = workdir / "warehouse.duckdb", "kpro_leads"
        else:
            cmd = [
                str(DLT_PYTHON), str(BENCH / "dlt_baseline.py"), "--base-url", sb.url,
                "--workdir", str(workdir), "--page-size", str(sc.page_size), *sc.dlt_args,
            ]  # fmt: skip
            db, table = workdir / "dlt.duckdb", "kpro.kpro_leads"
        if profile is not None:
            cmd = [str(PY_SPY), "record", "--rate", "200", "--format", "raw",
                   "--output", str(profile), "--subprocesses", "--", *cmd]  # fmt: skip
        version = code_version()  # the engine may change between runs on a shared tree
        sandbox_cpu, busy = sb.cpu_s(), system_busy_seconds()
        fin = run_measured(cmd, env=child_env(sb), cwd=workdir, timeout_s=timeout_s)
        sandbox_cpu, busy = sb.cpu_s() - sandbox_cpu, system_busy_seconds() - busy
        run: dict[str, Any] = {
            "code": version if sc.tool == "leadkit" else None,
            "returncode": fin.returncode,
            "wall_s": round(fin.wall_s, 3),
            "peak_rss_mb": round(fin.peak_rss_mb, 1),
            "cpu_s": round(fin.cpu_s, 3),
            "sandbox_cpu_s": round(sandbox_cpu, 3),
            # CPU used by anything else on the machine meanwhile: > 0.1 x wall is noise
            "other_cpu_s": round(max(0.0, busy - fin.cpu_s - sandbox_cpu), 3),
        }
        if fin.returncode != 0:
            run["error"] = (fin.stderr or fin.stdout)[-2000:]
            run["ok"] = False
            return run
        rows, ids = count_rows(db, table)
        run.update(rows=rows, distinct_ids=ids, ok=rows == ids == sc.leads)
        if not run["ok"]:
            run["error"] = f"expected {sc.leads} rows, found {rows} ({ids} distinct ids)"
        if sc.tool == "leadkit":
            span = engine_span(db)
            if span is not None:
                # start-up: process start -> run recorded; engine: the run as in _runs;
                # shutdown: run recorded as ended -> process exit (closing the warehouse)
                run["startup_s"] = round(span[0] - fin.started_epoch, 3)
                run["engine_s"] = round(span[1] - span[0], 3)
                run["shutdown_s"] = round(fin.ended_epoch - span[1], 3)
        else:
            lines = [ln for ln in fin.stdout.splitlines() if ln.startswith("{")]
            if lines:
                stages = json.loads(lines[-1])
                stage_keys = ("import_s", "extract_s", "normalize_s", "load_s")
                run.update({k: stages[k] for k in stage_keys if k in stages})
                run["dlt_version"] = stages.get("dlt_version")
        return run
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def disturbed(run: dict) -> bool:
    """Other processes used more than a tenth of a CPU on average during the run."""
    return (run.get("other_cpu_s") or 0.0) > DISTURBED_SHARE * run.get("wall_s", 0.0)


def summarise(sc: Scenario, runs: list[dict]) -> dict:
    """Median wall time (and its leads/s) over the repeats; the largest peak RSS.

    Runs disturbed by other processes on the machine are left out of the medians when at
    least one undisturbed run exists (``quiet_runs`` says how many were used).
    """
    good = [r for r in runs if r.get("ok")]
    summary: dict[str, Any] = {"scenario": dataclasses.asdict(sc), "runs": runs}
    summary["ok"] = bool(runs) and len(good) == len(runs)
    if not good:
        return summary
    quiet = [r for r in good if not disturbed(r)]
    used = quiet or good
    wall = statistics.median(r["wall_s"] for r in used)
    summary.update(
        code=sorted({r["code"] for r in used if r.get("code")}),
        runs_used=len(used),
        quiet_runs=len(quiet),
        wall_s=round(wall, 3),
        wall_min_s=min(r["wall_s"] for r in good),
        wall_max_s=max(r["wall_s"] for r in good),
        leads_per_s=round(sc.leads / wall),
        peak_rss_mb=max(r["peak_rss_mb"] for r in good),
        cpu_s=round(statistics.median(r["cpu_s"] for r in used), 3),
        sandbox_cpu_s=round(statistics.median(r["sandbox_cpu_s"] for r in used), 3),
        other_cpu_s=round(statistics.median(r.get("other_cpu_s", 0.0) for r in used), 3),
        latency_floor_s=round(sc.latency_floor_s, 3),
    )
    for stage in (
        "startup_s", "engine_s", "shutdown_s", "import_s", "extract_s", "normalize_s", "load_s"
    ):  # fmt: skip
        values = [r[stage] for r in used if stage in r]
        if values:
            summary[stage] = round(statistics.median(values), 3)
    return summary


def add_floors(results: dict[str, dict]) -> None:
    """CPU floor = this run's zero-latency wall for the same tool, page size, concurrency."""
    for summary in results.values():
        sc = Scenario(**{**summary["scenario"], "dlt_args": ()})
        zero = results.get(sc.zero_latency_id)
        cpu_floor = zero.get("wall_s") if zero else None
        summary["cpu_floor_s"] = cpu_floor
        summary.pop("floor_ratio", None)
        # Both floors are needed: without the 0 ms run the ratio would mean nothing.
        if summary.get("wall_s") and cpu_floor and sc.latency_ms:
            floor = max(cpu_floor, summary.get("latency_floor_s") or 0.0)
            summary["floor_ratio"] = round(summary["wall_s"] / floor, 2)


# --- report -------------------------------------------------------------------------------


def fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "—"
    return format(value, spec)


def leadkit_table(results: dict[str, dict]) -> str:
    head = (
        "| scenario | leads | latency | page | conc. | wall s | leads/s | peak RSS MB "
        "| start-up s | engine s | shutdown s | CPU s | sandbox CPU s | latency floor s "
        "| CPU floor s "
        "| wall ÷ max(floors) | rows | quiet runs |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|\n"
    )
    lines = []
    for key, s in results.items():
        sc = s["scenario"]
        if sc["tool"] != "leadkit":
            continue
        lines.append(
            f"| {key} | {sc['leads']:,} | {sc['latency_ms']} ms | {sc['page_size']} "
            f"| {sc['concurrency']} | {fmt(s.get('wall_s'))} | {fmt(s.get('leads_per_s'), ',')} "
            f"| {fmt(s.get('peak_rss_mb'), '.0f')} | {fmt(s.get('startup_s'))} "
            f"| {fmt(s.get('engine_s'))} | {fmt(s.get('shutdown_s'))} "
            f"| {fmt(s.get('cpu_s'), '.1f')} "
            f"| {fmt(s.get('sandbox_cpu_s'), '.1f')} | {fmt(s.get('latency_floor_s'))} "
            f"| {fmt(s.get('cpu_floor_s'))} | {fmt(s.get('floor_ratio'))} "
            f"| {'ok' if s['ok'] else 'FAIL'} | {s.get('quiet_runs', 0)}/{len(s['runs'])} |"
        )
    return head + "\n".join(lines) if lines else ""


def dlt_table(results: dict[str, dict]) -> str:
    head = (
        "| scenario | settings | latency | wall s | leads/s | peak RSS MB | extract s "
        "| normalize s | load s | rows | quiet runs | leadkit c16 wall s | leadkit speed-up |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|\n"
    )
    lines = []
    for key, s in results.items():
        sc = s["scenario"]
        if sc["tool"] != "dlt":
            continue
        ours = results.get(f"leadkit-{sc['latency_ms']}ms-p{sc['page_size']}-c16", {})
        speedup = s["wall_s"] / ours["wall_s"] if s.get("wall_s") and ours.get("wall_s") else None
        lines.append(
            f"| {key} | {sc['note']} | {sc['latency_ms']} ms | {fmt(s.get('wall_s'))} "
            f"| {fmt(s.get('leads_per_s'), ',')} | {fmt(s.get('peak_rss_mb'), '.0f')} "
            f"| {fmt(s.get('extract_s'))} | {fmt(s.get('normalize_s'))} | {fmt(s.get('load_s'))} "
            f"| {'ok' if s['ok'] else 'FAIL'} | {s.get('quiet_runs', 0)}/{len(s['runs'])} "
            f"| {fmt(ours.get('wall_s'))} | {fmt(speedup)}× |"
        )
    return head + "\n".join(lines) if lines else ""


def targets(results: dict[str, dict], leads: int, big: int) -> list[dict]:
    """Issue 3's targets, judged on this run's figures (None = not measured)."""
    out: list[dict] = []
    lat = results.get("leadkit-50ms-p1000-c16", {})
    out.append(
        {
            "target": f"50 ms, page 1000, conc. 16: wall ≤ {TARGET_FLOOR_RATIO}× max(floors)",
            "value": lat.get("floor_ratio"),
            "met": None
            if lat.get("floor_ratio") is None
            else lat["floor_ratio"] <= TARGET_FLOOR_RATIO,
        }
    )
    dlt_walls = [
        s["wall_s"]
        for k, s in results.items()
        if k.startswith("dlt") and "-50ms-p1000" in k and s.get("wall_s")
    ]
    speedup = min(dlt_walls) / lat["wall_s"] if dlt_walls and lat.get("wall_s") else None
    out.append(
        {
            "target": f"50 ms, page 1000, conc. 16: ≥ {TARGET_DLT_SPEEDUP:.0f}× faster than "
            "dlt's best",
            "value": None if speedup is None else round(speedup, 2),
            "met": None if speedup is None else speedup >= TARGET_DLT_SPEEDUP,
        }
    )
    zero = results.get("leadkit-0ms-p1000-c16", {})
    out.append(
        {
            "target": f"0 ms, page 1000, conc. 16: ≥ {TARGET_LEADS_PER_S:,} leads/s",
            "value": zero.get("leads_per_s"),
            "met": None
            if zero.get("leads_per_s") is None
            else zero["leads_per_s"] >= TARGET_LEADS_PER_S,
        }
    )
    mem = results.get("leadkit-1m-0ms-p1000-c16", {})
    out.append(
        {
            "target": f"{big:,} leads: peak RSS < {TARGET_RSS_MB} MB",
            "value": mem.get("peak_rss_mb"),
            "met": None if mem.get("peak_rss_mb") is None else mem["peak_rss_mb"] < TARGET_RSS_MB,
        }
    )
    if leads != 100_000:
        for t in out[:3]:
            t["target"] += f" (measured at {leads:,} leads, not the issue's 100,000)"
    return out


def targets_table(rows: list[dict]) -> str:
    head = "| target | measured | met |\n|---|--:|---|\n"
    verdict = {True: "yes", False: "**no**", None: "not measured"}
    return head + "\n".join(
        f"| {t['target']} | {fmt(t['value'], ',' if isinstance(t['value'], int) else '')} "
        f"| {verdict[t['met']]} |"
        for t in rows
    )


# --- machine ------------------------------------------------------------------------------


def git(*args: str) -> str:
    """Output of a git command in the repository ('' if git fails)."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def code_version() -> str:
    """The last commit that changed leadkit (``leadkit/``, ``pyproject.toml``), with
    ``+dirty`` if those have uncommitted changes."""
    paths = ("--", "leadkit", "pyproject.toml")
    dirty = git("status", "--porcelain", "--untracked-files=no", *paths)
    return git("log", "-1", "--format=%h", *paths) + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])

    versions: dict[str, str] = {}
    from importlib import metadata

    for name in ("leadkit", "aiohttp", "polars", "duckdb", "orjson", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": code_version().endswith("+dirty"),
        "versions": versions,
    }


# --- dlt environment ----------------------------------------------------------------------


def ensure_dlt_venv(timeout_s: float = 900) -> bool:
    """Create ``bench/.venv-dlt`` from ``bench/requirements-dlt.txt`` unless it is installed.

    Same steps and stamp file as the Makefile's rule, so either may create it.
    """
    stamp = DLT_VENV / ".installed"
    if stamp.exists() and DLT_PYTHON.exists():
        return True
    print(f"creating {DLT_VENV.relative_to(ROOT)} (dlt, only for the baseline) ...", flush=True)
    try:
        subprocess.run(["python3", "-m", "venv", str(DLT_VENV)], check=True, timeout=120)
        pip = [str(DLT_PYTHON), "-m", "pip", "install", "--quiet", "-r", str(DLT_REQUIREMENTS)]
        subprocess.run(pip, check=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"could not set up the dlt environment ({exc}); skipping dlt", file=sys.stderr)
        return False
    stamp.touch()
    return True


# --- profiling ----------------------------------------------------------------------------


#: Where a leadkit sample goes, by the first matching function name in its stack.
PROFILE_CATEGORIES = (
    ("start-up (imports)", ("_find_and_load",)),
    ("warehouse: close (final checkpoint)", ("PageWriter.release", "PageWriter.close")),
    ("warehouse: upsert + commit", ("PageWriter.commit_batch", "upsert_frame")),
    ("warehouse: open + migrate", ("PageWriter._conn", "_start_run", "_migrate")),
    ("parse: JSON, validation, frame", ("parse_envelope", "parse_page", "KProSource._parse")),
    ("HTTP and event loop", ("aiohttp", "selector_events", "EpollSelector", "streams.py")),
)


def summarise_profile(raw: Path, top: int = 15) -> str:
    """Samples by category and the top functions by own samples, from py-spy's raw output.

    Idle thread-pool workers (waiting for work) are left out.
    """
    own: collections.Counter[str] = collections.Counter()
    cats: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames or re.match(r"_worker \(.*thread\.py", frames[-1]):
            continue
        n = int(count)
        total += n
        own[_frame(frames[-1])] += n
        category = next(
            (name for name, keys in PROFILE_CATEGORIES if any(k in stack for k in keys)), "other"
        )
        cats[category] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples ({total / 200:.1f} thread-seconds at 200/s), by category:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in cats.most_common()]
    lines += ["", "top functions by own samples:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def _frame(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``, shorter and line-independent."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    parts = Path(path).parts
    short = "/".join(parts[parts.index("leadkit") :]) if "leadkit" in parts else parts[-1]
    return f"{func} ({short})"


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark leadkit extract (and dlt) against the KPro sandbox.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10,000 leads, 1 repeat, no 1M run")
    parser.add_argument("--leads", type=int, help="leads per run (default 100,000)")
    parser.add_argument("--big-leads", type=int, default=1_000_000, help="the memory run")
    parser.add_argument("--repeat", type=int, help="runs per scenario, median wall (default 3)")
    parser.add_argument("--only", action="append", help="scenario id glob (repeatable)")
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1M-lead memory run")
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt baseline")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each run wait up to this long for other processes to go idle (0: don't)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile with py-spy")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="print the tables of saved results and exit (later files win per scenario)",
    )
    parser.add_argument("--output", type=Path, help="result JSON (default bench/results/...)")
    args = parser.parse_args(argv)
    args.leads = args.leads or (10_000 if args.quick else 100_000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.quick:
        args.skip_1m = True
    return args


def render(results: dict[str, dict], leads: int, big: int) -> tuple[str, list[dict]]:
    """The markdown report and the targets, from summarised results."""
    add_floors(results)
    goals = targets(results, leads, big)
    sections = (
        ("## leadkit extract", leadkit_table(results)),
        ("## dlt rest_api baseline", dlt_table(results)),
        ("## Targets (issue 3)", targets_table(goals)),
    )
    text = "\n\n".join(f"{head}\n\n{body}" for head, body in sections if body)
    versions: dict[str, list[str]] = {}
    for key, s in results.items():
        for version in s.get("code", []):
            versions.setdefault(version, []).append(key)
    if len(versions) == 1:
        text += f"\n\nleadkit code measured: {next(iter(versions))}"
    elif versions:
        text += "\n\nleadkit code measured (it changed during the bench):\n" + "\n".join(
            f"- {v}: {', '.join(keys)}" for v, keys in versions.items()
        )
    return text, goals


def report_files(paths: Sequence[Path]) -> int:
    """Print the report of saved results; a later file's scenario replaces an earlier one's."""
    results: dict[str, dict] = {}
    leads, big = 100_000, 1_000_000
    for path in paths:
        document = json.loads(path.read_text())
        leads = document["settings"]["leads"]
        big = document["settings"]["big_leads"]
        for key, saved in document["results"].items():
            fields = {**saved["scenario"], "dlt_args": tuple(saved["scenario"]["dlt_args"])}
            results[key] = summarise(Scenario(**fields), saved["runs"])
    order = [sc.id for sc in scenarios(leads, big=big, with_1m=True)]
    ordered = dict(
        sorted(results.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    )
    report, _ = render(ordered, leads, big)
    print(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        return report_files(args.report)
    chosen = [
        sc
        for sc in scenarios(args.leads, big=args.big_leads, with_1m=not args.skip_1m)
        if not args.only or any(fnmatch.fnmatch(sc.id, pat) for pat in args.only)
    ]
    if args.no_dlt:
        chosen = [sc for sc in chosen if sc.tool != "dlt"]
    if args.list:
        for sc in chosen:
            print(f"{sc.id:32} {sc.tool:8} {sc.leads:>9,} leads {sc.note}")
        return 0
    if not chosen:
        print("no scenario matches --only", file=sys.stderr)
        return 2
    if any(sc.tool == "dlt" for sc in chosen) and not ensure_dlt_venv():
        chosen = [sc for sc in chosen if sc.tool != "dlt"]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up sandboxes on kill
    started = dt.datetime.now().astimezone()
    info = machine()
    print(
        f"{info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB, "
        f"Python {info['python']}, leadkit {info['git_commit']}"
        f"{' (uncommitted changes)' if info['git_dirty'] else ''}; "
        f"{args.repeat} run(s) per scenario",
        flush=True,
    )
    results: dict[str, dict] = {}
    sandboxes: dict[str, dict] = {}
    out = args.output or RESULTS / f"extract-{started:%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict[str, dict], goals: list[dict], *, finished: bool) -> None:
        """Write the results so far (after every scenario, so an interrupted bench keeps them)."""
        document = {
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds")
            if finished
            else None,
            "machine": info,
            "settings": {
                "leads": args.leads,
                "big_leads": args.big_leads,
                "repeat": args.repeat,
                "only": args.only,
                "dlt_common_args": list(DLT_COMMON),
            },
            "sandboxes": sandboxes,
            "results": results,
            "targets": goals,
        }
        out.write_text(json.dumps(document, indent=2) + "\n")

    groups: dict[tuple[int, int], list[Scenario]] = {}
    for sc in chosen:
        groups.setdefault((sc.leads, sc.latency_ms), []).append(sc)
    failed = False
    for (leads, latency), group in groups.items():
        ready = 60 + leads / 10_000
        with sandbox(leads, latency, ready_timeout_s=ready) as sb:
            sandboxes[f"{leads}-{latency}ms"] = {"startup_s": round(sb.startup_s, 2)}
            print(
                f"sandbox {leads:,} leads, {latency} ms: ready in {sb.startup_s:.1f} s", flush=True
            )
            for sc in group:
                repeat = 1 if sc.leads > 100_000 else args.repeat
                runs = []
                for i in range(repeat):
                    waited = wait_for_quiet(args.quiet_wait) if args.quiet_wait else 0.0
                    if waited >= args.quiet_wait > 0:
                        print(f"  (machine still busy after {waited:.0f} s; running anyway)")
                    try:
                        run = run_once(sc, sb, timeout_s=args.timeout)
                    except TimeoutError as exc:
                        run = {"ok": False, "error": str(exc)}
                    runs.append(run)
                    status = "ok" if run.get("ok") else f"FAILED: {run.get('error', '')[-300:]}"
                    if disturbed(run):
                        status += (
                            f" (disturbed: other processes used {run['other_cpu_s']:.1f} CPU s)"
                        )
                    print(
                        f"  {sc.id} #{i + 1}: {fmt(run.get('wall_s'))} s, "
                        f"{fmt(run.get('peak_rss_mb'), '.0f')} MB, {status}",
                        flush=True,
                    )
                results[sc.id] = summarise(sc, runs)
                failed = failed or not results[sc.id]["ok"]
                save(results, [], finished=False)
                if args.profile and sc.tool == "leadkit" and PY_SPY.exists():
                    raw = RESULTS / f"profile-{sc.id}-{started:%Y%m%dT%H%M%S}.txt"
                    RESULTS.mkdir(parents=True, exist_ok=True)
                    run_once(sc, sb, timeout_s=args.timeout, profile=raw)
                    results[sc.id]["profile"] = str(raw.relative_to(ROOT))
                    print(summarise_profile(raw), flush=True)
    report, goals = render(results, args.leads, args.big_leads)
    print()
    print(report)
    save(results, goals, finished=True)
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if failed:
        print("some runs FAILED (wrong row count or non-zero exit): see above", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
