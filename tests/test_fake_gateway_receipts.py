"""The fake gateway's receipt callbacks, caught by a small HTTP server standing in for the API.

The server and the gateway calling it back are fixtures (fixtures_receiver.py).
"""

import hashlib
import hmac
import time

import pytest
import requests

from core.config import Config
from helpers import free_ports, running_gateway, wait_until

TIMEOUT = 5
CONFIG = Config()
WHATSAPP_TO, VIBER_TO = "+79920082861", "01234567890A="


@pytest.fixture
def gw(gateway, receiver):
    """The gateway with its faults, records and pending receipts reset, Viber accepting."""
    for path in ("/faults", "/received", "/credentials"):
        requests.delete(gateway + path, timeout=TIMEOUT).raise_for_status()
    receiver.reset()
    faults(gateway, viber_accepts=True)
    return gateway


def faults(gw, **settings):
    """Change fault settings; the new state."""
    answer = requests.put(gw + "/faults", json=settings, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def whatsapp(gw, to=WHATSAPP_TO):
    """Send one message through the Cloud API's shape; its wamid."""
    answer = requests.post(
        f"{gw}/{CONFIG.whatsapp_api_version}/{CONFIG.whatsapp_phone_number_id}/messages",
        headers={"Authorization": f"Bearer {CONFIG.whatsapp_token}"},
        json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}},
        timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"][0]["id"]


def viber(gw, to=VIBER_TO):
    """Send one message through Viber's shape; its message_token."""
    answer = requests.post(gw + "/pa/send_message", headers={"X-Viber-Auth-Token": CONFIG.viber_auth_token},
                           json={"receiver": to, "type": "text", "text": "hi", "sender": {"name": "D"}},
                           timeout=TIMEOUT)
    assert answer.json()["status"] == 0, answer.text
    return answer.json()["message_token"]


def receipts(gw, **params):
    """The receipt callbacks the gateway says it made."""
    return requests.get(gw + "/receipts", params=params, timeout=TIMEOUT).json()["receipts"]


def caught(receiver, count):
    """The receiver's calls, once there are `count` of them."""
    return wait_until(lambda: len(receiver.calls) >= count and list(receiver.calls), timeout=10,
                      message=f"{count} callbacks")


def hmac_hex(secret, raw):
    """The hex HMAC-SHA256 a receiver computes."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_whatsapp_calls_back_sent_delivered_read_as_the_cloud_api_does(gw, receiver):
    wamid = whatsapp(gw)
    start = time.time()
    calls = caught(receiver, 3)
    assert [c["path"] for c in calls] == ["/webhooks/whatsapp"] * 3
    for call in calls:
        expected = "sha256=" + hmac_hex(CONFIG.whatsapp_app_secret, call["raw"])
        assert call["headers"]["X-Hub-Signature-256"] == expected
        assert call["headers"]["Content-Type"] == "application/json"
    bodies = [c["body"] for c in calls]
    assert {b["object"] for b in bodies} == {"whatsapp_business_account"}
    changes = [b["entry"][0]["changes"][0] for b in bodies]
    assert {c["field"] for c in changes} == {"messages"}
    assert {c["value"]["metadata"]["phone_number_id"] for c in changes} == {CONFIG.whatsapp_phone_number_id}
    statuses = [c["value"]["statuses"][0] for c in changes]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {wamid}
    assert {s["recipient_id"] for s in statuses} == {"79920082861"}
    assert all(s["timestamp"].isdigit() and abs(int(s["timestamp"]) - start) < 5 for s in statuses)
    assert "pricing" in statuses[1] and "errors" not in statuses[1]
    # At about 0, 0.5 and 1.5 s after the answer.
    offsets = [c["time"] - start for c in calls]
    assert offsets[0] < 0.5 and 0.45 < offsets[1] < 1.5 and 1.45 < offsets[2] < 3, offsets
    made = receipts(gw)
    assert [(r["messenger"], r["to"], r["id"], r["status"], r["answer"]) for r in made] == [
        ("whatsapp", WHATSAPP_TO, wamid, status, 200) for status in ("sent", "delivered", "read")]


def test_viber_calls_back_delivered_and_seen_signed_with_the_auth_token(gw, receiver):
    token = viber(gw)
    calls = caught(receiver, 2)
    assert [c["path"] for c in calls] == ["/webhooks/viber"] * 2
    for call in calls:
        assert call["headers"]["X-Viber-Content-Signature"] == hmac_hex(CONFIG.viber_auth_token, call["raw"])
    assert [c["body"]["event"] for c in calls] == ["delivered", "seen"]
    assert {c["body"]["message_token"] for c in calls} == {token}
    assert {c["body"]["user_id"] for c in calls} == {VIBER_TO}
    assert all(abs(c["body"]["timestamp"] / 1000 - c["time"]) < 2 for c in calls)
    assert [r["status"] for r in receipts(gw, messenger="viber", to=VIBER_TO)] == ["delivered", "seen"]
    assert receipts(gw, messenger="whatsapp") == []


def test_each_recipient_can_be_scripted(gw, receiver):
    faults(gw, receipt_delivered_after=0.2, receipt_read_after=0.4,
           receipts={"+1001": "never", "+1002": "delivered", "+1003": "failed", "v-fail": "failed"})
    for to in ("+1001", "+1002", "+1003"):
        whatsapp(gw, to)
    viber(gw, "v-fail")
    viber(gw, "v-never-set")
    # 1 + 2 + 2 WhatsApp callbacks, 1 + 2 Viber ones.
    calls = caught(receiver, 8)
    time.sleep(0.6)
    by_to = {}
    for call in receiver.calls:
        body = call["body"]
        if "event" in body:
            by_to.setdefault(body["user_id"], []).append(body)
        else:
            status = body["entry"][0]["changes"][0]["value"]["statuses"][0]
            by_to.setdefault("+" + status["recipient_id"], []).append(status)
    assert len(calls) == 8 == len(receiver.calls)
    assert [s["status"] for s in by_to["+1001"]] == ["sent"]
    assert [s["status"] for s in by_to["+1002"]] == ["sent", "delivered"]
    assert [s["status"] for s in by_to["+1003"]] == ["sent", "failed"]
    [error] = by_to["+1003"][1]["errors"]
    assert (error["code"], error["title"]) == (131026, "Message undeliverable")
    assert error["error_data"]["details"]
    assert [(e["event"], bool(e.get("desc"))) for e in by_to["v-fail"]] == [("failed", True)]
    assert [e["event"] for e in by_to["v-never-set"]] == ["delivered", "seen"]


def test_telegram_and_the_simple_shape_call_nothing_back(gw, receiver):
    answer = requests.post(f"{gw}/bot{CONFIG.telegram_bot_token}/sendMessage",
                           json={"chat_id": 1, "text": "hi"}, timeout=TIMEOUT)
    assert answer.status_code == 200
    for messenger in ("whatsapp", "viber"):
        assert requests.post(f"{gw}/{messenger}", json={"to": "x", "text": "hi"}, timeout=TIMEOUT).ok
    whatsapp(gw, "+1009")
    # The WhatsApp message's own callbacks came: the others' would have by then.
    caught(receiver, 3)
    assert {r["to"] for r in receipts(gw)} == {"+1009"}


def test_a_refused_callback_is_tried_again_with_backoff(gw, receiver):
    receiver.answers = [503, 403]
    faults(gw, receipts={VIBER_TO: "delivered"})
    viber(gw)
    calls = caught(receiver, 3)
    assert [c["body"]["event"] for c in calls] == ["delivered"] * 3
    # The same callback each time, made again after 1 s, then 2 s.
    assert calls[0]["raw"] == calls[1]["raw"] == calls[2]["raw"]
    gaps = [b["time"] - a["time"] for a, b in zip(calls, calls[1:], strict=False)]
    assert 0.95 < gaps[0] < 2 and 1.95 < gaps[1] < 3, gaps
    assert [r["answer"] for r in receipts(gw)] == [503, 403, 200]


def test_an_unreachable_api_is_tried_again_and_each_try_recorded(tmp_path):
    [nobody] = free_ports(1)
    with running_gateway(tmp_path / "gateway.log", {"GATEWAY_RECEIPTS_URL": f"http://127.0.0.1:{nobody}"}) as gw:
        faults(gw, receipts={WHATSAPP_TO: "never"})
        whatsapp(gw)
        tries = wait_until(lambda: len(receipts(gw)) >= 2 and receipts(gw), timeout=5, message="2 tries")
    assert [(r["status"], r["answer"]) for r in tries] == [("sent", None), ("sent", None)]
    assert all(r["error"].startswith("ClientConnectorError") for r in tries), tries
    assert 0.95 < tries[1]["time"] - tries[0]["time"] < 2


def test_callbacks_are_signed_with_the_credentials_of_the_moment(gw, receiver):
    changed = requests.put(gw + "/credentials", json={"whatsapp_app_secret": "other"}, timeout=TIMEOUT)
    assert changed.json()["whatsapp_app_secret"] == "other"
    faults(gw, receipts={WHATSAPP_TO: "never"})
    whatsapp(gw)
    [call] = caught(receiver, 1)
    assert call["headers"]["X-Hub-Signature-256"] == "sha256=" + hmac_hex("other", call["raw"])


def test_clearing_the_records_drops_the_receipts_still_owed(gw, receiver):
    faults(gw, receipt_delivered_after=0.5, receipt_read_after=0.5)
    whatsapp(gw)
    caught(receiver, 1)
    requests.delete(gw + "/received", timeout=TIMEOUT).raise_for_status()
    time.sleep(1.0)
    assert [c["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
            for c in receiver.calls] == ["sent"]
    assert receipts(gw) == []


def test_receipt_settings_show_and_reset_with_the_other_faults(gw):
    state = faults(gw, receipt_delivered_after=2, receipt_read_after=0, receipts={"+1": "failed"})
    assert (state["receipt_delivered_after"], state["receipt_read_after"], state["receipts"]) == (
        2, 0, {"+1": "failed"})
    reset = requests.delete(gw + "/faults", timeout=TIMEOUT).json()
    assert (reset["receipt_delivered_after"], reset["receipt_read_after"], reset["receipts"]) == (
        0.5, 1.5, {})


def test_an_unknown_messenger_filter_is_400(gw):
    assert requests.get(gw + "/receipts", params={"messenger": "signal"}, timeout=TIMEOUT).status_code == 400
