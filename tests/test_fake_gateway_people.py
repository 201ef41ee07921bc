"""The fake gateway's people simulator: each action delivered to the bot as the real service sends it.

The stand-in API (`receiver`) and a gateway process calling it back are
fixtures (fixtures_receiver.py), as the receipts' tests start them.
"""

import hashlib
import hmac
import threading
import time

import pytest
import requests

from core.config import Config
from fake_gateway.receipts import WABA_ID
from helpers import wait_until

TIMEOUT = 5
CONFIG = Config()
BOT = f"bot{CONFIG.telegram_bot_token}"
BOT_ID = int(CONFIG.telegram_bot_token.split(":")[0])
SECRET = "s3cret_Token-1"


@pytest.fixture
def gw(gateway, receiver):
    """The gateway reset, with no Telegram or Viber webhook set."""
    for path in ("/faults", "/received", "/credentials"):
        requests.delete(gateway + path, timeout=TIMEOUT).raise_for_status()
    bot_api(gateway, "deleteWebhook", drop_pending_updates=True)
    viber_webhook(gateway, "")
    receiver.reset()
    return gateway


def act(gw, path, status=200, **body):
    """Act as a person through the simulator; its answer."""
    answer = requests.post(f"{gw}/people/{path}", json=body, timeout=TIMEOUT)
    assert answer.status_code == status, answer.text
    return answer.json()


def bot_api(gw, method, status=200, **params):
    """Call a Telegram Bot API method with the bot's token; its answer."""
    answer = requests.post(f"{gw}/{BOT}/{method}", json=params, timeout=TIMEOUT + params.get("timeout", 0))
    assert answer.status_code == status, answer.text
    return answer.json()


def viber_webhook(gw, url, **body):
    """Viber set_webhook with the bot's token; its answer."""
    return requests.post(gw + "/pa/set_webhook", headers={"X-Viber-Auth-Token": CONFIG.viber_auth_token},
                         json={"url": url, **body}, timeout=TIMEOUT).json()


def hmac_hex(secret, raw):
    """The hex HMAC-SHA256 the dispatcher computes over a raw body."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def caught(receiver, count):
    """The receiver's calls, once there are `count` of them."""
    return wait_until(lambda: len(receiver.calls) >= count and list(receiver.calls), timeout=5,
                      message=f"{count} callbacks")


def test_telegram_start_queues_an_update_for_get_updates(gw):
    before = time.time()
    answer = act(gw, "telegram/start", chat_id=4242, payload="inv_AbC-9", username="@ArtemZaitsev",
                 first_name="Artem")
    assert answer["person"] == {"chat_id": 4242, "first_name": "Artem", "username": "ArtemZaitsev",
                                "started": True, "blocked": False}
    [queued] = answer["callbacks"]
    update = queued["queued"]
    person = {"id": 4242, "first_name": "Artem", "username": "ArtemZaitsev"}
    assert update["message"]["from"] == {**person, "is_bot": False, "language_code": "en"}
    assert update["message"]["chat"] == {**person, "type": "private"}
    assert update["message"]["text"] == "/start inv_AbC-9"
    assert update["message"]["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert before - 1 <= update["message"]["date"] <= time.time()
    assert bot_api(gw, "getUpdates") == {"ok": True, "result": [update]}
    assert bot_api(gw, "getWebhookInfo")["result"] == {
        "url": "", "has_custom_certificate": False, "pending_update_count": 1}


def test_get_updates_confirms_by_offset_and_limits(gw):
    act(gw, "telegram/start", chat_id=1)
    act(gw, "telegram/text", chat_id=1, text="one")
    act(gw, "telegram/stop", chat_id=1)
    updates = bot_api(gw, "getUpdates")["result"]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u["message"]["text"] for u in updates] == ["/start", "one", "/stop"]
    assert updates[2]["message"]["entities"] == [{"offset": 0, "length": 5, "type": "bot_command"}]
    assert "entities" not in updates[1]["message"]
    assert bot_api(gw, "getUpdates", limit=1)["result"] == updates[:1]
    # An offset past an update confirms it for good.
    assert bot_api(gw, "getUpdates", offset=ids[0] + 1)["result"] == updates[1:]
    assert bot_api(gw, "getUpdates")["result"] == updates[1:]
    # A negative offset keeps only the last ones.
    assert bot_api(gw, "getUpdates", offset=-1)["result"] == updates[2:]
    assert bot_api(gw, "getUpdates")["result"] == updates[2:]
    # Parameters may come in the query string too.
    answer = requests.get(f"{gw}/{BOT}/getUpdates", params={"offset": ids[2] + 1}, timeout=TIMEOUT)
    assert answer.json() == {"ok": True, "result": []}


def test_get_updates_long_polls_until_an_update_or_the_timeout(gw):
    start = time.monotonic()
    assert bot_api(gw, "getUpdates", timeout=1)["result"] == []
    assert 0.9 < time.monotonic() - start < 2
    act(gw, "telegram/start", chat_id=2)
    offset = bot_api(gw, "getUpdates")["result"][-1]["update_id"] + 1
    threading.Timer(0.3, lambda: act(gw, "telegram/text", chat_id=2, text="later")).start()
    start = time.monotonic()
    [update] = bot_api(gw, "getUpdates", offset=offset, timeout=5)["result"]
    assert update["message"]["text"] == "later"
    assert 0.25 < time.monotonic() - start < 1.5


def test_a_newer_get_updates_ends_a_waiting_one_with_409(gw):
    answers = []
    first = threading.Thread(target=lambda: answers.append(
        requests.post(f"{gw}/{BOT}/getUpdates", json={"timeout": 5}, timeout=10)))
    first.start()
    time.sleep(0.3)
    assert bot_api(gw, "getUpdates", timeout=0)["result"] == []
    first.join(timeout=5)
    [answer] = answers
    assert (answer.status_code, answer.json()) == (409, {
        "ok": False, "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; "
                       "make sure that only one bot instance is running"})


def test_with_a_webhook_set_updates_go_there_with_the_secret_and_get_updates_is_409(gw, receiver):
    url = receiver.url + "/webhooks/telegram"
    assert bot_api(gw, "setWebhook", url=url, secret_token=SECRET) == {
        "ok": True, "result": True, "description": "Webhook was set"}
    assert bot_api(gw, "setWebhook", url=url, secret_token=SECRET)["description"] == "Webhook is already set"
    info = bot_api(gw, "getWebhookInfo")["result"]
    assert (info["url"], info["pending_update_count"], info["has_custom_certificate"]) == (url, 0, False)
    assert bot_api(gw, "getUpdates", status=409) == {
        "ok": False, "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active; "
                       "use deleteWebhook to delete the webhook first"}
    [sent] = act(gw, "telegram/start", chat_id=4243, payload="code")["callbacks"]
    [call] = caught(receiver, 1)
    assert call["path"] == "/webhooks/telegram"
    # As the dispatcher checks it: the secret, compared in constant time.
    assert hmac.compare_digest(call["headers"]["X-Telegram-Bot-Api-Secret-Token"], SECRET)
    assert call["headers"]["Content-Type"] == "application/json"
    assert call["body"] == sent["body"] and call["body"]["message"]["text"] == "/start code"
    assert (sent["url"], sent["answer"], sent["error"]) == (url, 200, None)
    [record] = requests.get(gw + "/callbacks", params={"messenger": "telegram"},
                            timeout=TIMEOUT).json()["callbacks"]
    assert (record["to"], record["event"], record["answer"]) == ("4243", "start", 200)


def test_a_block_is_my_chat_member_kicked_and_a_new_start_unblocks(gw, receiver):
    bot_api(gw, "setWebhook", url=receiver.url + "/webhooks/telegram")
    act(gw, "telegram/start", chat_id=7)
    act(gw, "telegram/block", chat_id=7)
    act(gw, "telegram/start", chat_id=7, payload="back")
    calls = caught(receiver, 4)
    assert all("X-Telegram-Bot-Api-Secret-Token" not in c["headers"] for c in calls)
    bodies = [c["body"] for c in calls]
    ids = [b["update_id"] for b in bodies]
    assert ids == sorted(ids)
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Dispatcher", "username": "fake_dispatcher_bot"}
    block = bodies[1]["my_chat_member"]
    assert block["chat"] == {"id": 7, "first_name": "Person 7", "type": "private"}
    assert block["from"]["id"] == 7 and isinstance(block["date"], int)
    assert block["old_chat_member"] == {"user": bot_user, "status": "member"}
    assert block["new_chat_member"] == {"user": bot_user, "status": "kicked", "until_date": 0}
    unblock = bodies[2]["my_chat_member"]
    assert (unblock["old_chat_member"]["status"], unblock["new_chat_member"]["status"]) == ("kicked", "member")
    assert bodies[3]["message"]["text"] == "/start back"
    assert bot_api(gw, "getMe")["result"] == bot_user


def test_a_refused_update_is_noted_in_the_webhook_info(gw, receiver):
    bot_api(gw, "setWebhook", url=receiver.url + "/webhooks/telegram", secret_token=SECRET)
    receiver.answers = [403]
    [sent] = act(gw, "telegram/start", chat_id=8)["callbacks"]
    assert sent["answer"] == 403
    info = bot_api(gw, "getWebhookInfo")["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
    assert abs(info["last_error_date"] - time.time()) < 5
    assert bot_api(gw, "deleteWebhook") == {"ok": True, "result": True,
                                            "description": "Webhook was deleted"}
    assert bot_api(gw, "deleteWebhook")["description"] == "Webhook is already deleted"
    act(gw, "telegram/text", chat_id=8, text="now polled")
    assert [u["message"]["text"] for u in bot_api(gw, "getUpdates")["result"]] == ["now polled"]


def test_bot_api_refuses_a_bad_secret_and_a_wrong_token(gw):
    answer = bot_api(gw, "setWebhook", status=400, url="https://example.org/hook", secret_token="no spaces")
    assert answer == {"ok": False, "error_code": 400,
                      "description": "Bad Request: secret token contains unallowed characters"}
    answer = requests.get(f"{gw}/bot1:wrong/getUpdates", timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (401, {"ok": False, "error_code": 401,
                                                          "description": "Unauthorized"})
    assert bot_api(gw, "getWebhookInfo")["result"]["url"] == ""


def test_viber_callbacks_are_signed_with_the_auth_token(gw, receiver):
    act(gw, "viber/conversation_started", user_id="vU1=", name="Анна", context="inv_code")
    act(gw, "viber/subscribe", user_id="vU1=")
    act(gw, "viber/text", user_id="vU1=", text="Привет")
    answer = act(gw, "viber/unsubscribe", user_id="vU1=")
    assert answer["person"] == {"user_id": "vU1=", "name": "Анна", "subscribed": False}
    calls = caught(receiver, 4)
    for call in calls:
        assert call["path"] == "/webhooks/viber"
        assert hmac.compare_digest(call["headers"]["X-Viber-Content-Signature"],
                                   hmac_hex(CONFIG.viber_auth_token, call["raw"]))
    bodies = [c["body"] for c in calls]
    assert [b["event"] for b in bodies] == ["conversation_started", "subscribed", "message", "unsubscribed"]
    assert all(b["chat_hostname"] == "SN-CHAT-01_" and isinstance(b["message_token"], int)
               and abs(b["timestamp"] / 1000 - time.time()) < 5 for b in bodies)
    assert len({b["message_token"] for b in bodies}) == 4
    user = {"id": "vU1=", "name": "Анна", "language": "en", "country": "GB", "api_version": 10}
    started = bodies[0]
    assert (started["type"], started["context"], started["user"], started["subscribed"]) == (
        "open", "inv_code", user, False)
    assert bodies[1]["user"] == user
    assert (bodies[2]["sender"], bodies[2]["message"]) == (user, {"type": "text", "text": "Привет"})
    assert bodies[3]["user_id"] == "vU1="
    # Sent as UTF-8, unescaped: the signature covers those bytes.
    assert "Привет".encode() in calls[2]["raw"]


def test_viber_set_webhook_checks_the_url_and_takes_event_types(gw, receiver):
    answer = viber_webhook(gw, receiver.url + "/hooks/viber", event_types=["delivered", "seen"])
    assert answer == {"status": 0, "status_message": "ok", "chat_hostname": "SN-CHAT-01_",
                      "event_types": ["delivered", "seen", "subscribed", "unsubscribed"]}
    [check] = caught(receiver, 1)
    assert check["path"] == "/hooks/viber" and check["body"]["event"] == "webhook"
    assert check["headers"]["X-Viber-Content-Signature"] == hmac_hex(CONFIG.viber_auth_token, check["raw"])
    [skipped] = act(gw, "viber/conversation_started", user_id="vU2=")["callbacks"]
    assert skipped == {"event": "conversation_started",
                       "skipped": "conversation_started is not in the webhook's event_types"}
    act(gw, "viber/subscribe", user_id="vU2=")
    calls = caught(receiver, 2)
    assert (calls[1]["path"], calls[1]["body"]["event"]) == ("/hooks/viber", "subscribed")
    receiver.answers = [500]
    assert viber_webhook(gw, receiver.url + "/broken")["status"] == 1
    assert viber_webhook(gw, receiver.url + "/hooks/viber", event_types=[])["status"] == 0


def test_whatsapp_text_is_a_signed_messages_notification_that_opens_the_window(gw, receiver):
    before = time.time()
    [sent] = act(gw, "whatsapp/text", wa_id="+79920082861", name="Анна", text="СТОП")["callbacks"]
    [call] = caught(receiver, 1)
    assert call["path"] == "/webhooks/whatsapp"
    assert hmac.compare_digest(call["headers"]["X-Hub-Signature-256"],
                               "sha256=" + hmac_hex(CONFIG.whatsapp_app_secret, call["raw"]))
    body = call["body"]
    assert body == sent["body"] and body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert (entry["id"], change["field"]) == (WABA_ID, "messages")
    value = change["value"]
    assert value["metadata"]["phone_number_id"] == CONFIG.whatsapp_phone_number_id
    assert value["contacts"] == [{"profile": {"name": "Анна"}, "wa_id": "79920082861"}]
    [message] = value["messages"]
    assert (message["from"], message["type"], message["text"]) == ("79920082861", "text", {"body": "СТОП"})
    assert message["id"].startswith("wamid.") and before - 1 <= int(message["timestamp"]) <= time.time()
    [number] = requests.get(gw + "/people", timeout=TIMEOUT).json()["whatsapp"]
    assert number["wa_id"] == "79920082861" and before - 1 <= number["last_inbound"] <= time.time()


def test_the_simulator_refuses_what_a_person_cannot_do(gw):
    assert act(gw, "telegram/text", 400, chat_id=9, text="hi")["error"] == "chat_id: has not started the bot"
    assert act(gw, "telegram/start", 400, chat_id="ArtemZaitsev")["error"].startswith("chat_id:")
    assert act(gw, "telegram/start", 400, chat_id=9, payload="has space")["error"].startswith("payload:")
    act(gw, "telegram/start", chat_id=9)
    act(gw, "telegram/block", chat_id=9)
    assert act(gw, "telegram/text", 400, chat_id=9, text="hi")["error"] == "chat_id: has blocked the bot"
    assert act(gw, "viber/unsubscribe", 400, user_id="nobody=")["error"] == "user_id: is not subscribed"
    assert act(gw, "whatsapp/text", 400, wa_id="abc", text="hi")["error"].startswith("wa_id:")
    later = time.time() + 60
    assert act(gw, "whatsapp/text", 400, wa_id="15550001", text="hi", at=later)["error"].startswith("at:")


def test_delete_received_forgets_people_callbacks_and_the_queue_but_not_the_webhooks(gw, receiver):
    act(gw, "telegram/start", chat_id=10)
    act(gw, "whatsapp/text", wa_id="15550001", text="hi")
    viber_webhook(gw, receiver.url + "/webhooks/viber")
    assert len(requests.get(gw + "/callbacks", timeout=TIMEOUT).json()["callbacks"]) == 3
    requests.delete(gw + "/received", timeout=TIMEOUT).raise_for_status()
    assert requests.get(gw + "/people", timeout=TIMEOUT).json() == {
        "telegram": [], "telegram_channels": [], "viber": [], "whatsapp": []}
    assert requests.get(gw + "/callbacks", timeout=TIMEOUT).json()["callbacks"] == []
    assert bot_api(gw, "getUpdates")["result"] == []
    [sent] = act(gw, "viber/subscribe", user_id="vU3=")["callbacks"]
    assert (sent["url"], sent["answer"]) == (receiver.url + "/webhooks/viber", 200)
