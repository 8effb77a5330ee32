"""The OviPro source against the sandbox, without the engine: both list endpoints scanned
at once within ``concurrency``, pages parsed beside the fetching, every lead exactly once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from leadkit.engine.http import make_session
from leadkit.redact import Redactor
from leadkit.systems.base import Page, RunContext
from leadkit.systems.ovipro import OviProSource
from leadkit.systems.ovipro.client import BATCH_LEADS
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig
from leadkit.systems.ovipro.settings import OviProSettings


async def _extract(sb: OviProSandbox, concurrency: int) -> tuple[list[Page], RunContext]:
    settings = OviProSettings.model_validate(
        {
            "base_url": sb.base_url,
            "auth_url": sb.auth_url,
            "username": sb.username,
            "password": sb.password,
            "concurrency": concurrency,
            "backoff_initial_s": 0.01,
        }
    )
    source = OviProSource("op", settings)
    async with make_session(concurrency, 30) as session:
        ctx = RunContext(
            run_id="r1",
            source="op",
            session=session,
            cursor=None,
            redactor=Redactor(),
            stop=asyncio.Event(),
            extracted_at=datetime(2024, 1, 1, tzinfo=UTC),
            log=logging.getLogger("leadkit.test.ovipro"),
        )
        pages = [page async for page in source.pages(ctx)]
    return pages, ctx


async def test_both_endpoints_are_scanned_at_once_within_the_concurrency() -> None:
    config = OviProSandboxConfig(
        leads=2 * BATCH_LEADS + 321, outgoing_leads=450, latency_s=0.01, max_in_flight=3, seed=3
    )
    async with OviProSandbox(config) as sb:
        pages, ctx = await _extract(sb, concurrency=3)
        requests = list(sb.requests)
        incoming = {lead["leadId"] for lead in sb.leads()}
        outgoing = {lead["leadId"] for lead in sb.outgoing_leads()}
    assert ctx.scan_stable
    # Never more than ``concurrency`` requests at once (the sandbox answers 429 above 3).
    assert [r.status for r in requests if r.status != 200] == []
    assert sb.token_requests == 1
    lists = [r for r in requests if r.method == "GET"]
    assert len({r.request_id for r in lists}) == len(lists)
    # The outgoing scan does not wait for the incoming one to finish.
    kinds = [r.path.rsplit("/", 1)[-1] for r in lists]
    assert kinds.index("outgoingLeads") < len(kinds) - 1 - kinds[::-1].index("leads")
    # Every lead once, in dense pages; the boundary leads of overlapping pages not twice.
    assert sorted(p.seq for p in pages) == list(range(len(pages)))
    rows: dict[str, list[str]] = {"ovipro_leads": [], "ovipro_outgoing_leads": []}
    for page in pages:
        assert page.frame is not None
        assert page.rejects == []
        rows[page.table] += page.frame["lead_id"].to_list()
    assert sorted(rows["ovipro_leads"]) == sorted(incoming)
    assert sorted(rows["ovipro_outgoing_leads"]) == sorted(outgoing)
    assert sum(p.received for p in pages) == len(incoming) + len(outgoing)


async def test_an_empty_account_still_gives_one_page_per_table() -> None:
    async with OviProSandbox(OviProSandboxConfig(leads=0, outgoing_leads=0)) as sb:
        pages, ctx = await _extract(sb, concurrency=4)
    assert sorted(p.table for p in pages) == ["ovipro_leads", "ovipro_outgoing_leads"]
    assert all(p.frame is not None and p.frame.height == 0 for p in pages)
    assert ctx.scan_stable
