"""The OviPro destinations ``leadkit sandbox`` writes into leadkit.toml work as written."""

from __future__ import annotations

from pathlib import Path

from leadkit.cli.sandboxes import spec
from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.push.engine import run_push
from leadkit.sandbox import SandboxThread
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig


def test_the_written_status_and_outgoing_destinations_push(tmp_path: Path) -> None:
    cfg = OviProSandboxConfig(leads=30, outgoing_leads=2, seed=9)
    with SandboxThread(lambda: OviProSandbox(cfg)) as sb:
        sb.call(lambda: sb.server.add_leads(4))
        block = spec("ovipro").toml("ovipro_sandbox", sb.server)
        assert "[destinations.ovipro_sandbox_status]" in block
        assert "[destinations.ovipro_sandbox_outgoing]" in block
        path = tmp_path / "leadkit.toml"
        path.write_text('[warehouse]\npath = "leadkit.duckdb"\n\n' + block)
        config = load_config(path)
        assert run_extract(config, handle_signals=False).exit_code == 0
        status = run_push(config, "ovipro_sandbox_status", table="ovipro_leads",
                          where="leadStatusCode=NEW", handle_signals=False)  # fmt: skip
        assert status.counts.get("sent", 0) >= 4, status.counts
        assert status.counts == {"sent": status.selected}
        leads = sb.call(lambda: sb.server.leads())
        assert not [item for item in leads if item["leadStatusCode"] == "NEW"]
        outgoing = run_push(
            config, "ovipro_sandbox_outgoing", table="ovipro_leads", limit=3,
            handle_signals=False,
        )  # fmt: skip
        assert outgoing.counts == {"sent": 3}
        assert len(sb.call(lambda: sb.server.outgoing_leads())) == 2 + 3
