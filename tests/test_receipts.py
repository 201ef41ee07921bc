"""Delivery receipts over HTTP: WhatsApp's and Viber's signed callbacks, by hand and from the fake gateway."""

import hashlib
import hmac
import json
import time

import pytest
import requests

from api.errors import ApiError
from api.receipt_payloads import viber_receipts, whatsapp_receipts
from apiclient import attempts, received, set_faults, v1
from conftest import consenting, token_for
from core.config import Config
from helpers import wait_until
from people import wrote
from stack.specs import spec_for

TIMEOUT = 10
WHATSAPP_TO, VIBER_TO, TELEGRAM_TO = "+79920082861", "01234567890A=", "123456789"


@pytest.fixture
def token(real):
    """Alice, with Artem on all three messengers; Artem wrote on WhatsApp, so its text goes."""
    token = token_for(real)
    contact = {"name": "Artem", "telegram": TELEGRAM_TO, "whatsapp": WHATSAPP_TO, "viber": VIBER_TO}
    assert v1(real, token, "POST", "/contacts", contact).status_code == 201
    wrote(real, WHATSAPP_TO)
    return token


def send(stack, token, to="Artem"):
    """POST /messages; the message id."""
    reply = v1(stack, token, "POST", "/messages", {"to": to, "text": "Hello there"})
    assert reply.status_code == 202, reply.text
    return reply.json()["id"]


def statuses(stack, token, message_id):
    """{messenger: status} of a message's deliveries."""
    message = v1(stack, token, "GET", f"/messages/{message_id}").json()
    return {d["messenger"]: d["status"] for d in message["deliveries"]}


def reached(stack, token, message_id, expected, timeout=10):
    """Wait until the deliveries' statuses are these (polled, bounded)."""
    return wait_until(lambda: statuses(stack, token, message_id) == expected, timeout=timeout,
                      interval=0.1, message=f"statuses {expected}")


def sent_quietly(stack, token):
    """A message sent to Artem whose gateway sends no receipt of its own; its id and provider ids."""
    set_faults(stack, viber_accepts=True, receipts={WHATSAPP_TO: "never", VIBER_TO: "never"})
    message_id = send(stack, token)
    reached(stack, token, message_id, {"telegram": "sent", "whatsapp": "sent", "viber": "sent"})
    ids = {r["messenger"]: r["id"] for r in received(stack)}
    return message_id, ids["whatsapp"], ids["viber"]


def whatsapp_body(wamid, status, at=None, errors=None):
    """A Cloud API notification of one status."""
    item = {"id": wamid, "status": status, "timestamp": str(int(at or time.time())),
            "recipient_id": WHATSAPP_TO.lstrip("+")}
    if errors:
        item["errors"] = errors
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000001", "phone_number_id": "1"},
             "statuses": [item]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}


def viber_body(token, event, **extra):
    """A Viber callback."""
    return {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-01_",
            "message_token": token, "user_id": VIBER_TO, **extra}


def post(stack, messenger, body, secret=None, signed=True):
    """POST a callback signed as its provider signs (with the configured secret, or another)."""
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    config = stack.config
    if messenger == "whatsapp":
        key, header, prefix = secret or config.whatsapp_app_secret, "X-Hub-Signature-256", "sha256="
    else:
        key, header, prefix = secret or config.viber_auth_token, "X-Viber-Content-Signature", ""
    headers = {"Content-Type": "application/json"}
    if signed:
        headers[header] = prefix + hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    return requests.post(f"{stack.api_url}/webhooks/{messenger}", data=raw, headers=headers, timeout=TIMEOUT)


def gateway_receipts(stack, **params):
    """The callbacks the fake gateway made, with the API's answers."""
    return requests.get(stack.gateway_url + "/receipts", params=params, timeout=TIMEOUT).json()["receipts"]


def test_meta_subscription_check_gets_the_challenge_only_with_the_verify_token(real):
    url = real.api_url + "/webhooks/whatsapp"
    check = {"hub.mode": "subscribe", "hub.verify_token": real.config.whatsapp_verify_token,
             "hub.challenge": "1158201444"}
    answer = requests.get(url, params=check, timeout=TIMEOUT)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["Content-Type"].startswith("text/plain")
    for wrong in ({"hub.verify_token": "guess"}, {"hub.mode": "unsubscribe"}, {"hub.challenge": ""}):
        refused = requests.get(url, params={**check, **wrong}, timeout=TIMEOUT)
        assert refused.status_code == 403, wrong
        assert refused.json()["code"] == 403 and "hub.verify_token" in refused.json()["message"]


def test_signed_receipts_move_deliveries_on(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    answer = post(real, "whatsapp", whatsapp_body(wamid, "delivered"))
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    assert post(real, "viber", viber_body(viber_token, "seen")).json() == {"ok": True}
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "delivered", "viber": "read"}
    assert post(real, "whatsapp", whatsapp_body(wamid, "read")).status_code == 200
    assert statuses(real, token, message_id)["whatsapp"] == "read"


def test_wrongly_signed_and_unsigned_receipts_are_refused_and_change_nothing(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    refusals = [
        (post(real, "whatsapp", whatsapp_body(wamid, "read"), secret="guess"), 403, "X-Hub-Signature-256"),
        (post(real, "whatsapp", whatsapp_body(wamid, "read"), signed=False), 401, "X-Hub-Signature-256"),
        (post(real, "viber", viber_body(viber_token, "seen"), secret="guess"), 403, "X-Viber-Content-Signature"),
        (post(real, "viber", viber_body(viber_token, "seen"), signed=False), 401, "X-Viber-Content-Signature"),
    ]
    for answer, status, header in refusals:
        assert answer.status_code == status, answer.text
        assert answer.json()["code"] == status and header in answer.json()["message"]
    # Signed over other bytes than those sent: the signature covers the raw body.
    raw = json.dumps(whatsapp_body(wamid, "read")).encode()
    signature = "sha256=" + hmac.new(real.config.whatsapp_app_secret.encode(), raw, hashlib.sha256).hexdigest()
    answer = requests.post(real.api_url + "/webhooks/whatsapp", data=raw.replace(b": ", b":"),
                           headers={"X-Hub-Signature-256": signature}, timeout=TIMEOUT)
    assert answer.status_code == 403
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "sent", "viber": "sent"}


def test_receipts_for_unknown_ids_and_other_events_are_accepted_and_ignored(real, token):
    message_id, _, _ = sent_quietly(real, token)
    assert post(real, "whatsapp", whatsapp_body("wamid.nobody", "read")).json() == {"ok": True}
    assert post(real, "viber", viber_body(1, "seen")).json() == {"ok": True}
    for event in ("webhook", "new"):
        assert post(real, "viber", {"event": event, "timestamp": 1}).status_code == 200, event
    # What people send is read (tests/test_inbound.py): a body missing its fields is a 400.
    for event in ("subscribed", "unsubscribed", "conversation_started", "message"):
        assert post(real, "viber", {"event": event, "timestamp": 1}).status_code == 400, event
    assert post(real, "whatsapp", {"object": "whatsapp_business_account", "entry": []}).status_code == 200
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "sent", "viber": "sent"}


def test_malformed_signed_bodies_are_400_naming_what_is_wrong(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    good = whatsapp_body(wamid, "read")
    bad_stamp = json.loads(json.dumps(good))
    bad_stamp["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "soon"
    cases = [
        ("whatsapp", b"{not json", "not JSON"),
        ("whatsapp", {"entry": {}}, "entry"),
        ("whatsapp", bad_stamp, "entry[0].changes[0].value.statuses[0].timestamp"),
        ("viber", {"event": "seen", "message_token": "x", "timestamp": 1}, "message_token"),
        ("viber", {"timestamp": 1}, "event"),
    ]
    for messenger, body, named in cases:
        answer = post(real, messenger, body)
        assert answer.status_code == 400, answer.text
        assert named in answer.json()["message"], answer.json()
    # One bad status in a notification keeps the good ones before it from being applied.
    good["entry"].append(bad_stamp["entry"][0])
    assert post(real, "whatsapp", good).status_code == 400
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "sent", "viber": "sent"}


def test_statuses_never_go_back(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    now = time.time()
    assert post(real, "whatsapp", whatsapp_body(wamid, "read", at=now)).status_code == 200
    assert post(real, "whatsapp", whatsapp_body(wamid, "delivered", at=now - 1)).status_code == 200
    assert post(real, "viber", viber_body(viber_token, "seen")).status_code == 200
    assert post(real, "viber", viber_body(viber_token, "delivered")).status_code == 200
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "read", "viber": "read"}


def test_a_late_failure_fails_the_delivery_into_the_failed_store(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    errors = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
               "error_data": {"details": "Message Undeliverable."}}]
    assert post(real, "whatsapp", whatsapp_body(wamid, "failed", errors=errors)).status_code == 200
    assert post(real, "viber", viber_body(viber_token, "failed", desc="not on the device")).status_code == 200
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "failed", "viber": "failed"}
    records = v1(real, token, "GET", "/failed").json()
    assert sorted((r["messenger"], r["error"]) for r in records) == [
        ("viber", "Viber: not on the device"),
        ("whatsapp", "WhatsApp 131026: Message undeliverable (Message Undeliverable.)"),
    ]
    assert {r["contact"] for r in records} == {"Artem"}


def test_receipts_for_the_id_of_a_send_before_a_resend_change_nothing(real, token):
    message_id, wamid, viber_token = sent_quietly(real, token)
    errors = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}]
    assert post(real, "whatsapp", whatsapp_body(wamid, "failed", errors=errors)).status_code == 200
    assert post(real, "viber", viber_body(viber_token, "failed", desc="not on the device")).status_code == 200
    assert v1(real, token, "POST", "/failed/retry").status_code == 202
    reached(real, token, message_id, {"telegram": "sent", "whatsapp": "sent", "viber": "sent"})
    resent = {r["messenger"]: r["id"] for r in received(real) if r["messenger"] != "telegram"}
    assert len(received(real, "whatsapp")) == 2 and resent["whatsapp"] != wamid
    # The old ids: a late failure, and reads that never came for the new ones.
    assert post(real, "whatsapp", whatsapp_body(wamid, "failed", errors=errors)).json() == {"ok": True}
    assert post(real, "whatsapp", whatsapp_body(wamid, "read")).json() == {"ok": True}
    assert post(real, "viber", viber_body(viber_token, "seen")).json() == {"ok": True}
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "sent", "viber": "sent"}
    assert v1(real, token, "GET", "/failed").json() == []
    # The new ids still move them on.
    assert post(real, "whatsapp", whatsapp_body(resent["whatsapp"], "read")).status_code == 200
    assert post(real, "viber", viber_body(resent["viber"], "delivered")).status_code == 200
    assert statuses(real, token, message_id) == {"telegram": "sent", "whatsapp": "read", "viber": "delivered"}


def test_the_gateways_own_receipts_bring_both_messengers_to_read(real, token):
    set_faults(real, viber_accepts=True)
    started = time.monotonic()
    reply = v1(real, token, "POST", "/messages", {"to": "Artem", "text": "Hello there"})
    assert reply.status_code == 202 and len(reply.json()["deliveries"]) == 3
    reached(real, token, reply.json()["id"], {"telegram": "sent", "whatsapp": "read", "viber": "read"},
            timeout=8)
    assert time.monotonic() - started < 8
    # The 3 deliveries accepted each arrived once, and each receipt came once, every one taken.
    assert sorted(r["messenger"] for r in received(real)) == ["telegram", "viber", "whatsapp"]
    assert len(attempts(real)) == 3
    made = gateway_receipts(real)
    assert sorted((r["messenger"], r["status"], r["answer"]) for r in made) == [
        ("viber", "delivered", 200), ("viber", "seen", 200),
        ("whatsapp", "delivered", 200), ("whatsapp", "read", 200), ("whatsapp", "sent", 200)]


def test_scripted_recipients_stop_where_their_script_says(real):
    token = token_for(real)
    plans = {"never": ("+70010001", "v-never"), "delivered": ("+70020001", "v-delivered"),
             "failed": ("+70030001", "v-failed")}
    for n, (plan, (phone, viber_id)) in enumerate(plans.items()):
        # Chat ids: in real mode a Telegram username waits for its contact to join (awaiting_contact).
        contact = {"name": plan, "whatsapp": phone, "viber": viber_id, "telegram": f"700{n}"}
        assert v1(real, token, "POST", "/contacts", contact).status_code == 201
    wrote(real, *(phone for phone, _ in plans.values()))
    set_faults(real, viber_accepts=True, receipt_delivered_after=0.2, receipt_read_after=0.4,
               receipts={to: plan for plan, ids in plans.items() for to in ids})
    reply = v1(real, token, "POST", "/messages", {"to": list(plans), "text": "scripted"})
    assert reply.status_code == 202, reply.text
    # WhatsApp: sent, plus delivered or failed; Viber: delivered or failed; none for "never".
    expected_callbacks = 3 + 2 + 2
    wait_until(lambda: len([r for r in gateway_receipts(real) if r["answer"] == 200]) == expected_callbacks,
               timeout=10, message="every callback answered")
    message = v1(real, token, "GET", f"/messages/{reply.json()['id']}").json()
    assert sorted((d["contact"], d["messenger"], d["status"]) for d in message["deliveries"]) == [
        ("delivered", "telegram", "sent"), ("delivered", "viber", "delivered"),
        ("delivered", "whatsapp", "delivered"),
        ("failed", "telegram", "sent"), ("failed", "viber", "failed"), ("failed", "whatsapp", "failed"),
        ("never", "telegram", "sent"), ("never", "viber", "sent"), ("never", "whatsapp", "sent"),
    ]
    assert len(gateway_receipts(real)) == expected_callbacks
    assert sorted(r["messenger"] for r in v1(real, token, "GET", "/failed").json()) == ["viber", "whatsapp"]


def test_a_receipt_while_redis_is_away_is_a_503_for_the_provider_to_send_again(real, token):
    message_id, wamid, _ = sent_quietly(real, token)
    real.stop("redis")
    try:
        answer = post(real, "whatsapp", whatsapp_body(wamid, "delivered"))
    finally:
        real.start("redis")
    assert answer.status_code == 503, answer.text
    assert "redis" in answer.json()["message"]
    wait_until(lambda: post(real, "whatsapp", whatsapp_body(wamid, "delivered")).status_code == 200,
               timeout=10, interval=0.2, message="the receipt taken once Redis is back")
    assert statuses(real, token, message_id)["whatsapp"] == "delivered"


def test_a_receipt_body_beyond_the_limit_is_413(real):
    answer = post(real, "viber", b" " * (real.config.max_body_bytes + 1))
    assert answer.status_code == 413
    assert "MAX_BODY_BYTES" in answer.json()["message"]


def test_receipts_work_out_of_the_box_at_the_shipped_settings(make_stack):
    # With tokens required, as shipped: the providers' callbacks carry none.
    stack = consenting(make_stack(shipped=True, messenger_api="real", auth_mode="token"))
    token = token_for(stack)
    contact = {"name": "Artem", "telegram": TELEGRAM_TO, "whatsapp": WHATSAPP_TO, "viber": VIBER_TO}
    assert v1(stack, token, "POST", "/contacts", contact).status_code == 201
    wrote(stack, WHATSAPP_TO)
    set_faults(stack, viber_accepts=True)
    message_id = send(stack, token)
    reached(stack, token, message_id, {"telegram": "sent", "whatsapp": "read", "viber": "read"}, timeout=10)
    assert len(received(stack)) == 3
    assert {r["answer"] for r in gateway_receipts(stack)} == {200}
    # Exempt from tokens are these routes alone.
    assert "Bearer" in requests.get(stack.api_url + "/api/v1/messages", timeout=TIMEOUT).json()["message"]
    assert "not signed" in post(stack, "viber", viber_body(1, "seen"), signed=False).json()["message"]


def test_the_stack_points_the_gateway_at_the_api_only_with_the_real_apis(tmp_path):
    def receipts_url(**settings):
        config = Config(data_dir=str(tmp_path), api_port=18080, **settings)
        return spec_for(config, "gateway").env["GATEWAY_RECEIPTS_URL"]

    assert receipts_url(messenger_api="real") == "http://127.0.0.1:18080"
    assert receipts_url(messenger_api="real", gateway_receipts_url="https://api.example") == "https://api.example"
    assert receipts_url() == ""


def test_payloads_read_as_each_provider_documents_them():
    body = whatsapp_body("wamid.1", "sent", at=1700000000)
    statuses = body["entry"][0]["changes"][0]["value"]["statuses"]
    statuses += [{"id": "wamid.1", "status": "delivered", "timestamp": "1700000001"},
                 {"id": "wamid.1", "status": "failed", "timestamp": "1700000002",
                  "errors": [{"code": 131049, "title": "Not delivered to maintain healthy ecosystem"}]},
                 {"id": "wamid.2", "status": "failed", "timestamp": "1700000003"}]
    body["entry"].append({"id": "1", "changes": [{"field": "message_template_status_update",
                                                  "value": {"event": "APPROVED"}}]})
    assert whatsapp_receipts(body) == [
        ("wamid.1", "delivered", 1700000001.0, ""),
        ("wamid.1", "failed", 1700000002.0, "WhatsApp 131049: Not delivered to maintain healthy ecosystem"),
        ("wamid.2", "failed", 1700000003.0, "WhatsApp: failed, no error given"),
    ]
    assert viber_receipts({"event": "seen", "timestamp": 1700000000500, "message_token": 5741311803571721087,
                           "user_id": VIBER_TO}) == [("5741311803571721087", "read", 1700000000.5, "")]
    assert viber_receipts({"event": "failed", "timestamp": 1, "message_token": 2})[0][3] == \
        "Viber: failed, no desc given"
    assert viber_receipts({"event": "conversation_started", "user": {}}) == []
    with pytest.raises(ApiError) as refused:
        viber_receipts({"event": "delivered", "timestamp": True, "message_token": 2})
    assert refused.value.errors == {"json": {"timestamp": ["Must be unix milliseconds, an integer."]}}
