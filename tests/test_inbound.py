"""The inbound webhooks: secrets and signatures checked, each update handed over once, quick answers, and polling."""

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from apiclient import v1
from conftest import token_for
from console.app import main
from core.bot_calls import telegram
from helpers import wait_until
from people import act, fresh, handled, people_stack, sent_to

TIMEOUT = 10
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "inbound") as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


@pytest.fixture
def alice(stack):
    """Alice's token, her contact Artem, and a fresh invite's codes by messenger."""
    token = token_for(stack, "alice")
    assert v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"}).status_code == 201
    return token


def codes(stack, token):
    links = v1(stack, token, "POST", "/contacts/Artem/invites").json()["links"]
    return {m: parse_qs(urlsplit(link).query)[{"telegram": "start", "viber": "context", "whatsapp": "text"}[m]][0]
            for m, link in links.items()}


def artem(stack, token):
    return v1(stack, token, "GET", "/contacts/Artem").json()


def start_update(update_id, chat_id, code):
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "text": f"/start {code}",
        "from": {"id": chat_id, "is_bot": False, "first_name": "Artem"},
        "chat": {"id": chat_id, "first_name": "Artem", "type": "private"},
        "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}


def post_telegram(stack, body, secret=None):
    headers = {} if secret is False else {SECRET_HEADER: secret or stack.config.telegram_webhook_secret}
    return requests.post(stack.api_url + "/webhooks/telegram", json=body, headers=headers, timeout=TIMEOUT)


def whatsapp_text(wa_id, wamid, text):
    """A Cloud API notification of one inbound text."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000001", "phone_number_id": "1"},
             "contacts": [{"profile": {"name": "Someone"}, "wa_id": wa_id}],
             "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())),
                           "type": "text", "text": {"body": text}}]}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                                                                                     "value": value}]}]}


def post_signed(stack, messenger, body, key=None):
    raw = json.dumps(body).encode()
    if messenger == "viber":
        header, prefix, secret = "X-Viber-Content-Signature", "", stack.config.viber_auth_token
    else:
        header, prefix, secret = "X-Hub-Signature-256", "sha256=", stack.config.whatsapp_app_secret
    signature = prefix + hmac.new((key or secret).encode(), raw, hashlib.sha256).hexdigest()
    return requests.post(f"{stack.api_url}/webhooks/{messenger}", data=raw, timeout=TIMEOUT,
                         headers={"Content-Type": "application/json", header: signature})


def test_telegram_updates_without_or_with_a_wrong_secret_are_refused_and_change_nothing(stack, alice):
    code = codes(stack, alice)["telegram"]
    unsigned = post_telegram(stack, start_update(1, 777, code), secret=False)
    assert unsigned.status_code == 401 and SECRET_HEADER in unsigned.json()["errors"]["headers"]
    wrong = post_telegram(stack, start_update(2, 777, code), secret="not-the-secret")
    assert wrong.status_code == 403
    handled(stack)
    assert artem(stack, alice)["telegram"] == "ArtemZaitsev" and sent_to(stack, "telegram", "777") == []
    # The code is still unused: the real update binds.
    assert post_telegram(stack, start_update(3, 777, code)).status_code == 200
    wait_until(lambda: artem(stack, alice)["telegram"] == "777", timeout=5, message="bound")


def test_forged_viber_and_whatsapp_callbacks_change_nothing(stack, alice):
    found = codes(stack, alice)
    started = {"event": "conversation_started", "timestamp": int(time.time() * 1000), "message_token": 91,
               "type": "open", "context": found["viber"], "user": {"id": "forged=", "name": "X"}, "subscribed": False}
    assert post_signed(stack, "viber", started, key="guessed-token").status_code == 403
    unsigned = requests.post(stack.api_url + "/webhooks/viber", json=started, timeout=TIMEOUT)
    assert unsigned.status_code == 401
    text = whatsapp_text("79990000000", "wamid.forged", found["whatsapp"])
    assert post_signed(stack, "whatsapp", text, key="guessed-secret").status_code == 403
    handled(stack)
    assert {k: artem(stack, alice)[k] for k in ("viber", "whatsapp")} == {"viber": "", "whatsapp": ""}
    # Signed as the services sign, the same bodies bind.
    assert post_signed(stack, "viber", started).status_code == 200
    assert post_signed(stack, "whatsapp", text).status_code == 200
    wait_until(lambda: (artem(stack, alice)["viber"], artem(stack, alice)["whatsapp"]) == ("forged=", "+79990000000"),
               timeout=5, message="both bound")


def test_an_update_delivered_twice_binds_once_and_a_replay_changes_nothing(stack, alice):
    found = codes(stack, alice)
    [sent] = act(stack, "telegram/start", chat_id=888, payload=found["telegram"])["callbacks"]
    assert sent["answer"] == 200
    # Telegram delivers again what it thinks was not received.
    assert [post_telegram(stack, sent["body"]).status_code for _ in range(2)] == [200, 200]
    wait_until(lambda: artem(stack, alice)["telegram"] == "888", timeout=5, message="bound")
    handled(stack)
    # One reply: the redeliveries were not handled again (a second would say the code was used).
    assert sent_to(stack, "telegram", "888") == [stack.config.invite_joined_reply]
    # The simulator's own callback, delivered again by hand, likewise.
    [sent] = act(stack, "viber/conversation_started", user_id="vRe=", context=found["viber"])["callbacks"]
    wait_until(lambda: artem(stack, alice)["viber"] == "vRe=", timeout=5, message="viber bound")
    v1(stack, alice, "PUT", "/contacts/Artem", {"telegram": "888", "viber": "changed="})
    assert post_signed(stack, "viber", sent["body"]).status_code == 200
    handled(stack)
    assert artem(stack, alice)["viber"] == "changed="


def test_malformed_signed_updates_are_400_naming_the_field(stack):
    answer = post_telegram(stack, {"update_id": 5, "message": {"chat": {"id": "x"}, "date": 1, "text": "hi"}})
    assert answer.status_code == 400 and answer.json()["errors"]["json"] == {"message.chat.id": ["Must be an integer."]}
    assert post_telegram(stack, {"update_id": -1}).status_code == 400
    bad_viber = {"event": "message", "timestamp": 1, "message_token": 5, "sender": {}, "message": {"type": "text"}}
    answer = post_signed(stack, "viber", bad_viber)
    assert answer.status_code == 400
    assert answer.json()["errors"]["json"] == {"sender.id": ["Must be a non-empty string."]}


def test_the_webhooks_answer_within_200_ms(stack, alice):
    code = codes(stack, alice)["telegram"]
    took = []
    for n in range(20):
        began = time.perf_counter()
        assert post_telegram(stack, start_update(100 + n, 900 + n, code if n == 0 else "inv_" + "B" * 24)).ok
        took.append(time.perf_counter() - began)
    print(f"telegram webhook answers: max {max(took) * 1000:.1f} ms, median {sorted(took)[10] * 1000:.1f} ms")
    assert max(took) < 0.2


def test_cli_admin_set_webhook_for_telegram_and_viber(stack):
    runner = CliRunner()
    env = stack.config.to_env()
    url = stack.api_url + "/webhooks/telegram"
    result = runner.invoke(main, ["admin", "telegram", "set-webhook", url], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and result.output.strip() == f"Telegram posts updates to {url}."
    assert telegram(stack.config, "getWebhookInfo")["url"] == url
    result = runner.invoke(main, ["admin", "viber", "set-webhook", stack.api_url + "/webhooks/viber"], env=env,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    refused = runner.invoke(main, ["admin", "viber", "set-webhook", stack.api_url + "/nowhere"], env=env)
    assert refused.exit_code == 1 and "Viber set_webhook" in refused.output
    bad = runner.invoke(main, ["admin", "telegram", "set-webhook", url], env={**env, "TELEGRAM_BOT_TOKEN": "1:x"})
    assert bad.exit_code == 1 and "Unauthorized" in bad.output and "1:x" not in bad.output


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    with people_stack(tmp_path_factory, "polled", telegram_updates="poll") as running:
        yield running


def test_with_polling_and_no_webhook_a_start_binds_once_across_a_poller_restart(polled):
    stack = fresh(polled)
    assert "poller" in stack.names and telegram(stack.config, "getWebhookInfo")["url"] == ""
    token = token_for(stack, "alice")
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"})
    act(stack, "telegram/start", chat_id=6006, payload=codes(stack, token)["telegram"])
    wait_until(lambda: artem(stack, token)["telegram"] == "6006", timeout=30, message="bound by polling")
    stack.stop("poller")
    act(stack, "telegram/text", chat_id=6006, text="while the poller was down")
    stack.start("poller")
    wait_until(lambda: v1(stack, token, "GET", "/contacts/Artem/inbox").json(), timeout=30, message="text kept")
    handled(stack)
    [kept] = v1(stack, token, "GET", "/contacts/Artem/inbox").json()
    assert kept["text"] == "while the poller was down"
    assert sent_to(stack, "telegram", "6006") == [stack.config.invite_joined_reply]
