"""A small warehouse built the real way, for every system leadkit has.

The simulators of the sandbox catalogue (:mod:`leadkit.cli.sandboxes`) run on 127.0.0.1:
two KPro accounts (``kpro_north`` sends a few malformed leads, so ``_rejects`` has rows),
OviPro, the carehome directory (a few hundred leads, some with data-quality warnings, so
``_runs.warnings`` is non-zero), a dialler and Real Geeks. ``run_extract`` fills the lead
tables; ``run_push`` then sends a small sample to the dialler, Real Geeks and the KPro
import side, so ``_deliveries`` holds real ledger rows (sent and rejected among them).
About 3,000 leads in all. Shared by the dashboard and notebook tests: built once per test
session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadkit.cli.sandboxes import (
    RunningSandbox,
    SandboxOptions,
    config_text,
    spec,
    start_sandboxes,
)
from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.push.engine import run_push
from leadkit.sandbox import SandboxThread
from leadkit.systems.carehome.sandbox import CarehomeSandbox, CarehomeSandboxConfig
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

#: First day of the carehome sandbox's leads (they span 92 days).
CAREHOME_START = datetime(2021, 3, 1, tzinfo=UTC)

#: Source name → the lead system it extracts.
SOURCES = {
    "carehome_uk": "carehome",
    "kpro_london": "kpro",
    "kpro_north": "kpro",
    "ovipro_helsinki": "ovipro",
}

#: What the warehouse pushes once extracted: (destination, where, limit). Carehome leads
#: go into a KPro account's import side, as the demo does; the dialler rejects (leadkit's
#: own checks) KPro leads without a surname or a mobile; ``kpro_london_again`` is a second
#: destination on the same KPro account, which answers ``duplicate`` for leads it already
#: has (``skipped-duplicate``).
PUSHES: tuple[tuple[str, str, int], ...] = (
    ("dialler_calls", "system=kpro", 30),
    ("realgeeks_crm", "system=ovipro", 30),
    ("kpro_london_import", "system=carehome", 60),
    ("kpro_london_again", "system=carehome", 20),
)

_HEADER = "# Test warehouse: every source and destination is a local simulator."


def build_sandbox_warehouse(directory: Path) -> Path:
    """Extract every simulator into ``directory/leadkit.duckdb``, push a sample to the
    destinations, and return the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = [
        ("kpro_london", "kpro", SandboxOptions(leads=1500, seed=1)),
        # 600 OviPro leads and 60 outgoing ones.
        ("ovipro_helsinki", "ovipro", SandboxOptions(leads=1200, seed=0)),
        ("dialler_calls", "dialler", SandboxOptions()),
        ("realgeeks_crm", "realgeeks", SandboxOptions()),
    ]
    # The catalogue's options have neither a malformed rate nor a fixed start date: these
    # two start here, with the catalogue's own config blocks. Carehome leads fall in the
    # months of the KPro leads (not "the last 60 days"), so the numbers do not move with
    # today's date and a period picked in 2021 holds leads of every system.
    malformed = KProSandboxConfig(leads=700, seed=2, malformed_rate=0.02)
    carehome = CarehomeSandboxConfig(leads=300, seed=5, start=CAREHOME_START, days=92)
    with (
        start_sandboxes(wanted) as running,
        SandboxThread(lambda: KProSandbox(malformed)) as north,
        SandboxThread(lambda: CarehomeSandbox(carehome)) as care,
    ):
        everything = [
            *running,
            RunningSandbox("kpro_north", spec("kpro"), north),
            RunningSandbox("carehome_uk", spec("carehome"), care),
        ]
        london = running[0].server
        again = (
            "[destinations.kpro_london_again]\n"
            'kind = "kpro"\n'
            f'base_url = "{london.base_url}"\n'
            f'api_key = "${{LEADKIT_KPRO_LONDON_KEY:-{london.api_key}}}"\n'
        )
        text = config_text(everything, warehouse="leadkit.duckdb", header=_HEADER)
        # Weekly windows up to the sandbox's last day: a handful of requests, not one
        # per day since 2021.
        assert text.count('window = "1d"\n') == 1, text
        end = (CAREHOME_START + timedelta(days=92)).isoformat()
        text = text.replace('window = "1d"\n', f'window = "7d"\nend = "{end}"\n')
        path = directory / "leadkit.toml"
        path.write_text(f"{text}\n{again}", encoding="utf-8")
        config = load_config(path)
        result = run_extract(config, handle_signals=False)
        assert result.exit_code == 0, [(s.name, s.status, s.error) for s in result.sources]
        for destination, where, limit in PUSHES:
            run_push(config, destination, where=where, limit=limit, handle_signals=False)
    return path


def shared_warehouse(factory: pytest.TempPathFactory) -> Path:
    """The session's sandbox warehouse (built on first use); its config path."""
    directory = factory.getbasetemp() / "sandbox-warehouse"
    config = directory / "leadkit.toml"
    if not (directory / "leadkit.duckdb").exists():
        build_sandbox_warehouse(directory)
    return config


def build_kpro_only_warehouse(directory: Path) -> Path:
    """One small KPro account extracted, nothing pushed; return the config path.

    The shared warehouse has every system and a ledger, so it cannot show what a
    KPro-only deployment sees: the carehome and OviPro panels and the deliveries panel
    saying nothing was extracted (or pushed) yet. The tables exist (every warehouse is
    migrated with all of them), they are just empty.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with start_sandboxes([("kpro_solo", "kpro", SandboxOptions(leads=200, seed=7))]) as running:
        path = directory / "leadkit.toml"
        path.write_text(
            config_text(running, warehouse="leadkit.duckdb", header=_HEADER), encoding="utf-8"
        )
        result = run_extract(load_config(path), handle_signals=False)
        assert result.exit_code == 0, [(s.name, s.status, s.error) for s in result.sources]
    return path
