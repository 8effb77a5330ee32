"""Push benchmark (issue 7): 10,000 leads through the real engine to each simulator at 50 ms.

For each destination kind (KPro import, OviPro create, dialler, Real Geeks):

1. its sandbox runs as its own process (``python -m leadkit.systems.<kind>...``) with
   ``--latency-ms 50``, so its CPU does not compete with the push;
2. a fresh warehouse holds ``--leads`` synthetic leads in ``kpro_leads`` (distinct e-mails,
   valid UK mobiles) — written with SQL, the extract is not what is measured;
3. ``leadkit push NAME --log-format json`` runs as a subprocess (the real CLI, the real
   ledger); its JSON summary gives the outcomes, the requests and the engine's seconds.

Reported per kind: leads sent, requests, engine seconds, leads/s, the lower bound
``requests × latency ÷ concurrency`` and the ratio seconds ÷ bound (1.0 would be perfect
pipelining with zero client cost).

    .venv/bin/python bench/push.py                   # all four kinds, 10,000 leads
    .venv/bin/python bench/push.py --leads 2000 --only kpro --only ovipro
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from leadkit.storage.warehouse import Warehouse

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 50.0


@dataclass
class Kind:
    """How to start one sandbox and configure a destination for it."""

    name: str
    module: str
    args: list[str]
    concurrency: int
    block: Callable[[dict[str, str]], str]


def _kpro(v: dict[str, str]) -> str:
    return (
        f'kind = "kpro"\nbase_url = "{v["KPRO_SANDBOX_URL"]}"\napi_key = "${{BENCH_KEY}}"\n'
        "batch_size = 100\n"
    )


def _ovipro(v: dict[str, str]) -> str:
    from leadkit.systems.ovipro.sandbox import OviProSandboxConfig
    from leadkit.systems.ovipro.sandbox.dataset import DatasetOptions, World

    office = World(DatasetOptions.from_config(OviProSandboxConfig(leads=10))).office_ids[0]
    return (
        f'kind = "ovipro"\nbase_url = "{v["OVIPRO_SANDBOX_URL"]}"\n'
        f'auth_url = "{v["OVIPRO_AUTH_URL"]}"\nusername = "{v["OVIPRO_USERNAME"]}"\n'
        f'password = "${{BENCH_KEY}}"\nagency_office_id = "{office}"\nphone_region = "GB"\n'
    )


def _dialler(v: dict[str, str]) -> str:
    lead_type = v["DIALLER_LEAD_TYPES"].split(",")[0]
    return (
        f'kind = "dialler"\nbase_url = "{v["DIALLER_SANDBOX_URL"]}"\napi_key = "${{BENCH_KEY}}"\n'
        f'lead_type = "{lead_type}"\n'
    )


def _realgeeks(v: dict[str, str]) -> str:
    return (
        f'kind = "realgeeks"\nbase_url = "{v["REALGEEKS_SANDBOX_URL"]}"\n'
        f'username = "{v["REALGEEKS_USERNAME"]}"\npassword = "${{BENCH_KEY}}"\n'
        f'site_uuid = "{v["REALGEEKS_SITE_UUID"]}"\nphone_region = "GB"\n'
    )


KINDS = {
    "kpro": Kind("kpro", "leadkit.systems.kpro.simulator", ["--leads", "0"], 8, _kpro),
    "ovipro": Kind("ovipro", "leadkit.systems.ovipro.sandbox",
                   ["--leads", "10", "--outgoing-leads", "0"], 32, _ovipro),
    "dialler": Kind("dialler", "leadkit.systems.dialler.sandbox", [], 32, _dialler),
    "realgeeks": Kind("realgeeks", "leadkit.systems.realgeeks.sandbox", [], 32, _realgeeks),
}  # fmt: skip
SECRET_KEYS = {
    "kpro": None,
    "ovipro": "OVIPRO_PASSWORD",
    "dialler": "DIALLER_API_KEY",
    "realgeeks": "REALGEEKS_PASSWORD",
}


def start_sandbox(kind: Kind) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start the sandbox process; return it and the ``NAME=value`` lines it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", kind.module, "--port", "0", "--latency-ms", str(LATENCY_MS),
         *kind.args],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    values: dict[str, str] = {}
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{kind.module} exited: {proc.poll()}")
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            values[key] = value
        wanted = {"kpro": "KPRO_SANDBOX_URL", "ovipro": "OVIPRO_PASSWORD",
                  "dialler": "DIALLER_LEAD_TYPES", "realgeeks": "REALGEEKS_SITE_UUID"}  # fmt: skip
        if wanted[kind.name] in values:
            return proc, values
    raise RuntimeError(f"{kind.module} did not start")


def make_warehouse(path: Path, n: int) -> None:
    """``n`` leads in ``kpro_leads``: distinct e-mails and valid UK mobiles."""
    with Warehouse(path).writing() as con:
        con.execute(
            "INSERT INTO kpro_leads (id, _source, email, first_name, last_name, phone, "
            "eligibility_status, created_at, updated_at, site) "
            "SELECT i, 'bench', 'lead' || i || '@example.com', 'Ann', 'Lee' || i, "
            "'+4478402' || lpad(CAST(i AS VARCHAR), 5, '0'), 'passed', "
            "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i), "
            "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i), "
            "{'id': 6, 'code': 'API', 'name': 'KPro Marketing API'} FROM range(?) t(i)",
            [n],
        )


def run(kind: Kind, leads: int, workdir: Path) -> dict[str, object]:
    directory = workdir / kind.name
    directory.mkdir()
    make_warehouse(directory / "leadkit.duckdb", leads)
    proc, values = start_sandbox(kind)
    try:
        secret_name = SECRET_KEYS[kind.name]
        key = values[secret_name] if secret_name else _kpro_key()
        (directory / "leadkit.toml").write_text(
            '[warehouse]\npath = "leadkit.duckdb"\n\n[destinations.bench]\n'
            + kind.block(values)
            + f"concurrency = {kind.concurrency}\n"
        )
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "leadkit", "push", "bench", "--table", "kpro_leads",
             "--config", str(directory / "leadkit.toml"), "--log-format", "json", "--quiet"],
            capture_output=True, text=True, cwd=directory,
            env={**os.environ, "BENCH_KEY": key}, timeout=1800, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if not lines:
        raise RuntimeError(f"{kind.name}: push failed: {done.stderr[-2000:]}")
    summary = orjson.loads(lines[-1])
    requests = int(summary["requests"])
    bound = requests * LATENCY_MS / 1000 / kind.concurrency
    seconds = float(summary["seconds"])
    sent = int(summary["counts"].get("sent", 0))
    return {
        "kind": kind.name,
        "leads": leads,
        "sent": sent,
        "other": {k: v for k, v in summary["counts"].items() if k != "sent"},
        "requests": requests,
        "concurrency": kind.concurrency,
        "seconds": round(seconds, 2),
        "wall_s": round(wall, 2),
        "leads_per_s": round(leads / seconds, 1),
        "bound_s": round(bound, 2),
        "ratio": round(seconds / bound, 2) if bound else None,
    }


def _kpro_key() -> str:
    from leadkit.systems.kpro.simulator import DEMO_API_KEY

    return DEMO_API_KEY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--only", action="append", choices=sorted(KINDS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(KINDS):
            row = run(KINDS[name], args.leads, Path(tmp))
            rows.append(row)
            print(orjson.dumps(row).decode(), flush=True)
    print()
    print("| destination | leads | sent | requests | concurrency | seconds | leads/s "
          "| lower bound s | ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kind']} | {r['leads']:,} | {r['sent']:,} | {r['requests']:,} "
              f"| {r['concurrency']} | {r['seconds']} | {r['leads_per_s']:,} | {r['bound_s']} "
              f"| {r['ratio']} |")  # fmt: skip


if __name__ == "__main__":
    main()
