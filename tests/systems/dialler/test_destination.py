"""``DiallerDestination`` end to end against the dialler sandbox over 127.0.0.1.

No fakes of leadkit code: a real :class:`~leadkit.engine.http.HttpClient` over an aiohttp
session, the real destination, the sandbox as the remote server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadkit.config import parse_config
from leadkit.engine.http import HttpClient, make_session
from leadkit.errors import ConfigError, SourceAuthError
from leadkit.push.base import Lead, LeadRejected, Outcome, Prepared, PushContext
from leadkit.redact import Redactor
from leadkit.systems import get_system
from leadkit.systems.dialler import DiallerDestination, DiallerSettings
from leadkit.systems.dialler.payload import normalise_uk_mobile
from leadkit.systems.dialler.sandbox import DiallerSandbox

ROW: dict[str, Any] = {
    "system": "kpro",
    "source": "kpro_main",
    "lead_id": "42",
    "created_at": datetime(2021, 3, 1, 9, 30, tzinfo=UTC),
    "updated_at": datetime(2021, 3, 2, 10, 0, tzinfo=UTC),
    "email": "  John.Doe@Example.COM ",
    "first_name": "John",
    "last_name": "Doe",
    "full_name": "John Doe",
    "phone": "+44 (0)7840 258823",
    "status": "eligible",
    "category": "buy",
    "channel": "Website",
    "postcode": "SW1A 1AA",
    "message": None,
}
"""A ``leads`` view row with every canonical column."""

MakeDest = Callable[..., DiallerDestination]


def make_lead(lead_id: str = "42", **changes: Any) -> Lead:
    return Lead("kpro", "kpro_main", lead_id, {**ROW, "lead_id": lead_id, **changes})


def prepared(dest: DiallerDestination, lead: Lead) -> Prepared:
    payload = dest.prepare(lead)
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return Prepared(lead, payload, digest)


def raw(lead: Lead, payload: dict[str, Any]) -> Prepared:
    """A prepared item with a payload leadkit's own validation would never build."""
    return Prepared(lead, payload, "x")


@pytest.fixture
def make_dest(sandbox: DiallerSandbox) -> MakeDest:
    def make(**changes: Any) -> DiallerDestination:
        body = {
            "kind": "dialler",
            "base_url": sandbox.base_url,
            "api_key": sandbox.api_key,
            "lead_type": "motor-trade",
            "subtype": "valeter",
            "delays_s": 600,
            "max_retries": 3,
            **changes,
        }
        return DiallerDestination("dialler_test", DiallerSettings.model_validate(body))

    return make


@pytest.fixture
def dest(make_dest: MakeDest) -> DiallerDestination:
    return make_dest()


@pytest.fixture
async def ctx(dest: DiallerDestination) -> AsyncIterator[PushContext]:
    log = logging.getLogger("leadkit.push.dialler_test")
    redactor = Redactor(dest.secrets())
    session = make_session(dest.settings.concurrency, dest.settings.timeout_s)
    http = HttpClient(
        session,
        source=dest.name,
        redactor=redactor,
        max_retries=dest.settings.max_retries,
        log=log,
        backoff_initial_s=0.01,
    )
    try:
        yield PushContext("run-1", dest.name, http, redactor, log)
    finally:
        await session.close()


# --- mapping ---------------------------------------------------------------------------------


async def test_every_field_is_mapped_and_sent(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    item = prepared(dest, make_lead())
    assert item.payload == {
        "email": "john.doe@example.com",
        "first_name": "John",
        "surname": "Doe",
        "mobile": "07840258823",
        "type": "motor-trade",
        "subtype": "valeter",
        "delays": 600,
        "data": item.payload["data"],
    }
    assert isinstance(item.payload["data"], str)
    assert json.loads(item.payload["data"]) == {
        "system": "kpro",
        "source": "kpro_main",
        "lead_id": "42",
        "created_at": "2021-03-01T09:30:00+00:00",
        "updated_at": "2021-03-02T10:00:00+00:00",
        "status": "eligible",
        "category": "buy",
        "channel": "Website",
        "postcode": "SW1A 1AA",
    }
    [outcome] = await dest.send([item], ctx)
    assert (outcome.status, outcome.http_status) == ("sent", 200)
    assert json.loads(outcome.response or "") == {"saved": True, "processed": True}
    [record] = sandbox.received
    assert record.body == item.payload  # exactly what was prepared, nothing more
    assert record.query == ()  # only the key was in the query
    [call] = sandbox.queue
    assert (call.state, call.due_at, call.mobile) == ("queued", 600.0, "+447840258823")


@pytest.mark.parametrize(
    ("changes", "first", "surname"),
    [
        ({"first_name": None, "last_name": None, "full_name": "Mrs Mary Ann Smith"},
         "Mary Ann", "Smith"),
        ({"first_name": None, "last_name": None, "full_name": "Smith, Mary"}, "Mary", "Smith"),
        ({"first_name": "Jan", "last_name": None, "full_name": "Jan van der Berg"},
         "Jan", "van der Berg"),
        ({"first_name": " Ann ", "last_name": " Lee ", "full_name": None}, "Ann", "Lee"),
    ],
)  # fmt: skip
def test_names_are_split_from_full_name(
    dest: DiallerDestination, changes: dict[str, Any], first: str, surname: str
) -> None:
    payload = dest.prepare(make_lead(**changes))
    assert (payload["first_name"], payload["surname"]) == (first, surname)


def test_system_table_columns_go_into_data(make_dest: MakeDest) -> None:
    row = {
        "id": 7,
        "email": "a@b.co",
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "07840258823",
        "alt_phone": "020 7946 0958",
        "site": {"id": 3, "name": "Homes"},
        "tags": ["a", "b"],
        "price": Decimal("1.50"),
        "moved_on": date(2021, 5, 1),
        "empty": "  ",
        "_raw": '{"id": 7}',
        "_source": "kpro_main",
    }
    dest = make_dest(other_phone_field="alt_phone", subtype=None, delays_s=None)
    payload = dest.prepare(Lead("kpro", "kpro_main", "7", row))
    assert payload["other_phone"] == "02079460958"
    assert "subtype" not in payload
    assert "delays" not in payload
    assert json.loads(payload["data"]) == {
        "id": 7,
        "site": {"id": 3, "name": "Homes"},
        "tags": ["a", "b"],
        "price": "1.50",
        "moved_on": "2021-05-01",
    }


def test_data_fields_choose_the_columns(make_dest: MakeDest) -> None:
    payload = make_dest(data_fields=["postcode", "message"]).prepare(make_lead())
    assert payload["data"] == '{"postcode":"SW1A 1AA"}'
    assert "data" not in make_dest(data_fields=[]).prepare(make_lead())  # never ""


def test_unusable_other_phone_stays_in_data(make_dest: MakeDest) -> None:
    payload = make_dest(other_phone_field="channel").prepare(make_lead())
    assert "other_phone" not in payload
    assert json.loads(payload["data"])["channel"] == "Website"


# --- rejections (never sent) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"email": None}, "email", "email is missing; the dialler requires an e-mail address"),
        ({"email": "john@@example"}, "email",
         "email 'john@@example' is not a valid e-mail address"),
        ({"phone": "020 7946 0958"}, "mobile",
         "mobile '020 7946 0958' is a UK landline number, not a mobile"),
        ({"phone": "+1 202 555 0142"}, "mobile",
         "mobile '+1 202 555 0142' is not a UK number (country code +1)"),
        ({"phone": "call me"}, "mobile", "mobile 'call me' cannot be read as a phone number"),
        ({"phone": "07700 900123"}, "mobile", "mobile '07700 900123' is not a valid UK number"),
        ({"phone": None}, "mobile", "mobile is missing; the dialler needs a UK mobile"),
        ({"first_name": None, "last_name": None, "full_name": "Cher"}, "surname",
         "surname is missing (no last_name, and full_name 'Cher' has no surname)"),
        ({"first_name": None, "last_name": None, "full_name": None}, "first_name",
         "first_name is missing (no first_name or full_name); "
         "surname is missing (no last_name, and full_name None has no surname)"),
        ({"email": "x", "phone": "1"}, "email",
         "email 'x' is not a valid e-mail address; mobile '1' cannot be read as a phone number"),
    ],
)  # fmt: skip
def test_rejections_name_the_problem(
    dest: DiallerDestination, changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(LeadRejected) as info:
        dest.prepare(make_lead(**changes))
    assert (info.value.field, info.value.reason) == (field, reason)


def test_overlong_name_is_rejected(dest: DiallerDestination) -> None:
    with pytest.raises(LeadRejected, match="at most 255 characters") as info:
        dest.prepare(make_lead(first_name="x" * 300))
    assert info.value.field == "first_name"


# --- each documented response ------------------------------------------------------------------


async def test_existing_contact_is_an_outcome(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    item = prepared(dest, make_lead())
    assert (await dest.send([item], ctx))[0].status == "sent"
    [outcome] = await dest.send([item], ctx)  # still queued
    assert (outcome.status, outcome.detail) == (
        "skipped-duplicate", "Another call is already scheduled",
    )  # fmt: skip
    sandbox.advance(600)  # dialled
    [outcome] = await dest.send([item], ctx)
    assert (outcome.status, outcome.detail, outcome.http_status) == (
        "skipped-duplicate", "Existing Contact", 200,
    )  # fmt: skip


async def test_a_duplicate_answer_to_a_resend_after_a_killed_push_counts_as_sent(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    # Spec Q6: the first push reached the dialler but died before recording the answer; the
    # engine sends the lead again with ``resend`` set. "Another call is already scheduled"
    # (still queued) and "Existing Contact" (dialled) then mean "already queued": sent.
    item = prepared(dest, make_lead())
    assert (await dest.send([item], ctx))[0].status == "sent"
    again = dataclasses.replace(item, resend=True)
    [outcome] = await dest.send([again], ctx)
    assert outcome.status == "sent"
    assert "Another call is already scheduled" in str(outcome.detail)
    sandbox.advance(600)
    [outcome] = await dest.send([again], ctx)
    assert outcome.status == "sent"
    assert "Existing Contact" in str(outcome.detail)
    # Unknown Type stays a rejection, resend or not.
    other = dataclasses.replace(prepared(make_dest_unknown(dest), make_lead("43")), resend=True)
    assert (await dest.send([other], ctx))[0].status == "rejected"


@pytest.mark.parametrize(("kind", "status"), [("500", "sent"), ("reset", "sent"),
                                               ("503", "skipped-duplicate")])  # fmt: skip
async def test_a_duplicate_answer_after_an_unclear_retry_in_one_push_counts_as_sent(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox, kind: str, status: str
) -> None:
    # Q6 inside one push: a 500 or a dropped connection may come after the dialler saved the
    # lead, so the retry's "Another call is already scheduled" means our call is queued. A
    # 503 refuses the request, so the same answer is a true duplicate.
    item = prepared(dest, make_lead())
    assert (await dest.send([item], ctx))[0].status == "sent"
    sandbox.fail_next(1, kind)  # type: ignore[arg-type]
    [outcome] = await dest.send([item], ctx)
    assert outcome.status == status
    assert "Another call is already scheduled" in str(outcome.detail)
    assert len(sandbox.queue) == 1


def make_dest_unknown(dest: DiallerDestination) -> DiallerDestination:
    settings = dest.config.model_copy(update={"lead_type": "no-such-type"})
    return DiallerDestination(dest.name, settings)


async def test_unknown_type_is_rejected_and_logged_once(
    make_dest: MakeDest, ctx: PushContext, caplog: pytest.LogCaptureFixture
) -> None:
    dest = make_dest(lead_type="plumbing")
    items = [prepared(dest, make_lead(str(i), phone=f"0784025880{i}")) for i in range(3)]
    with caplog.at_level(logging.WARNING):
        outcomes = await dest.send(items, ctx)
    assert [(o.status, o.detail) for o in outcomes] == [("rejected", "Unknown Type")] * 3
    warnings = [r for r in caplog.records if "lead type" in r.getMessage()]
    assert len(warnings) == 1
    assert "'plumbing'" in warnings[0].getMessage()


async def test_server_validation_errors_are_rejections(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    good = prepared(dest, make_lead())
    bad = raw(good.lead, {**good.payload, "data": "", "email": "nope"})
    [outcome] = await dest.send([bad], ctx)
    assert (outcome.status, outcome.http_status) == ("rejected", 400)
    assert outcome.detail == (
        "email: Email is not a valid email address.; data: Empty or invalid content of `data` field"
    )
    sandbox.configure(validate_subtypes=True)
    plumber = make_dest_with_subtype(dest, "plumber")
    [outcome] = await plumber.send([prepared(plumber, good.lead)], ctx)
    assert (outcome.status, outcome.detail) == ("rejected", "subtype: Subtype is invalid.")
    assert sandbox.saved == []


def make_dest_with_subtype(dest: DiallerDestination, subtype: str) -> DiallerDestination:
    settings = dest.config.model_copy(update={"subtype": subtype})
    return DiallerDestination(dest.name, settings)


async def test_bad_key_stops_the_destination(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    sandbox.configure(api_keys=("another-key",))
    with pytest.raises(SourceAuthError) as info:
        await dest.send([prepared(dest, make_lead())], ctx)
    assert info.value.status == 401
    assert sandbox.api_key not in str(info.value)
    assert dest.config.api_key.get_secret_value() not in str(info.value)
    assert "key=***" in str(info.value)


# --- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["503", "429", "500", "502", "reset"])
async def test_transient_faults_are_retried(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox, kind: str
) -> None:
    sandbox.fail_next(2, kind)  # type: ignore[arg-type]
    [outcome] = await dest.send([prepared(dest, make_lead())], ctx)
    assert outcome.status == "sent"
    assert [r.fault for r in sandbox.received] == [kind, kind, None]
    assert ctx.http.stats["retries"] == 2
    assert len(sandbox.queue) == 1


async def test_retries_exhausted_is_failed(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    sandbox.fail_next(10, "503")
    [outcome] = await dest.send([prepared(dest, make_lead())], ctx)
    assert (outcome.status, outcome.http_status) == ("failed", 503)
    assert "giving up after 4 attempts" in (outcome.detail or "")
    assert "key=***" in (outcome.detail or "")
    assert len(sandbox.received) == 4
    assert sandbox.saved == []


async def test_validation_errors_are_not_retried(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    item = prepared(dest, make_lead())
    await dest.send([raw(item.lead, {**item.payload, "delays": "x"})], ctx)
    assert len(sandbox.received) == 1


# --- dry run -------------------------------------------------------------------------------


async def test_dry_run_uses_test_mode_and_saves_nothing(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    items = [prepared(dest, make_lead(str(i), phone=f"0784025880{i}")) for i in range(3)]
    bad = raw(items[0].lead, {**items[0].payload, "first_name": ""})
    outcomes = await dest.check([*items, bad], ctx)
    assert [o.status for o in outcomes] == ["would-send"] * 3 + ["rejected"]
    assert outcomes[3].detail == "first_name: First Name cannot be blank."
    assert sandbox.saved == []
    assert [r.body["test"] for r in sandbox.received] == [True] * 4
    assert all("test" not in item.payload for item in items)  # the hash stays the real one


# --- cancel -------------------------------------------------------------------------------------


async def test_cancel_outcomes(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    queued = prepared(dest, make_lead("1", phone="07840 258801", email="q@example.com"))
    dialled = prepared(dest, make_lead("2", phone="07840 258802", email="d@example.com"))
    never = prepared(dest, make_lead("3", phone="07840 258803", email="n@example.com"))
    await dest.send([dialled], ctx)
    sandbox.advance(600)
    await dest.send([queued], ctx)
    outcomes = await dest.cancel([queued, dialled, never, queued], ctx)
    assert [(o.status, o.detail) for o in outcomes] == [
        ("cancelled", None),
        ("rejected", "already processed"),
        ("rejected", "not found"),
        ("rejected", "not found"),
    ]
    assert [c.state for c in sandbox.queue] == ["dialled", "cancelled"]
    cancels = [r.body for r in sandbox.received if r.path == "/lead/cancel"]
    assert cancels[0] == {"type": "motor-trade", "mobile": "07840258801"}  # as at add (Q7)


async def test_cancel_server_errors(
    make_dest: MakeDest, dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox
) -> None:
    item = prepared(dest, make_lead())
    await dest.send([item], ctx)
    sandbox.configure(cancel_save_error_rate=1.0)
    [outcome] = await dest.cancel([item], ctx)
    assert (outcome.status, outcome.detail) == ("failed", "server error (save)")
    sandbox.configure(cancel_save_error_rate=0.0, lead_types=("home-insurance",))
    [outcome] = await dest.cancel([item], ctx)
    assert (outcome.status, outcome.detail) == ("rejected", "server error (call group)")
    assert sandbox.queue[0].state == "queued"


# --- secrets ------------------------------------------------------------------------------------


async def test_the_key_never_appears(
    dest: DiallerDestination, ctx: PushContext, sandbox: DiallerSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    key = sandbox.api_key
    outcomes: list[Outcome] = []
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        item = prepared(dest, make_lead())
        sandbox.fail_next(2, "429")
        sandbox.fail_next(1, "reset")
        outcomes += await dest.send([item], ctx)
        outcomes += await dest.check([item], ctx)
        outcomes += await dest.cancel([item], ctx)
        sandbox.fail_next(4, "500")
        outcomes += await dest.send([item], ctx)
        sandbox.configure(api_keys=("other-key-0000",))
        with pytest.raises(SourceAuthError) as info:
            await dest.cancel([item], ctx)
        texts.append(str(info.value))
    assert [o.status for o in outcomes] == ["sent", "would-send", "cancelled", "failed"]
    texts += [str(v) for o in outcomes for v in (o.response, o.detail) if v]
    texts += [r.getMessage() for r in caplog.records]
    assert any("retry" in t for t in texts)
    for text in texts:
        assert key not in text
    assert key not in dest.describe()
    assert dest.secrets() == [key]


# --- configuration -----------------------------------------------------------------------------


def test_configured_from_leadkit_toml() -> None:
    body = {"kind": "dialler", "base_url": "https://dialler.example/", "api_key": "${DK}",
            "lead_type": "motor-trade", "delays_s": 600}  # fmt: skip
    cfg = parse_config({"destinations": {"calls": body}}, env={"DK": "secret-dialler-key"})
    settings = cfg.destinations["calls"]
    assert isinstance(settings, DiallerSettings)
    assert settings.base_url == "https://dialler.example"
    assert "secret-dialler-key" in cfg.secrets()
    system = get_system("dialler", role="destination")
    assert system.destination is DiallerDestination
    assert system.destination_settings is DiallerSettings


def test_bad_settings_are_reported_together() -> None:
    body = {"kind": "dialler", "base_url": "dialler.example?key=x", "api_key": "${DK}",
            "lead_type": " ", "delays_s": -5, "lead_typ": "x"}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_config({"destinations": {"calls": body}}, env={"DK": "secret-dialler-key"})
    text = str(info.value)
    for key in ("base_url", "lead_type", "delays_s", "lead_typ: unknown setting"):
        assert f"destinations.calls.{key}" in text
    assert "secret-dialler-key" not in text


# --- the phone normaliser (property) ----------------------------------------------------------

_MOBILE = re.compile(r"^07\d{9}$")
_phone_like = st.text(alphabet="0123456789+()- .x#", max_size=25)
_uk_mobiles = st.builds(
    lambda prefix, digits, sep: prefix + sep.join([digits[:4], digits[4:]]),
    st.sampled_from(["07", "+447", "00447", "+44 (0)7", "447", "7"]),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.sampled_from(["", " ", "-"]),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), _phone_like, _uk_mobiles, st.integers(), st.none()))
def test_phone_normaliser_returns_a_uk_mobile_or_rejects(value: object) -> None:
    rejected: LeadRejected | None
    try:
        mobile = normalise_uk_mobile(value)
    except LeadRejected as exc:
        rejected = exc
    else:
        rejected = None
    if rejected is not None:
        assert rejected.field == "mobile"
        assert rejected.reason.startswith("mobile ")
        return
    assert _MOBILE.match(mobile)
    number = phonenumbers.parse(mobile, "GB")
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    assert normalise_uk_mobile(mobile) == mobile  # idempotent
