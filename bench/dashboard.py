"""Benchmark of the dashboard over 1,000,000 leads: first render and filter changes.

Usage::

    .venv/bin/python bench/dashboard.py              # build (once, cached), then measure
    .venv/bin/python bench/dashboard.py --rebuild    # build the warehouse again
    .venv/bin/python bench/dashboard.py --leads 200000

What it does:

1. **Builds** a warehouse the real way, then grows it in DuckDB: the KPro and OviPro
   sandboxes serve 4,000 + 2,000 leads (one KPro account sends a few malformed ones, so
   ``_rejects`` has rows) and ``run_extract`` loads them; then SQL copies those rows with
   new ids and shifted dates (``INSERT … SELECT … FROM kpro_leads, range(k)``) until there
   are ``--leads`` leads, 80 % KPro and 20 % OviPro, in the real tables' schemas. The file
   is cached in ``bench/.cache/`` (gitignored).
2. **First render**: Streamlit's AppTest runs ``dashboards/app.py`` (the Overview page)
   with every cache empty (``st.cache_resource`` cleared, so a new
   :class:`~leadkit.dashboard.data.DashboardData` and a new DuckDB connection): the time
   from ``run()`` to the finished page. ``--repeat`` times; the median is reported.
3. **Filter change**: with the app open, typing each filter of :data:`FILTERS` into the
   filter box (each one new, so nothing is cached) and re-rendering the Overview; then the
   same on the Volumes, Eligibility and Leads pages. Median and worst.
4. **Cached re-render**: the same page again with nothing changed.

Times are wall clock on this machine; the figures go to docs/dashboard.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache"
APP = ROOT / "dashboards" / "app.py"

#: Filters typed into the filter box, each a new (uncached) query.
FILTERS = (
    "eligibilityStatus.in=passed,considered&site.id[]=3",
    "status=NEW",
    "createdAt.gte=2021-03-01&createdAt.ltt=2021-03-31",
    "_source=kpro_north&eligibilityStatus.not=failed",
    "lead.leadTypeCode=SELLER_REFERRAL",
    "channel.in=Rightmove,Zoopla,ETUOVI",
)


def build(path: Path, leads: int) -> None:
    """Extract the sandboxes into ``path``, then copy rows in SQL up to ``leads`` leads."""
    from leadkit.config import load_config
    from leadkit.engine.extract import run_extract
    from leadkit.sandbox import SandboxThread
    from leadkit.storage.warehouse import Warehouse
    from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
    from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        a = stack.enter_context(
            SandboxThread(lambda: KProSandbox(KProSandboxConfig(leads=2500, seed=1)))
        )
        b = stack.enter_context(
            SandboxThread(
                lambda: KProSandbox(KProSandboxConfig(leads=1500, seed=2, malformed_rate=0.01))
            )
        )
        c = stack.enter_context(
            SandboxThread(lambda: OviProSandbox(OviProSandboxConfig(leads=2000, seed=3)))
        )
        config = Path(tmp) / "leadkit.toml"
        config.write_text(
            f'[warehouse]\npath = "{path.as_posix()}"\n\n'
            f'[sources.kpro_london]\nkind = "kpro"\nbase_url = "{a.base_url}"\n'
            f'api_key = "${{BENCH_KEY_A:-{a.server.api_key}}}"\npage_size = 1000\n\n'
            f'[sources.kpro_north]\nkind = "kpro"\nbase_url = "{b.base_url}"\n'
            f'api_key = "${{BENCH_KEY_B:-{b.server.api_key}}}"\npage_size = 1000\n\n'
            f'[sources.ovipro_helsinki]\nkind = "ovipro"\nbase_url = "{c.server.base_url}"\n'
            f'auth_url = "{c.server.auth_url}"\n'
            f'username = "${{BENCH_USER:-{c.server.username}}}"\n'
            f'password = "${{BENCH_PASSWORD:-{c.server.password}}}"\npage_size = 100\n'
        )
        result = run_extract(load_config(config), handle_signals=False)
        if result.exit_code:
            raise SystemExit(f"extract failed: {[(s.name, s.error) for s in result.sources]}")
    print(f"extracted 6,000 sandbox leads in {time.perf_counter() - t0:.1f}s", flush=True)
    wh = Warehouse(path)
    with wh.writing() as con:
        kpro = con.execute("SELECT count(*) FROM kpro_leads").fetchall()[0][0]
        ovipro = con.execute("SELECT count(*) FROM ovipro_leads").fetchall()[0][0]
        k_copies = max(1, round(leads * 0.8 / kpro))
        o_copies = max(1, round(leads * 0.2 / ovipro))
        # Copy k: new ids, dates shifted back k weeks (so volumes spread over years).
        con.execute(
            "INSERT INTO kpro_leads SELECT l.* REPLACE ("
            "l.id + r.k * 10000000 AS id, "
            "l.created_at - to_days(CAST(7 * (r.k % 150) AS INTEGER)) AS created_at, "
            "l.updated_at - to_days(CAST(7 * (r.k % 150) AS INTEGER)) AS updated_at) "
            f"FROM kpro_leads l, range(1, {k_copies}) r(k)"
        )
        con.execute(
            "INSERT INTO ovipro_leads SELECT l.* REPLACE ("
            "l.lead_id || '-' || r.k AS lead_id, "
            "l.creation_time - to_days(CAST(3 * (r.k % 200) AS INTEGER)) AS creation_time, "
            "l.decision_time - to_days(CAST(3 * (r.k % 200) AS INTEGER)) AS decision_time) "
            f"FROM ovipro_leads l, range(1, {o_copies}) r(k)"
        )
        con.execute("CHECKPOINT")
        total = con.execute(
            "SELECT (SELECT count(*) FROM kpro_leads) + (SELECT count(*) FROM ovipro_leads)"
        ).fetchall()[0][0]
    print(f"grew to {total:,} leads in {time.perf_counter() - t0:.1f}s", flush=True)


def measure(path: Path, repeat: int) -> dict[str, list[float]]:
    """Time the first render, filter changes and a cached re-render with AppTest."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    config = path.with_suffix(".toml")
    config.write_text(f'[warehouse]\npath = "{path.name}"\n')
    os.environ["LEADKIT_CONFIG"] = str(config)
    times: dict[str, list[float]] = {}

    def timed(name: str, run: object) -> AppTest:
        t = time.perf_counter()
        at = run()  # type: ignore[operator]
        times.setdefault(name, []).append(time.perf_counter() - t)
        if at.exception or at.error:
            raise SystemExit(f"{name}: {at.exception or [e.value for e in at.error]}")
        return at  # type: ignore[no-any-return]

    for _ in range(repeat):
        st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=120)
        at = timed("first render (Overview, cold)", at.run)
    timed("re-render, nothing changed", at.run)
    for f in FILTERS:
        at.text_input(key="filter").set_value(f)
        timed("filter change (Overview)", at.run)
    for page in ("Volumes", "Eligibility", "Categories", "OviPro funnel", "Leads"):
        at.sidebar.radio(key="page").set_value(page)
        at.text_input(key="filter").set_value("")
        timed("page switch, no filter", at.run)
        for f in FILTERS[:3]:
            at.text_input(key="filter").set_value(f + "&_source.notnull")
            timed(f"filter change ({page})", at.run)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = CACHE / f"dashboard-{args.leads}.duckdb"
    if args.rebuild or not path.exists():
        build(path, args.leads)
    times = measure(path, args.repeat)
    print(f"\nDashboard over {path.name} ({os.cpu_count()} cores)\n")
    print("| what | runs | median | worst |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        print(
            f"| {name} | {len(values)} | {statistics.median(values):.2f} s | {max(values):.2f} s |"
        )


if __name__ == "__main__":
    main()
