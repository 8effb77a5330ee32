"""A small warehouse built the real way: sandbox APIs on 127.0.0.1, ``run_extract``.

Two KPro accounts (one sending a few malformed leads, so ``_rejects`` has rows) and one
OviPro account, a few thousand leads in all. Shared by the dashboard and notebook tests.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.sandbox import SandboxThread
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

# The api keys and OviPro login are the sandboxes' public demo values, not secrets.
_CONFIG = """\
[warehouse]
path = "leadkit.duckdb"

[sources.kpro_london]
kind = "kpro"
base_url = "{url_a}"
api_key = "${{DASHTEST_KPRO_LONDON_KEY:-{key_a}}}"
page_size = 500

[sources.kpro_north]
kind = "kpro"
base_url = "{url_b}"
api_key = "${{DASHTEST_KPRO_NORTH_KEY:-{key_b}}}"
page_size = 500

[sources.ovipro_helsinki]
kind = "ovipro"
base_url = "{url_c}"
auth_url = "{auth_c}"
username = "${{DASHTEST_OVIPRO_USER:-{user_c}}}"
password = "${{DASHTEST_OVIPRO_PASSWORD:-{password_c}}}"
page_size = 100
"""


def build_sandbox_warehouse(directory: Path) -> Path:
    """Extract the sandboxes into ``directory/leadkit.duckdb``; return the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(
            SandboxThread(lambda: KProSandbox(KProSandboxConfig(leads=1500, seed=1)))
        )
        b = stack.enter_context(
            SandboxThread(
                lambda: KProSandbox(KProSandboxConfig(leads=700, seed=2, malformed_rate=0.02))
            )
        )
        c = stack.enter_context(
            SandboxThread(
                lambda: OviProSandbox(OviProSandboxConfig(leads=600, outgoing_leads=60, seed=3))
            )
        )
        path = directory / "leadkit.toml"
        path.write_text(
            _CONFIG.format(
                url_a=a.base_url,
                key_a=a.server.api_key,
                url_b=b.base_url,
                key_b=b.server.api_key,
                url_c=c.server.base_url,
                auth_c=c.server.auth_url,
                user_c=c.server.username,
                password_c=c.server.password,
            ),
            encoding="utf-8",
        )
        result = run_extract(load_config(path), handle_signals=False)
        assert result.exit_code == 0, [(s.name, s.status, s.error) for s in result.sources]
    return path


CAREHOME_CATEGORIES = (
    (1, "contact form"),
    (2, "visit requests"),
    (3, "call back"),
    (4, "email details"),
    (5, "referrals"),
    (6, "placements"),
)


def add_carehome_and_deliveries(config: Path, directory: Path) -> Path:
    """A copy of the warehouse of ``config`` with care-home leads and deliveries added by
    SQL (the columns the carehome source and push promise), for their dashboard panels."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(config.parent / "leadkit.duckdb", directory / "leadkit.duckdb")
    target = directory / "leadkit.toml"
    target.write_text('[warehouse]\npath = "leadkit.duckdb"\n', encoding="utf-8")
    wh = Warehouse(directory / "leadkit.duckdb")
    start = datetime(2021, 3, 1, tzinfo=UTC)
    with wh.writing() as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS carehome_leads (_source VARCHAR, id BIGINT, "
            "category_id INTEGER, category_name VARCHAR, "
            "service STRUCT(id BIGINT, name VARCHAR), date TIMESTAMPTZ, "
            "is_anonymised BOOLEAN, dq_warnings VARCHAR[])"
        )
        rows = []
        for i in range(300):
            cid, name = CAREHOME_CATEGORIES[(i * 7) % len(CAREHOME_CATEGORIES) if i % 3 else 0]
            rows.append(
                (
                    "carehome_uk",
                    5000 + i,
                    cid,
                    name,
                    {"id": 1 + i % 3, "name": f"Home {i % 3}"},
                    start + timedelta(hours=7 * i),
                    i % 10 == 0,
                    [],
                )
            )
        con.executemany(
            "INSERT INTO carehome_leads (_source, id, category_id, category_name, service, "
            "date, is_anonymised, dq_warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute(
            "CREATE TABLE IF NOT EXISTS _deliveries (destination VARCHAR, kind VARCHAR, "
            "lead_key VARCHAR, system VARCHAR, source VARCHAR, lead_id VARCHAR, "
            "payload_hash VARCHAR, status VARCHAR, attempts INTEGER, "
            "first_attempt_at TIMESTAMPTZ, last_attempt_at TIMESTAMPTZ, http_status INTEGER, "
            "response VARCHAR, error VARCHAR, run_id VARCHAR)"
        )
        statuses = ("sent", "sent", "sent", "updated", "rejected", "failed", "skipped-duplicate")
        con.execute(
            "INSERT INTO _deliveries (destination, kind, lead_key, system, source, lead_id, "
            "payload_hash, status, attempts, first_attempt_at, last_attempt_at, http_status, "
            "run_id) "
            "SELECT CASE WHEN row_number() OVER () % 2 = 0 THEN 'dialler' ELSE 'crm' END, "
            "'lead', 'kpro:' || _source || ':' || id, 'kpro', _source, CAST(id AS VARCHAR), "
            "md5(CAST(id AS VARCHAR)), "
            f"list_extract({list(statuses)!r}, CAST(1 + id % {len(statuses)} AS INTEGER)), "
            "1 + CAST(id % 3 AS INTEGER), now(), now(), 200, 'push-1' "
            "FROM kpro_leads ORDER BY id LIMIT 400"
        )
    return target
