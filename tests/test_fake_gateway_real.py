"""The fake gateway's imitations of the Telegram, WhatsApp and Viber APIs, over HTTP."""

import pytest
import requests

from apiclient import attempts, received, set_faults

TIMEOUT = 5
WHATSAPP_BODY = {"messaging_product": "whatsapp", "to": "+15550001", "type": "text",
                 "text": {"body": "hello"}}
VIBER_BODY = {"receiver": "01234567890A=", "type": "text", "text": "hello",
              "sender": {"name": "Dispatcher"}}


@pytest.fixture
def gw(stack):
    """The session's fake gateway (reset), with its credentials put back afterwards."""
    yield stack
    requests.delete(stack.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()


def telegram(stack, body=None, token=None, key=None):
    """POST sendMessage with the bot token the gateway expects (or another)."""
    token = token or stack.config.telegram_bot_token
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(f"{stack.gateway_url}/bot{token}/sendMessage", headers=headers,
                         json=body or {"chat_id": 123456789, "text": "hello"}, timeout=TIMEOUT)


def whatsapp(stack, body=None, token=None, number=None, key=None):
    """POST a Cloud API message with the token and number id the gateway expects (or others)."""
    config = stack.config
    headers = {"Authorization": f"Bearer {token or config.whatsapp_token}"}
    if key:
        headers["Idempotency-Key"] = key
    url = (f"{stack.gateway_url}/{config.whatsapp_api_version}/"
           f"{number or config.whatsapp_phone_number_id}/messages")
    return requests.post(url, headers=headers, json=body or WHATSAPP_BODY, timeout=TIMEOUT)


def viber(stack, body=None, token=None, key=None):
    """POST send_message with the auth token the gateway expects (or another)."""
    headers = {"X-Viber-Auth-Token": token or stack.config.viber_auth_token}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(stack.gateway_url + "/pa/send_message", headers=headers,
                         json=body or VIBER_BODY, timeout=TIMEOUT)


def test_credentials_default_to_what_the_service_sends(gw):
    current = requests.get(gw.gateway_url + "/credentials", timeout=TIMEOUT).json()
    config = gw.config
    assert current == {
        "telegram_bot_token": config.telegram_bot_token, "whatsapp_token": config.whatsapp_token,
        "whatsapp_phone_number_id": config.whatsapp_phone_number_id,
        "viber_auth_token": config.viber_auth_token,
        "whatsapp_app_secret": config.whatsapp_app_secret,
    }


def test_telegram_accepts_and_answers_with_the_message(gw):
    answer = telegram(gw, key="d-1")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    assert body["result"]["chat"]["id"] == 123456789 and body["result"]["text"] == "hello"
    assert isinstance(body["result"]["message_id"], int)
    [record] = received(gw)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "telegram", "123456789", "hello", "d-1")


def test_whatsapp_accepts_and_answers_with_a_message_id(gw):
    answer = whatsapp(gw, key="d-2")
    assert answer.status_code == 200
    body = answer.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+15550001", "wa_id": "15550001"}]
    assert body["messages"][0]["id"].startswith("wamid.")
    [record] = received(gw)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "whatsapp", "+15550001", "hello", "d-2")
    # The id its receipts will name.
    assert record["id"] == body["messages"][0]["id"]


def test_viber_refuses_by_default_and_accepts_when_told(gw):
    refused = viber(gw, key="d-3")
    assert refused.status_code == 500
    assert refused.json() == {"ok": False, "error": "viber is unavailable"}
    set_faults(gw, viber_accepts=True)
    answer = viber(gw, key="d-3")
    assert answer.status_code == 200
    assert answer.json()["status"] == 0 and answer.json()["status_message"] == "ok"
    [record] = received(gw)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "viber", "01234567890A=", "hello", "d-3")
    # A 64-bit token like Viber's, the one its receipts will name.
    token = answer.json()["message_token"]
    assert isinstance(token, int) and 2 ** 62 < token < 2 ** 63 and record["id"] == token
    assert [a["status"] for a in attempts(gw)] == [500, 200]


def test_wrong_credentials_are_refused_as_each_service_does(gw):
    set_faults(gw, viber_accepts=True)
    answer = telegram(gw, token="1:wrong")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    answer = whatsapp(gw, token="wrong")
    error = answer.json()["error"]
    assert answer.status_code == 401 and (error["code"], error["type"]) == (190, "OAuthException")
    answer = whatsapp(gw, number="999")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
    answer = viber(gw, token="wrong")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["status_message"]) == (2, "invalidAuthToken")
    assert received(gw) == []
    assert [a["error"] for a in attempts(gw)] == [
        "telegram:401", "whatsapp:190", "whatsapp:100", "viber:2"]


def test_credentials_can_be_changed_and_put_back(gw):
    changed = requests.put(gw.gateway_url + "/credentials", json={"telegram_bot_token": "9:new"},
                           timeout=TIMEOUT)
    assert changed.status_code == 200 and changed.json()["telegram_bot_token"] == "9:new"
    assert telegram(gw).status_code == 401
    assert telegram(gw, token="9:new").status_code == 200
    requests.delete(gw.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()
    assert telegram(gw).status_code == 200


@pytest.mark.parametrize("change, error", [
    ({"telegram_bot_token": ""}, "telegram_bot_token: must be a non-empty string"),
    ({"viber_auth_token": 5}, "viber_auth_token: must be a non-empty string"),
    ({"whatsapp_token": "x", "password": "y"}, "password: unknown credential"),
])
def test_bad_credential_changes_are_400_and_change_nothing(gw, change, error):
    answer = requests.put(gw.gateway_url + "/credentials", json=change, timeout=TIMEOUT)
    assert answer.status_code == 400 and answer.json()["error"].startswith(error)
    assert whatsapp(gw).status_code == 200


def test_telegram_flood_control_names_its_wait(gw):
    set_faults(gw, script=["telegram:429"], retry_after=9)
    answer = telegram(gw)
    assert answer.status_code == 429
    assert answer.json() == {"ok": False, "error_code": 429,
                             "description": "Too Many Requests: retry after 9",
                             "parameters": {"retry_after": 9}}
    assert telegram(gw).status_code == 200


def test_whatsapp_pair_rate_limit_in_graphs_error_shape(gw):
    set_faults(gw, script=["whatsapp:131056"])
    answer = whatsapp(gw)
    error = answer.json()["error"]
    assert answer.status_code == 400
    assert error["code"] == 131056 and "pair rate limit hit" in error["message"]
    assert error["error_data"]["details"].startswith("Message failed to send")
    assert error["fbtrace_id"]


def test_viber_errors_come_as_http_200_with_a_status(gw):
    set_faults(gw, viber_accepts=True, script=["viber:6"])
    answer = viber(gw).json()
    assert (answer["status"], answer["status_message"]) == (6, "receiverNotSubscribed")
    assert received(gw) == []
    assert [(a["status"], a["error"]) for a in attempts(gw)] == [(200, "viber:6")]


def test_a_named_error_waits_for_its_messengers_api(gw):
    set_faults(gw, script=["whatsapp:131026", 503])
    assert telegram(gw).status_code == 200
    assert requests.post(gw.gateway_url + "/whatsapp", json={"to": "a", "text": "b"},
                         timeout=TIMEOUT).status_code == 200
    assert whatsapp(gw).json()["error"]["code"] == 131026
    assert telegram(gw).status_code == 503
    assert requests.get(gw.gateway_url + "/faults", timeout=TIMEOUT).json()["script"] == []


def test_generic_faults_reach_the_real_shapes_too(gw):
    set_faults(gw, fail_rate=1.0, fail_status=502)
    assert [telegram(gw).status_code, whatsapp(gw).status_code, viber(gw).status_code] == [502] * 3
    assert received(gw) == []


@pytest.mark.parametrize("send, body, status, check", [
    (telegram, {"chat_id": 1}, 400,
     lambda b: b == {"ok": False, "error_code": 400,
                     "description": "Bad Request: message text is empty"}),
    (telegram, {"text": "hi"}, 400, lambda b: b["description"] == "Bad Request: chat_id is empty"),
    (whatsapp, {"to": "+1", "type": "text", "text": {"body": "x"}}, 400,
     lambda b: b["error"]["code"] == 100 and "messaging_product" in b["error"]["message"]),
    (whatsapp, {**WHATSAPP_BODY, "text": {}}, 400, lambda b: b["error"]["code"] == 100),
    (viber, {"receiver": "x", "type": "text", "text": "t"}, 200,
     lambda b: (b["status"], b["status_message"]) == (4, "missingData")),
])
def test_malformed_requests_are_answered_as_each_api_does(gw, send, body, status, check):
    set_faults(gw, viber_accepts=True)
    answer = send(gw, body)
    assert answer.status_code == status
    assert check(answer.json()), answer.json()
    assert received(gw) == []


def test_unknown_documented_errors_are_refused(gw):
    answer = requests.put(gw.gateway_url + "/faults", json={"script": ["telegram:418"]},
                          timeout=TIMEOUT)
    assert answer.status_code == 400 and answer.json()["error"].startswith("script:")
