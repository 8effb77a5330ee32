"""One real-browser test: ``leadkit dashboard`` in its own process, headless Chromium.

Playwright's own browser download cannot reach its servers from our machines, so the test
drives Debian's ``chromium`` (``make test`` installs it with apt). Without it the test fails,
saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadkit.dashboard.launch import free_port
from tests.dashboard.conftest import warehouse_of

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "dashboard.png"
INSTALL = "sudo apt-get install -y chromium   (or: make test, which installs it when root)"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    # `make test` installs it, so a missing browser is a broken set-up, never a silent skip.
    pytest.fail(f"the real-browser dashboard test needs Debian's chromium on PATH: {INSTALL}")


@pytest.fixture
def dashboard_url(sandbox_config: Path) -> Iterator[str]:
    """``leadkit dashboard --config ... --port N`` running; its URL as printed."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "leadkit", "dashboard"),
            *("--config", str(sandbox_config), "--port", str(port)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        lines = []
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            m = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+)", line)
            url = m.group(1) if m else None
        assert url == f"http://127.0.0.1:{port}", "".join(lines)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_dashboard_in_headless_chromium_shows_the_totals(
    sandbox_config: Path, dashboard_url: str
) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    wh = warehouse_of(sandbox_config)
    total = int(
        wh.sql(
            "SELECT (SELECT count(*) FROM kpro_leads) + (SELECT count(*) FROM ovipro_leads) "
            "+ (SELECT count(*) FROM carehome_leads) AS n"
        )["n"][0]
    )
    systems = sorted(wh.sql("SELECT DISTINCT system FROM leads")["system"])
    assert systems == ["carehome", "kpro", "ovipro"]
    args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=args, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(dashboard_url, timeout=60_000)
            metrics = page.locator('[data-testid="stMetric"]')
            metrics.first.wait_for(timeout=60_000)
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
            page.locator(
                '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
            ).first.wait_for(timeout=60_000)
            shown = {
                m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator(
                    '[data-testid="stMetricValue"]'
                )
                .inner_text()
                .strip()
                for m in metrics.all()
            }
            assert shown["Total leads"] == f"{total:,}"
            assert shown["New leads in period"] == f"{total:,}"
            assert page.get_by_text("Leads by system and source").is_visible()
            # The bar chart's legend names every lead system.
            legend = page.locator('[data-testid="stVegaLiteChart"]').first
            for system in systems:
                legend.get_by_text(system, exact=True).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)  # let the charts finish drawing for the screenshot
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
