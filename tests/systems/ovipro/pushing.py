"""Helpers of the OviPro push tests: a sandbox on 127.0.0.1, a warehouse extracted from it
by the real engine, and leadkit.toml destinations pointing back at the same sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadkit.config import LeadkitConfig, load_config
from leadkit.engine.extract import run_extract
from leadkit.push.engine import PushResult, run_push
from leadkit.push.ledger import deliveries
from leadkit.sandbox import SandboxThread
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig
from tests.e2e.conftest import ovipro_block, ovipro_destination_lines, toml_value

__all__ = ["OviPush", "ovi_push", "when"]


@dataclass
class OviPush:
    """One test's OviPro sandbox, warehouse directory and configuration."""

    sb: SandboxThread
    directory: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def server(self) -> OviProSandbox:
        server: OviProSandbox = self.sb.server
        return server

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.directory / "leadkit.duckdb", busy_timeout_s=30)

    def config(self, *, outgoing: bool = False, **destinations: dict[str, Any]) -> LeadkitConfig:
        """Write leadkit.toml: the source ``ovi`` (``outgoing``: also extracting outgoing
        leads) and one ``[destinations.NAME]`` per keyword (settings; ``_password`` replaces
        the password) at the same sandbox."""
        text = '[warehouse]\npath = "leadkit.duckdb"\nbusy_timeout_s = 30\n\n'
        text += ovipro_block("ovi", self.sb, {"include_outgoing": outgoing}, self.monkeypatch)
        for name, extra in destinations.items():
            settings = dict(extra)
            env = f"OVI_DEST_PASSWORD_{name.upper()}"
            self.monkeypatch.setenv(env, settings.pop("_password", self.server.password))
            lines = [*ovipro_destination_lines(self.server, env), "backoff_initial_s = 0.01"]
            lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
            text += f"\n[destinations.{name}]\n" + "\n".join(lines) + "\n"
        (self.directory / "leadkit.toml").write_text(text)
        return load_config(self.directory / "leadkit.toml")

    def extract(self, *, outgoing: bool = False) -> None:
        result = run_extract(self.config(outgoing=outgoing), handle_signals=False)
        assert result.exit_code == 0, result

    def push(self, cfg: LeadkitConfig, name: str, **kw: Any) -> PushResult:
        kw.setdefault("table", "ovipro_leads")
        return run_push(cfg, name, handle_signals=False, **kw)

    def ids(self, where: str) -> list[str]:
        """Lead ids of ``ovipro_leads`` matching a SQL condition, in key order."""
        frame = self.warehouse.sql(f"SELECT lead_id FROM ovipro_leads WHERE {where} ORDER BY 1")
        return [str(v) for v in frame["lead_id"]]

    def status(self, lead_id: str) -> str:
        """A lead's status at the sandbox now."""
        lead = self.sb.call(lambda: self.server.lead(lead_id))
        assert lead is not None, lead_id
        return str(lead["leadStatusCode"])

    def ledger(self, destination: str) -> dict[str, dict[str, Any]]:
        """``_deliveries`` rows of a destination by lead id."""
        frame = deliveries(self.warehouse, destination=destination, limit=None)
        return {str(r["lead_id"]): r for r in frame.iter_rows(named=True)}

    def requests(self, method: str) -> list[Any]:
        return [r for r in self.sb.call(lambda: list(self.server.requests)) if r.method == method]


@contextmanager
def ovi_push(
    directory: Path, monkeypatch: pytest.MonkeyPatch, *, new: int = 8, **knobs: Any
) -> Iterator[OviPush]:
    """A sandbox (``knobs``) with ``new`` more leads just created (status ``NEW``), whose
    incoming leads are already in the warehouse."""
    knobs.setdefault("leads", 60)
    knobs.setdefault("outgoing_leads", 0)
    knobs.setdefault("seed", 5)
    with SandboxThread(lambda: OviProSandbox(OviProSandboxConfig(**knobs))) as sb:
        sb.call(lambda: sb.server.add_leads(new))
        env = OviPush(sb, directory, monkeypatch)
        env.extract()
        yield env


@contextmanager
def when(condition: Callable[[], bool], action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once from a background thread as soon as ``condition()`` holds
    (polled every 5 ms) while the block runs."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if condition():
                action()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
