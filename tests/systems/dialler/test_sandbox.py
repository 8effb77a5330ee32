"""The dialler sandbox against the spec (``specs/dialler.md`` §2–§4), over plain HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from leadkit.systems.dialler.sandbox import DiallerSandbox, DiallerSandboxConfig
from tests.systems.dialler.conftest import JOHN, Api


def lead(**changes: Any) -> dict[str, Any]:
    """The README's example, changed; a change to None drops the field."""
    body = {**JOHN, **changes}
    return {k: v for k, v in body.items() if v is not None}


SAVED = {"saved": True, "processed": True}


# --- /lead/add: success and test mode ------------------------------------------------------


async def test_add_saves_and_queues_the_call(api: Api, sandbox: DiallerSandbox) -> None:
    reply = await api.add(lead())
    assert (reply.status, reply.body) == (200, SAVED)
    [call] = sandbox.queue
    assert (call.type, call.mobile, call.state, call.due_at) == (
        "motor-trade", "+447840258823", "queued", 600.0,
    )  # fmt: skip
    assert call.body == JOHN
    [record] = sandbox.received
    assert (record.method, record.path, record.query) == ("POST", "/lead/add", ())
    assert (record.status, record.outcome, record.body) == (200, "saved", JOHN)


@pytest.mark.parametrize("flag", [True, "true", "TRUE", " True ", 1, "1"])
async def test_test_mode_validates_and_stores_nothing(
    api: Api, sandbox: DiallerSandbox, flag: object
) -> None:
    reply = await api.add(lead(test=flag))
    assert (reply.status, reply.body) == (200, {"test": "ok"})
    assert sandbox.saved == []
    assert sandbox.received[0].outcome == "test ok"


@pytest.mark.parametrize("flag", [False, "false", "FALSE", 0, "0"])
async def test_false_test_values_submit_for_real(
    api: Api, sandbox: DiallerSandbox, flag: object
) -> None:
    assert (await api.add(lead(test=flag))).body == SAVED
    assert len(sandbox.queue) == 1


async def test_test_mode_skips_type_and_duplicate_checks(api: Api, sandbox: DiallerSandbox) -> None:
    assert (await api.add(lead())).body == SAVED
    for body in (lead(type="no-such-type", test=True), lead(test=True)):
        assert (await api.add(body)).body == {"test": "ok"}
    assert len(sandbox.saved) == 1


async def test_test_mode_still_validates(api: Api, sandbox: DiallerSandbox) -> None:
    reply = await api.add(lead(email=None, test="true"))
    assert (reply.status, reply.body) == (400, {"email": {"0": "Email cannot be blank."}})


async def test_unknown_test_value_is_a_validation_error(api: Api) -> None:
    reply = await api.add(lead(test="yes"))
    assert reply.status == 400
    assert reply.body == {"test": {"0": 'Test must be either "true" or "false".'}}


# --- /lead/add: validation (400) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"email": None}, {"email": {"0": "Email cannot be blank."}}),
        ({"email": "  "}, {"email": {"0": "Email cannot be blank."}}),
        ({"email": "john@"}, {"email": {"0": "Email is not a valid email address."}}),
        ({"email": "jöhn@example.com"}, {"email": {"0": "Email is not a valid email address."}}),
        ({"first_name": ""}, {"first_name": {"0": "First Name cannot be blank."}}),
        ({"surname": None}, {"surname": {"0": "Surname cannot be blank."}}),
        ({"surname": 42}, {"surname": {"0": "Surname must be a string."}}),
        ({"first_name": "x" * 256},
         {"first_name": {"0": "First Name should contain at most 255 characters."}}),
        ({"mobile": None}, {"mobile": {"0": "Mobile cannot be blank."}}),
        ({"mobile": "12345"}, {"mobile": {"0": "Mobile is not a valid phone number."}}),
        ({"mobile": "+1 202 555 0142"}, {"mobile": {"0": "Mobile is not a valid phone number."}}),
        ({"type": None}, {"type": {"0": "Type cannot be blank."}}),
        ({"data": ""}, {"data": {"0": "Empty or invalid content of `data` field"}}),
        ({"data": {"vehicle_make": "Ford"}},
         {"data": {"0": "Empty or invalid content of `data` field"}}),
        ({"data": '{\\"vehicle_make\\":\\"Ford\\"}'},
         {"data": {"0": "Empty or invalid content of `data` field"}}),
        ({"data": '"just a string"'}, {"data": {"0": "Empty or invalid content of `data` field"}}),
        ({"delays": "soon"}, {"delays": {"0": "Delays must be an integer."}}),
        ({"delays": 1.5}, {"delays": {"0": "Delays must be an integer."}}),
        ({"delays": -1}, {"delays": {"0": "Delays must be no less than 0."}}),
    ],
    ids=lambda v: str(v)[:40],
)  # fmt: skip
async def test_validation_errors(
    api: Api, sandbox: DiallerSandbox, changes: dict[str, Any], errors: dict[str, Any]
) -> None:
    body = lead(**{k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            body.pop(k)
    reply = await api.add(body)
    assert (reply.status, reply.body) == (400, errors)
    assert sandbox.saved == []
    assert sandbox.received[0].outcome == "invalid"


async def test_several_invalid_fields_are_reported_together(api: Api) -> None:
    reply = await api.add({"mobile": "12", "type": "motor-trade", "delays": "x"})
    assert reply.status == 400
    assert reply.body == {
        "email": {"0": "Email cannot be blank."},
        "first_name": {"0": "First Name cannot be blank."},
        "surname": {"0": "Surname cannot be blank."},
        "mobile": {"0": "Mobile is not a valid phone number."},
        "delays": {"0": "Delays must be an integer."},
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"delays": "600"},
        {"delays": 0},
        {"data": "[1, 2]"},
        {"mobile": "+44 7840 258823"},
        {"mobile": "020 7946 0958"},  # a landline is a possible GB number (spec §4)
        {"other_phone": "whatever"},  # other_phone is not validated
        {"unknown_field": "ignored", "subtype": None, "data": None, "delays": None},
    ],
    ids=str,
)
async def test_accepted_variants(
    api: Api, sandbox: DiallerSandbox, changes: dict[str, Any]
) -> None:
    assert (await api.add(lead(**changes))).body == SAVED
    assert len(sandbox.queue) == 1


async def test_subtypes_are_checked_only_when_configured(api: Api, sandbox: DiallerSandbox) -> None:
    assert (await api.add(lead(subtype="plumber"))).body == SAVED
    sandbox.configure(validate_subtypes=True)
    reply = await api.add(lead(subtype="plumber", mobile="07840258824"))
    assert (reply.status, reply.body) == (400, {"subtype": {"0": "Subtype is invalid."}})


# --- /lead/add: type, duplicates, scheduled calls, the dial clock --------------------------


async def test_unknown_type_is_saved_but_not_processed(api: Api, sandbox: DiallerSandbox) -> None:
    reply = await api.add(lead(type="plumbing"))
    assert reply.body == {"saved": True, "processed": False, "error": "Unknown Type"}
    [saved] = sandbox.saved
    assert (saved.state, saved.error) == ("unprocessed", "Unknown Type")
    assert sandbox.queue == []


async def test_another_call_is_already_scheduled_for_the_mobile(
    api: Api, sandbox: DiallerSandbox
) -> None:
    assert (await api.add(lead())).body == SAVED
    scheduled = {"saved": True, "processed": False, "error": "Another call is already scheduled"}
    # the same mobile written differently, under another type, with another e-mail
    again = lead(mobile="+44 (0)7840 258823", type="home-insurance", email="x@example.com")
    assert (await api.add(again)).body == scheduled
    assert [c.state for c in sandbox.saved] == ["queued", "unprocessed"]


async def test_dial_clock_and_existing_contact(api: Api, sandbox: DiallerSandbox) -> None:
    assert (await api.add(lead(delays=600))).body == SAVED
    sandbox.advance(599)
    assert [c.state for c in sandbox.queue] == ["queued"]
    sandbox.advance(1)
    assert [c.state for c in sandbox.queue] == ["dialled"]
    existing = {"saved": True, "processed": False, "error": "Existing Contact"}
    assert (await api.add(lead())).body == existing  # same type, same mobile
    assert (await api.add(lead(mobile="07840258824"))).body == existing  # same e-mail
    other_type = lead(type="home-insurance")
    assert (await api.add(other_type)).body == SAVED  # a dialled call does not block others
    assert [c.state for c in sandbox.saved] == ["dialled", "unprocessed", "unprocessed", "queued"]


async def test_default_delay_applies_without_delays(api: Api, sandbox: DiallerSandbox) -> None:
    sandbox.configure(default_delay_s=30)
    await api.add(lead(delays=None))
    assert sandbox.queue[0].due_at == 30
    sandbox.advance(30)
    assert sandbox.queue[0].state == "dialled"


async def test_running_clock_dials_calls(api: Api, sandbox: DiallerSandbox) -> None:
    sandbox.configure(clock_speed=1000)
    await api.add(lead(delays=20))  # 20 ms of real time
    deadline = time.monotonic() + 5
    while sandbox.queue[0].state == "queued" and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert sandbox.queue[0].state == "dialled"


async def test_order_type_before_duplicates(api: Api, sandbox: DiallerSandbox) -> None:
    await api.add(lead())
    reply = await api.add(lead(type="plumbing"))  # also scheduled, but the type comes first
    assert reply.body["error"] == "Unknown Type"


# --- /lead/cancel --------------------------------------------------------------------------


CANCEL = {"type": "motor-trade", "mobile": "07840258823"}


async def test_cancel_a_queued_call(api: Api, sandbox: DiallerSandbox) -> None:
    await api.add(lead())
    reply = await api.cancel({"type": "motor-trade", "mobile": "+447840258823"})
    assert (reply.status, reply.body) == (200, {"cancelled": True})
    assert sandbox.queue[0].state == "cancelled"
    again = await api.cancel(CANCEL)
    assert again.body == {"cancelled": False, "warning": "not found"}
    assert (await api.add(lead())).body == SAVED  # nothing scheduled any more


@pytest.mark.parametrize(
    ("setup", "body", "warning"),
    [
        ("none", CANCEL, "not found"),
        ("dialled", CANCEL, "already processed"),
        ("queued", {"type": "home-insurance", "mobile": "07840258823"}, "not found"),
        ("queued", {"type": "plumbing", "mobile": "07840258823"}, "server error (call group)"),
        ("save-error", CANCEL, "server error (save)"),
    ],
)
async def test_cancel_warnings(
    api: Api, sandbox: DiallerSandbox, setup: str, body: dict[str, str], warning: str
) -> None:
    if setup != "none":
        await api.add(lead())
    if setup == "dialled":
        sandbox.advance(600)
    if setup == "save-error":
        sandbox.configure(cancel_save_error_rate=1.0)
    reply = await api.cancel(body)
    assert (reply.status, reply.body) == (200, {"cancelled": False, "warning": warning})
    assert sandbox.received[-1].outcome == warning
    if setup in ("queued", "save-error"):
        assert sandbox.queue[0].state == "queued"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"type": "motor-trade"}, {"mobile": {"0": "Mobile cannot be blank."}}),
        ({"mobile": "07840258823"}, {"type": {"0": "Type cannot be blank."}}),
        ({"type": "motor-trade", "mobile": "0"},
         {"mobile": {"0": "Mobile is not a valid phone number."}}),
    ],
)  # fmt: skip
async def test_cancel_validation(api: Api, body: dict[str, str], errors: dict[str, Any]) -> None:
    reply = await api.cancel(body)
    assert (reply.status, reply.body) == (400, errors)


# --- key, body, method, path (order of checks) ----------------------------------------------


@pytest.mark.parametrize("path", ["/lead/add", "/lead/cancel"])
@pytest.mark.parametrize("key", [None, "", "wrong-key"])
async def test_bad_key_is_401_before_the_body(
    api: Api, sandbox: DiallerSandbox, path: str, key: str | None
) -> None:
    reply = await api.call(path, {"not": "valid"}, key=key)
    assert (reply.status, reply.body) == (401, {"error": "Invalid API key"})
    assert sandbox.received[0].query == ()  # the key is never recorded
    assert sandbox.received[0].outcome == "unauthorized"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"", "application/json"),
     (b'{"email": "a@b.co"}', "text/plain")],
)  # fmt: skip
async def test_body_must_be_a_json_object(api: Api, data: bytes, content_type: str) -> None:
    reply = await api.add(data=data, content_type=content_type)
    assert reply.status == 400
    assert reply.body == {"body": {"0": "Request body must be a JSON object."}}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_other_methods_are_405(api: Api, method: str) -> None:
    reply = await api.add(method=method, key=None)
    assert (reply.status, reply.headers["Allow"]) == (405, "POST")


async def test_unknown_path_is_404(api: Api) -> None:
    assert (await api.call("/lead/list", {})).status == 404


# --- faults and knobs -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "503", "429"])
async def test_status_faults(api: Api, sandbox: DiallerSandbox, kind: str) -> None:
    sandbox.configure(retry_after_s=3)
    sandbox.fail_next(1, kind)  # type: ignore[arg-type]
    reply = await api.add(lead())
    assert reply.status == int(kind)
    assert reply.headers.get("Retry-After") == ("3" if kind == "429" else None)
    assert sandbox.saved == []
    assert (await api.add(lead())).body == SAVED  # the next request is fine
    assert [r.fault for r in sandbox.received] == [kind, None]


async def test_reset_fault_drops_the_connection(api: Api, sandbox: DiallerSandbox) -> None:
    sandbox.fail_next(1, "reset")
    with pytest.raises(aiohttp.ClientError):
        await api.add(lead())
    assert sandbox.saved == []
    assert sandbox.received[0].status is None


async def test_fault_rate_and_latency(api: Api, sandbox: DiallerSandbox) -> None:
    sandbox.configure(fault_rate=1.0, fault_kinds=("503",), latency_s=0.1)
    started = time.monotonic()
    replies = await asyncio.gather(*(api.add(lead()) for _ in range(5)))
    assert {r.status for r in replies} == {503}
    assert 0.1 <= time.monotonic() - started < 2.0  # concurrent, each delayed


async def test_max_in_flight_answers_429(api: Api, sandbox: DiallerSandbox) -> None:
    sandbox.configure(max_in_flight=2, latency_s=0.1)
    mobiles = [f"078402588{i:02d}" for i in range(5)]
    replies = await asyncio.gather(*(api.add(lead(mobile=m)) for m in mobiles))
    assert sorted(r.status for r in replies) == [200, 200, 429, 429, 429]


def test_config_reports_every_problem() -> None:
    with pytest.raises(ValueError, match=r"fault_rate=2 .*fault_kinds=.*max_in_flight=0"):
        DiallerSandboxConfig(fault_rate=2, fault_kinds=("418",), max_in_flight=0)  # type: ignore[arg-type]


async def test_configure_rejects_unknown_knobs(sandbox: DiallerSandbox) -> None:
    with pytest.raises(ValueError, match="unknown knobs"):
        sandbox.configure(colour="blue")
    sandbox.configure(lead_types=("plumbing",))
    assert sandbox.lead_types == ("plumbing",)


async def test_reset_forgets_everything(api: Api, sandbox: DiallerSandbox) -> None:
    await api.add(lead())
    sandbox.reset()
    assert (sandbox.received, sandbox.saved) == ([], [])


def test_command_line_runner_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit.systems.dialler.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("DIALLER_SANDBOX_URL=http://127.0.0.1:")
        assert proc.stdout.readline().startswith("DIALLER_API_KEY=")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
