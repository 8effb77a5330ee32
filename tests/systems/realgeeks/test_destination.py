"""``RealGeeksDestination`` end to end against the sandbox over 127.0.0.1.

The destination runs with a real :class:`~leadkit.engine.http.HttpClient` over an aiohttp
session; the only fake is the sandbox. The engine's part (ledger, selection) is not used:
the tests build :class:`Prepared` items the way the engine does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.config import parse_config
from leadkit.engine.http import HttpClient, make_session
from leadkit.errors import SourceAuthError
from leadkit.push.base import Lead, LeadRejected, Outcome, Prepared, PushContext
from leadkit.redact import Redactor
from leadkit.systems import get_system
from leadkit.systems.realgeeks import RealGeeksDestination, RealGeeksSettings
from leadkit.systems.realgeeks.destination import note_hash, parse_remote, remote_ref
from leadkit.systems.realgeeks.payload import format_phone
from leadkit.systems.realgeeks.sandbox import RealGeeksSandbox
from leadkit.systems.realgeeks.sandbox.validation import check_lead
from leadkit.systems.realgeeks.settings import DEFAULT_ID_NAMESPACE
from tests.systems.realgeeks.conftest import Make

CREATED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
UPDATED = datetime(2024, 3, 2, 10, 0, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    """A canonical ``leads`` row with every column set."""
    base: dict[str, Any] = {
        "system": "kpro",
        "source": "kpro_main",
        "lead_id": "42",
        "created_at": CREATED,
        "updated_at": UPDATED,
        "email": "  Jack.Johnson@Example.COM ",
        "first_name": "Jack",
        "last_name": "Johnson",
        "full_name": "Jack Johnson",
        "phone": "(808) 123 1234",
        "status": "ELIGIBLE",
        "category": "Buyer enquiry",
        "channel": "Kailua homes",
        "postcode": "96734",
        "message": "Hi, I'm interested in a house in Hawaii",
    }
    base.update(changes)
    return base


def make_lead(lead_id: str = "42", **changes: Any) -> Lead:
    """A warehouse lead from :func:`row`."""
    data = row(lead_id=lead_id, **changes)
    return Lead(data["system"], data["source"], lead_id, data)


def prepared(dest: RealGeeksDestination, lead: Lead, **kw: Any) -> Prepared:
    """What the engine hands to ``send``."""
    payload = dest.prepare(lead)
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return Prepared(lead, payload, digest, **kw)


async def send_one(dest: RealGeeksDestination, ctx: PushContext, item: Prepared) -> Outcome:
    (outcome,) = await dest.send([item], ctx)
    return outcome


def lead_id_of(outcome: Outcome) -> str:
    """The Real Geeks lead id in an outcome's ``remote_id`` (``<uuid>#note=<hash>``)."""
    lead_id, _note = parse_remote(outcome.remote_id)
    assert lead_id is not None
    return lead_id


# --- mapping ------------------------------------------------------------------------------


async def test_create_maps_every_field(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    lead = make_lead(campaign="spring", _raw="{...}", budget=450000)
    outcome = await send_one(dest, ctx, prepared(dest, lead))
    expected_id = str(uuid.uuid5(DEFAULT_ID_NAMESPACE, "kpro:kpro_main:42"))
    stored = sandbox.lead(sandbox.site_uuids[0], expected_id)
    assert stored is not None
    note = stored.pop("activities")
    # remote_id: the lead's id and the hash of the note delivered with it
    remote = remote_ref(expected_id, note_hash(note[0]["description"]))
    assert outcome == Outcome("sent", 201, "{}", None, remote)
    assert stored == {
        "id": expected_id,
        "source": "Acme Leads",
        "source_details": "leadkit: kpro lead 42 via kpro_main",
        "email": "jack.johnson@example.com",
        "first_name": "Jack",
        "last_name": "Johnson",
        "phone": "808-123-1234",
        "zip": "96734",
        "role": "Buyer",
        "created": "2024-03-01T09:30:00+00:00",
    }
    assert note == [
        {
            "type": "note",
            "source": "Acme Leads",
            "created": "2024-03-02T10:00:00+00:00",
            "description": "kpro lead 42 (source kpro_main)\n"
            "Message: Hi, I'm interested in a house in Hawaii\n"
            "Status: ELIGIBLE\n"
            "Category: Buyer enquiry\n"
            "Channel: Kailua homes\n"
            "campaign: spring\n"
            "budget: 450000",
        }
    ]
    (request,) = sandbox.received
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Authorization" not in request.headers


def test_mapping_details(make: Make) -> None:
    dest = make(role="Renter", phone_region="FI", notify_users=True, lead_source="Web")
    payload = dest.prepare(
        make_lead(
            first_name=None, last_name=None, full_name="Anna Maria Virtanen", phone="040 123 4567",
            email=None, message=None, status=None, category=None, channel=None, postcode=None,
            created_at=datetime(2024, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2))),
            updated_at=None,
        )
    )  # fmt: skip
    assert payload["first_name"] == "Anna Maria"
    assert payload["last_name"] == "Virtanen"
    assert payload["phone"] == "+358 40 1234567"
    assert payload["role"] == "Renter"
    assert payload["created"] == "2024-03-01T11:30:00+02:00"
    assert "email" not in payload
    assert "zip" not in payload
    (note,) = payload["activities"]
    assert note["created"] == payload["created"]
    assert note["notify_users"] is True
    assert note["description"] == "kpro lead 42 (source kpro_main)"


def test_naive_timestamps_are_utc_and_names_differing_from_full_name_are_noted(
    make: Make,
) -> None:
    payload = make().prepare(
        make_lead(created_at=datetime(2024, 1, 2, 3, 4, 5), full_name="Jack R. Johnson")
    )
    assert payload["created"] == "2024-01-02T03:04:05+00:00"
    assert "Full name: Jack R. Johnson" in payload["activities"][0]["description"]


def test_id_is_deterministic_and_namespaced(make: Make) -> None:
    a = make().prepare(make_lead("42"))
    assert a["id"] == make().prepare(make_lead("42", email="other@example.com"))["id"]
    assert a["id"] != make().prepare(make_lead("43"))["id"]
    other = make(id_namespace=str(uuid.uuid4())).prepare(make_lead("42"))
    assert other["id"] != a["id"]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"email": "jack@"}, "email", "email 'jack@' is not a valid e-mail address"),
        ({"email": "jack at example.com"}, "email", "is not a valid e-mail address"),
        ({"phone": "12"}, "phone", "phone '12' is not a valid phone number (numbers wi"),
        ({"phone": "call me"}, "phone", "phone 'call me' is not a valid phone number"),
        (
            {"email": None, "phone": " ", "first_name": None, "last_name": None,
             "full_name": None},
            "email",
            "no e-mail, phone or name: Real Geeks needs at least one contact field",
        ),
    ],
    ids=["bad-email", "email-with-spaces", "short-phone", "text-phone", "no-contact"],
)  # fmt: skip
def test_unfixable_leads_are_rejected_with_the_reason(
    make: Make, changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(LeadRejected) as info:
        make().prepare(make_lead(**changes))
    assert info.value.field == field
    assert reason in info.value.reason


# --- sending ------------------------------------------------------------------------------


async def test_same_lead_twice_is_one_stored_lead(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    item = prepared(dest, make_lead())
    first, second = await dest.send([item, item], ctx)
    assert first.status == second.status == "sent"
    assert first.remote_id == second.remote_id
    assert list(sandbox.leads[sandbox.site_uuids[0]]) == [lead_id_of(first)]


async def test_update_patches_fields_then_adds_the_note(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    changed = make_lead(status="CONTACTED", phone="+44 7840 258823", postcode=None)
    item = prepared(dest, changed, update=True, remote_id=created.remote_id)
    outcome = await send_one(dest, ctx, item)
    rg_id = lead_id_of(created)
    note = note_hash(item.payload["activities"][0]["description"])
    assert outcome == Outcome("updated", 200, "{}", None, remote_ref(rg_id, note))
    assert outcome.remote_id != created.remote_id  # a new note was delivered
    site = sandbox.site_uuids[0]
    _create, patch, activities = sandbox.received
    assert (patch.method, patch.path) == ("PATCH", f"/rest/sites/{site}/leads/{rg_id}")
    assert "id" not in patch.body
    assert "activities" not in patch.body
    assert patch.body["phone"] == "+44 7840 258823"
    assert activities.path.endswith(f"/leads/{rg_id}/activities")
    stored = sandbox.lead(site, rg_id)
    assert stored is not None
    assert stored["phone"] == "+44 7840 258823"
    assert stored["zip"] == "96734"  # v1 cannot unset
    assert "Status: CONTACTED" in stored["activities"][-1]["description"]
    assert len(stored["activities"]) == 2


async def test_update_v2_clears_fields_that_became_empty(
    make: Make, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    dest = make(update_api="v2")
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    item = prepared(dest, make_lead(postcode=None, phone=None), update=True)
    assert (await send_one(dest, ctx, item)).status == "updated"
    assert sandbox.received[1].path.startswith("/v2/rest/sites/")
    assert sandbox.received[1].body["zip"] == ""
    stored = sandbox.lead(sandbox.site_uuids[0], lead_id_of(created))
    assert stored is not None
    assert "zip" not in stored
    assert "phone" not in stored
    assert stored["email"] == "jack.johnson@example.com"


async def test_update_of_a_lead_not_at_real_geeks_creates_it(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    item = prepared(dest, make_lead(), update=True, remote_id=None)
    outcome = await send_one(dest, ctx, item)
    assert outcome.status == "sent"
    assert outcome.detail == "not found at Real Geeks; created again"
    assert [r.status for r in sandbox.requests] == [404, 201]
    assert sandbox.lead(sandbox.site_uuids[0], lead_id_of(outcome)) is not None


async def test_422_is_rejected_with_the_error_text(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    lead = make_lead()
    item = Prepared(lead, {"id": str(uuid.uuid4()), "source": "x", "email": "a@b"}, "h")
    outcome = await send_one(dest, ctx, item)
    assert outcome.status == "rejected"
    assert outcome.http_status == 422
    assert outcome.detail == "email 'a@b' is not a valid e-mail address"
    assert outcome.response == '{"error":"email \'a@b\' is not a valid e-mail address"}'
    assert sandbox.leads == {}
    assert len(sandbox.requests) == 1  # never retried


async def test_rejected_note_after_patch(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    created = await send_one(dest, ctx, prepared(dest, make_lead()))
    item = prepared(dest, make_lead(), update=True)
    bad = {**item.payload, "activities": [{"type": ""}]}
    outcome = await send_one(dest, ctx, Prepared(item.lead, bad, "h", update=True))
    assert outcome.status == "rejected"
    assert lead_id_of(outcome) == lead_id_of(created)
    assert (
        outcome.detail == "lead updated, but its note was not added: activities[0].type is required"
    )


async def test_401_raises_naming_the_site_without_the_password(
    make: Make, sandbox: RealGeeksSandbox
) -> None:
    for dest in (make(site_uuid=sandbox.ungranted_site_uuid), make(password="wrong-password")):
        redactor = Redactor(dest.secrets())
        log = logging.getLogger("leadkit.push.rg")
        async with make_session(2, 5.0) as session:
            http = HttpClient(session, source="rg", redactor=redactor, max_retries=3, log=log)
            ctx = PushContext("run-1", "rg", http, redactor, log)
            with pytest.raises(SourceAuthError) as info:
                await dest.send([prepared(dest, make_lead())], ctx)
        text = str(info.value)
        assert dest.settings.site_uuid in text
        assert "has not granted this integration access" in text
        assert info.value.status == 401
        for secret in dest.secrets():
            assert secret not in text
    assert len(sandbox.requests) == 2  # never retried


@pytest.mark.parametrize(
    "faults", [("503",), ("429",), ("500",), ("500-text",), ("reset",), ("503", "429", "500")]
)
async def test_transient_faults_are_retried_then_sent(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
    faults: tuple[Any, ...],
) -> None:
    sandbox.fail_next(*faults)
    outcome = await send_one(dest, ctx, prepared(dest, make_lead()))
    assert outcome.status == "sent"
    assert [r.fault for r in sandbox.requests] == [*faults, None]
    assert ctx.http.stats["retries"] == len(faults)
    assert len(sandbox.leads[sandbox.site_uuids[0]]) == 1


async def test_faults_beyond_the_retries_fail(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    sandbox.fail_next("503", "503", "503", "503")
    outcome = await send_one(dest, ctx, prepared(dest, make_lead()))
    assert outcome.status == "failed"
    assert outcome.http_status == 503
    assert outcome.detail is not None
    assert "giving up after 4 attempts" in outcome.detail
    assert sandbox.leads == {}


async def test_dry_run_sends_nothing(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    items = [prepared(dest, make_lead()), prepared(dest, make_lead("7"), update=True)]
    outcomes = await dest.check(
        items, PushContext("r", "rg", ctx.http, ctx.redactor, ctx.log, dry_run=True)
    )
    assert [o.status for o in outcomes] == ["would-send", "would-send"]
    assert outcomes[0].detail is not None
    assert "would create lead" in outcomes[0].detail
    assert outcomes[1].detail is not None
    assert "would update" in outcomes[1].detail
    assert sandbox.requests == []


async def test_concurrent_sends(
    dest: RealGeeksDestination, ctx: PushContext, sandbox: RealGeeksSandbox
) -> None:
    sandbox.configure(latency_s=0.1)
    items = [prepared(dest, make_lead(str(i))) for i in range(8)]
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(send_one(dest, ctx, item) for item in items))
    assert {r.status for r in results} == {"sent"}
    assert asyncio.get_running_loop().time() - started < 0.6
    assert len(sandbox.leads[sandbox.site_uuids[0]]) == 8


async def test_secrets_never_in_logs_or_outcomes(
    dest: RealGeeksDestination,
    ctx: PushContext,
    sandbox: RealGeeksSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.fail_next("503", "429", "reset")
    outcomes = [await send_one(dest, ctx, prepared(dest, make_lead()))]
    sandbox.fail_next("503", "503", "503", "503")
    outcomes.append(await send_one(dest, ctx, prepared(dest, make_lead("2"))))
    outcomes += await dest.check([prepared(dest, make_lead())], ctx)
    assert [o.status for o in outcomes] == ["sent", "failed", "would-send"]
    texts = [caplog.text, repr(outcomes), dest.describe(), repr(dest.settings)]
    texts += [repr(r) for r in sandbox.requests]
    assert caplog.text  # the retries were logged
    for secret in dest.secrets():
        for text in texts:
            assert secret not in text
    assert "Basic " not in caplog.text


# --- configuration ------------------------------------------------------------------------


def test_config_section_builds_the_settings() -> None:
    cfg = parse_config(
        {
            "destinations": {
                "hawaii": {
                    "kind": "realgeeks",
                    "username": "mywebsite",
                    "password": "${RG_PASSWORD}",
                    "site_uuid": "106994A2AD214AB7AD891C4CCD9AE8A5",
                    "lead_source": "My Website",
                }
            }
        },
        env={"RG_PASSWORD": "s3cret-value"},
    )
    settings = cfg.destinations["hawaii"]
    assert isinstance(settings, RealGeeksSettings)
    assert settings.site_uuid == "106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5"
    assert settings.base_url == "https://receivers.leadrouter.realgeeks.com"
    assert "s3cret-value" in cfg.secrets()
    system = get_system("realgeeks", role="destination")
    assert system.destination is RealGeeksDestination


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"site_uuid": "nope"}, "must be the site UUID"),
        ({"password": " "}, "is empty"),
        ({"role": "Landlord"}, "role"),
        ({"phone_region": "XX"}, "two-letter region code"),
        ({"base_url": "receivers.leadrouter.realgeeks.com"}, "must start with https://"),
        ({"base_url": "https://u:p@host"}, "must not contain credentials"),
        ({"sitee_uuid": "x"}, "sitee_uuid"),
    ],
)
def test_invalid_settings(changes: dict[str, Any], message: str) -> None:
    values = {"username": "u", "password": "p", "site_uuid": str(uuid.uuid4()), **changes}
    with pytest.raises(ValueError, match=message):
        RealGeeksSettings(**values)


# --- phone numbers ------------------------------------------------------------------------

_US = re.compile(r"^\d{3}-\d{3}-\d{4}$")


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        st.text(max_size=30),
        st.text(alphabet="0123456789 +-().x#", max_size=25),
        st.from_regex(r"\+?1? ?\(?[2-9]\d{2}\)? ?\d{3}-?\d{4}", fullmatch=True),
        st.integers(),
        st.none(),
    ),
    region=st.sampled_from(["US", "GB", "FI", "BR", "CA"]),
)
def test_format_phone_property(raw: object, region: str) -> None:
    out = format_phone(raw, region)
    if out is None:
        return
    assert _US.match(out) or out.startswith("+"), out
    if not out.startswith("+"):
        assert _US.match(out)
    # Whatever we send, the sandbox (its own rules: parseable with region US) accepts.
    check_lead({"source": "x", "phone": out}, mode="create")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("808-123-1234", "US", "808-123-1234"),
        ("+1 (808) 123-1234", "FI", "808-123-1234"),
        ("8081231234", "US", "808-123-1234"),
        ("+55 83 3214-1234", "US", "+55 83 3214-1234"),
        ("+55 83 1234-1234", "US", "+55 8312341234"),  # possible, not valid: digits kept
        ("07840 258823", "GB", "+44 7840 258823"),
        ("808-123-1234 ext. 5", "US", "808-123-1234"),
        ("4161234567", "CA", "416-123-4567"),
        ("", "US", None),
        ("abc", "US", None),
    ],
)
def test_format_phone_examples(raw: str, region: str, expected: str | None) -> None:
    assert format_phone(raw, region) == expected


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    section = re.split(r"\n##", doc.split('### `kind = "realgeeks"`', 1)[1])[0]
    for name in RealGeeksSettings.model_fields:
        assert f"`{name}`" in section, f"RealGeeksSettings.{name} missing from configuration.md"
