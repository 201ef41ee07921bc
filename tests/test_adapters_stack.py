"""The service in real-API mode, end to end: each messenger's documented answers
retried or failed as they should be, with the messenger's own words kept."""

import time

import pytest
import requests

from apiclient import add_contact, attempts, failed, received, send, set_faults
from helpers import wait_until
from people import wrote

TIMEOUT = 5
RECIPIENT = {"telegram": "1000{}", "whatsapp": "+1555000{}", "viber": "viber-user-{}="}
# Telegram's 403 for a bot the person blocked is no failure but an opt-out (tests/test_opt_out.py).
PERMANENT = {
    "telegram": {
        "telegram:400": "Telegram 400: Bad Request: chat not found",
        "telegram:404": "Telegram 404: Not Found",
    },
    "whatsapp": {
        "whatsapp:100": "WhatsApp 100: (#100) Invalid parameter",
        "whatsapp:131026": "WhatsApp 131026: (#131026) Message undeliverable",
        "whatsapp:131030": "WhatsApp 131030: (#131030) Recipient phone number not in allowed list",
        "whatsapp:131047": "WhatsApp 131047: (#131047) Re-engagement message",
    },
    "viber": {
        "viber:5": "Viber 5: receiverNotRegistered",
        "viber:6": "Viber 6: receiverNotSubscribed",
        "viber:7": "Viber 7: publicAccountBlocked",
        "viber:11": "Viber 11: receiverNoSuitableDevice",
    },
}
TRANSIENT = {
    "telegram": ["telegram:429", "telegram:500", "telegram:502"],
    "whatsapp": ["whatsapp:4", "whatsapp:80007", "whatsapp:130429", "whatsapp:131048",
                 "whatsapp:131056", "whatsapp:131000"],
    "viber": ["viber:12"],
}


def send_to_many(stack, messenger, count, text):
    """Add `count` contacts with only this messenger and send them one text; their recipient ids."""
    names = [f"{messenger}{i}" for i in range(count)]
    for i, name in enumerate(names):
        add_contact(stack, "test", name, **{messenger: RECIPIENT[messenger].format(i)})
    if messenger == "whatsapp":
        # Within WhatsApp's 24-hour window, so that the texts go.
        wrote(stack, *(RECIPIENT[messenger].format(i) for i in range(count)))
    assert send(stack, "test", names, text).status_code == 200
    return {RECIPIENT[messenger].format(i) for i in range(count)}


def failed_when(stack, count):
    """The user's failed records, once there are `count` of them."""
    return wait_until(lambda: len(failed(stack, "test")) == count and failed(stack, "test"),
                      timeout=15)


def test_each_messenger_delivers_through_its_api(real):
    set_faults(real, viber_accepts=True)
    add_contact(real, "test", "Artem", telegram="123456789", whatsapp="+79920082861",
                viber="01234567890A=")
    wrote(real, "+79920082861")
    assert send(real, "test", ["Artem"], "Hello there").json()["deliveries"] == 3
    got = wait_until(lambda: len(received(real)) == 3 and received(real), timeout=15)
    assert sorted((r["messenger"], r["to"], r["text"]) for r in got) == [
        ("telegram", "123456789", "Hello there"),
        ("viber", "01234567890A=", "Hello there"),
        ("whatsapp", "+79920082861", "Hello there"),
    ]
    assert [a["status"] for a in attempts(real)] == [200, 200, 200]
    assert failed(real, "test") == []


@pytest.mark.parametrize("messenger", sorted(PERMANENT))
def test_documented_refusals_fail_at_once_with_the_messengers_description(real, messenger):
    expected = PERMANENT[messenger]
    set_faults(real, viber_accepts=True, script=list(expected))
    send_to_many(real, messenger, len(expected), "refused")
    records = failed_when(real, len(expected))
    errors = sorted(r["error"] for r in records)
    # Meta's details may follow its message.
    assert len(errors) == len(expected)
    assert all(e.startswith(d) for e, d in zip(errors, sorted(expected.values()), strict=True)), errors
    assert {r["attempts"] for r in records} == {1}
    assert {r["messenger"] for r in records} == {messenger}
    time.sleep(0.5)
    assert len(attempts(real)) == len(expected)
    assert received(real) == []


@pytest.mark.parametrize("messenger", sorted(TRANSIENT))
def test_documented_rate_limits_and_outages_are_retried_then_delivered(real, messenger):
    steps = TRANSIENT[messenger]
    set_faults(real, viber_accepts=True, retry_after=2, script=steps)
    recipients = send_to_many(real, messenger, len(steps), "retried")
    wait_until(lambda: len(received(real)) == len(steps), timeout=20)
    time.sleep(0.5)
    tries = {}
    for a in attempts(real):
        tries.setdefault(a["to"], []).append(a)
    assert set(tries) == recipients
    assert sorted(t[0]["error"] for t in tries.values()) == sorted(steps)
    assert all([a["status"] for a in t[1:]] == [200] for t in tries.values())
    assert failed(real, "test") == []
    flood = [t for t in tries.values() if t[0]["error"] == "telegram:429"]
    for first, second in flood:
        assert second["time"] - first["time"] >= 2, "retried before Telegram's retry_after"


def test_wrong_credentials_fail_every_messenger_at_once(real):
    requests.put(real.gateway_url + "/credentials", timeout=TIMEOUT, json={
        "telegram_bot_token": "1:revoked", "whatsapp_token": "expired", "viber_auth_token": "old",
    }).raise_for_status()
    add_contact(real, "test", "Artem", telegram="123456789", whatsapp="+79920082861",
                viber="01234567890A=")
    wrote(real, "+79920082861")
    send(real, "test", ["Artem"], "Hello there")
    records = failed_when(real, 3)
    by_messenger = {r["messenger"]: r for r in records}
    assert by_messenger["telegram"]["error"] == "Telegram 401: Unauthorized"
    assert by_messenger["whatsapp"]["error"] == (
        "WhatsApp 190: Error validating access token: Session has expired")
    assert by_messenger["viber"]["error"] == "Viber 2: invalidAuthToken"
    assert {r["attempts"] for r in records} == {1}
    assert by_messenger["telegram"]["url"] == real.gateway_url + "/bot<token>/sendMessage"
    assert by_messenger["viber"]["url"] == real.gateway_url + "/pa/send_message"


def test_viber_keeps_failing_by_default_and_lands_in_the_failed_store(real):
    add_contact(real, "test", "Artem", viber="01234567890A=")
    send(real, "test", ["Artem"], "Hello there")
    [record] = wait_until(lambda: failed(real, "test"), timeout=30)
    assert record["error"] == "HTTP 500: viber is unavailable"
    assert record["attempts"] == real.config.max_attempts == len(attempts(real, "viber"))
    assert (record["contact"], record["message"]) == ("Artem", "Hello there")
