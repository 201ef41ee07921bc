"""The fake gateway's strict mode: sends refused as the real services refuse them, and its templates."""

import time

import pytest
import requests

from core.config import Config
from fake_gateway.receipts import WABA_ID
from helpers import running_gateway

TIMEOUT = 5
CONFIG = Config()
WHATSAPP_TO = "+79920082861"
DAY = 24 * 3600


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """A fake gateway process of the module's own, strict mode as shipped (off)."""
    with running_gateway(tmp_path_factory.mktemp("gateway") / "gateway.log") as url:
        yield url


@pytest.fixture
def gw(gateway):
    """The gateway reset: faults, records, people, credentials and templates."""
    for path in ("/faults", "/received", "/credentials", "/templates"):
        requests.delete(gateway + path, timeout=TIMEOUT).raise_for_status()
    return gateway


@pytest.fixture
def strict(gw):
    """The gateway with strict mode on and Viber accepting."""
    faults(gw, strict=True, viber_accepts=True)
    return gw


def faults(gw, **settings):
    """Change fault settings; the new state."""
    answer = requests.put(gw + "/faults", json=settings, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def act(gw, path, **body):
    """Act as a person through the simulator; its answer."""
    answer = requests.post(f"{gw}/people/{path}", json=body, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def telegram(gw, chat_id, text="hello"):
    """sendMessage to a chat."""
    return requests.post(f"{gw}/bot{CONFIG.telegram_bot_token}/sendMessage",
                         json={"chat_id": chat_id, "text": text}, timeout=TIMEOUT)


def viber(gw, receiver):
    """send_message to a Viber user."""
    return requests.post(gw + "/pa/send_message", headers={"X-Viber-Auth-Token": CONFIG.viber_auth_token},
                         json={"receiver": receiver, "type": "text", "text": "hello",
                               "sender": {"name": "Dispatcher"}}, timeout=TIMEOUT)


def whatsapp(gw, body):
    """POST a Cloud API message to a number."""
    return requests.post(
        f"{gw}/{CONFIG.whatsapp_api_version}/{CONFIG.whatsapp_phone_number_id}/messages",
        headers={"Authorization": f"Bearer {CONFIG.whatsapp_token}"},
        json={"messaging_product": "whatsapp", "to": WHATSAPP_TO, **body}, timeout=TIMEOUT)


def text(body="hello"):
    """A WhatsApp text message's fields."""
    return {"type": "text", "text": {"body": body}}


def template(name, params, language="en_US"):
    """A WhatsApp template message's fields, its body parameters given."""
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {"type": "template", "template": {"name": name, "language": {"code": language},
                                             "components": components}}


def whatsapp_error(code, message, details):
    """Graph API's error body, as the Cloud API answers a refused send."""
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "AfakeTraceId"}}


def listed(gw, name):
    """A record list of the gateway's."""
    return requests.get(f"{gw}/{name}", timeout=TIMEOUT).json()[name]


def templates(gw, token=None, waba_id=WABA_ID, **params):
    """GET the account's message templates as Graph API serves them."""
    return requests.get(f"{gw}/{CONFIG.whatsapp_api_version}/{waba_id}/message_templates", params=params,
                        headers={"Authorization": f"Bearer {token or CONFIG.whatsapp_token}"},
                        timeout=TIMEOUT)


def test_strict_is_off_by_default_and_everything_goes_through(gw):
    assert requests.get(gw + "/faults", timeout=TIMEOUT).json()["strict"] is False
    faults(gw, viber_accepts=True)
    assert telegram(gw, "ArtemZaitsev").status_code == 200
    assert telegram(gw, 777).status_code == 200
    assert viber(gw, "nobody=").json()["status"] == 0
    assert whatsapp(gw, text()).status_code == 200
    assert whatsapp(gw, template("spring_sale", ["10%"])).status_code == 200
    assert len(listed(gw, "received")) == 5


def test_gateway_strict_turns_it_on_at_start_up(tmp_path):
    with running_gateway(tmp_path / "gateway.log", {"GATEWAY_STRICT": "1"}) as url:
        assert requests.get(url + "/faults", timeout=TIMEOUT).json()["strict"] is True
        answer = telegram(url, 777)
        assert answer.status_code == 403
        # Back to how it started, not to the default.
        assert requests.delete(url + "/faults", timeout=TIMEOUT).json()["strict"] is True


def test_telegram_takes_only_people_who_started_the_bot_and_did_not_block_it(strict):
    not_found = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    not_started = {"ok": False, "error_code": 403,
                   "description": "Forbidden: bot can't initiate conversation with a user"}
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    act(strict, "telegram/start", chat_id=5001, username="ArtemZaitsev")
    # A bot cannot name a user by username, with or without @, even one who started it.
    for chat in ("ArtemZaitsev", "@ArtemZaitsev", -1001234567890):
        answer = telegram(strict, chat)
        assert (answer.status_code, answer.json()) == (400, not_found), chat
    answer = telegram(strict, 5002)
    assert (answer.status_code, answer.json()) == (403, not_started)
    assert telegram(strict, 5001).status_code == 200
    assert telegram(strict, "5001").status_code == 200
    act(strict, "telegram/block", chat_id=5001)
    answer = telegram(strict, 5001)
    assert (answer.status_code, answer.json()) == (403, blocked)
    act(strict, "telegram/start", chat_id=5001)
    assert telegram(strict, 5001).status_code == 200
    assert [r["to"] for r in listed(strict, "received")] == ["5001", "5001", "5001"]
    assert [a["error"] for a in listed(strict, "attempts") if a["status"] != 200] == [
        "telegram:400", "telegram:400", "telegram:400", "telegram:403", "telegram:403"]


def test_telegram_takes_the_username_of_a_channel_the_bot_posts_to(strict):
    assert telegram(strict, "@dispatch_news").status_code == 400
    answer = requests.post(strict + "/people/telegram/channel", json={"username": "@Dispatch_News"},
                           timeout=TIMEOUT)
    assert answer.json() == {"channels": ["@dispatch_news"]}
    assert telegram(strict, "@dispatch_news").status_code == 200


def test_viber_takes_only_subscribers(strict):
    refused = {"status": 6, "status_message": "receiverNotSubscribed", "chat_hostname": "SN-CHAT-01_"}
    answer = viber(strict, "user-a=")
    assert (answer.status_code, answer.json()) == (200, refused)
    # Opening the chat subscribes no one.
    act(strict, "viber/conversation_started", user_id="user-a=", context="code1")
    assert viber(strict, "user-a=").json() == refused
    act(strict, "viber/subscribe", user_id="user-a=")
    assert viber(strict, "user-a=").json()["status"] == 0
    act(strict, "viber/unsubscribe", user_id="user-a=")
    assert viber(strict, "user-a=").json() == refused
    # Writing to the bot subscribes, as on Viber.
    act(strict, "viber/text", user_id="user-a=", text="hi")
    assert viber(strict, "user-a=").json()["status"] == 0
    assert [a["error"] for a in listed(strict, "attempts")] == [
        "viber:6", "viber:6", None, "viber:6", None]


def test_whatsapp_text_goes_only_within_24_hours_of_the_numbers_last_message(strict):
    outside = whatsapp_error(131047, "(#131047) Re-engagement message",
                             "More than 24 hours have passed since the recipient last replied to the "
                             "sender number.")
    answer = whatsapp(strict, text())
    assert (answer.status_code, answer.json()) == (400, outside)
    now = time.time()
    act(strict, "whatsapp/text", wa_id="79920082861", text="old", at=now - DAY - 60)
    assert whatsapp(strict, text()).json() == outside
    act(strict, "whatsapp/text", wa_id="79920082861", text="recent", at=now - DAY + 60)
    assert whatsapp(strict, text()).status_code == 200
    act(strict, "whatsapp/text", wa_id="+79920082861", text="now")
    assert whatsapp(strict, text("second")).status_code == 200
    assert [r["text"] for r in listed(strict, "received")] == ["hello", "second"]


def test_whatsapp_template_needs_an_approved_one_with_its_parameters_in_or_out_of_the_window(strict):
    answer = whatsapp(strict, template("order_update", ["Anna", "A-42"]))
    assert answer.status_code == 200 and answer.json()["messages"][0]["id"].startswith("wamid.")
    assert whatsapp(strict, template("order_update", ["Анна", "A-43"], "ru")).status_code == 200
    assert whatsapp(strict, template("hello_world", [])).status_code == 200
    act(strict, "whatsapp/text", wa_id="79920082861", text="hi")
    assert whatsapp(strict, template("order_update", ["Bob", "A-44"])).status_code == 200
    assert [r["text"] for r in listed(strict, "received")][:2] == [
        "Hello Anna, your order A-42 is on its way.", "Здравствуйте, Анна! Ваш заказ A-43 в пути."]
    message = "(#132001) Template name does not exist in the translation"
    for name, language, params in (("nope", "en_US", []), ("order_update", "de", ["a", "b"]),
                                   ("welcome_back", "en_US", ["a"]), ("spring_sale", "en_US", ["a", "b"])):
        answer = whatsapp(strict, template(name, params, language))
        assert (answer.status_code, answer.json()) == (404, whatsapp_error(
            132001, message, f"template name ({name}) does not exist in {language}")), name
    answer = whatsapp(strict, template("order_update", ["Anna"]))
    assert (answer.status_code, answer.json()) == (400, whatsapp_error(
        132000, "(#132000) Number of parameters does not match the expected number of params",
        "body: number of localizable_params (1) does not match the expected number of params (2)"))
    assert len(listed(strict, "received")) == 4


def test_strict_refusals_come_before_faults_and_leave_the_script_alone(strict):
    faults(strict, script=["telegram:429"])
    assert telegram(strict, 5003).status_code == 403
    assert requests.get(strict + "/faults", timeout=TIMEOUT).json()["script"] == ["telegram:429"]


def test_the_simple_routes_are_never_strict(strict):
    for messenger in ("telegram", "whatsapp", "viber"):
        answer = requests.post(f"{strict}/{messenger}", json={"to": "ArtemZaitsev", "text": "hi"},
                               timeout=TIMEOUT)
        assert answer.status_code == 200, messenger
    assert len(listed(strict, "received")) == 3


def test_templates_are_listed_as_graph_api_serves_them(gw):
    answer = templates(gw)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert {(t["name"], t["language"], t["status"]) for t in data} == {
        ("hello_world", "en_US", "APPROVED"), ("order_update", "en_US", "APPROVED"),
        ("order_update", "ru", "APPROVED"), ("welcome_back", "en_US", "PENDING"),
        ("spring_sale", "en_US", "REJECTED")}
    order = next(t for t in data if (t["name"], t["language"]) == ("order_update", "en_US"))
    assert order["category"] == "UTILITY" and order["id"].isdigit()
    assert order["components"] == [{"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way."}]
    approved = templates(gw, status="APPROVED", fields="name,status").json()["data"]
    assert [set(t) for t in approved] == [{"id", "name", "status"}] * 3
    first = templates(gw, limit=2).json()
    assert len(first["data"]) == 2 and "next" in first["paging"]
    rest = requests.get(first["paging"]["next"], headers={"Authorization": f"Bearer {CONFIG.whatsapp_token}"},
                        timeout=TIMEOUT).json()
    second = templates(gw, limit=2, after=first["paging"]["cursors"]["after"]).json()
    assert rest == second and len(second["data"]) == 2
    assert [t["id"] for t in first["data"] + second["data"]] == [t["id"] for t in data][:4]


def test_templates_refuse_a_wrong_token_or_account(gw):
    answer = templates(gw, token="wrong")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == 190
    answer = templates(gw, waba_id="999")
    error = answer.json()["error"]
    assert answer.status_code == 400 and (error["code"], error["error_subcode"]) == (100, 33)
    assert error["message"].startswith("Unsupported get request. Object with ID '999' does not exist")


def test_templates_can_be_added_replaced_and_reset(strict):
    shipping = {"name": "shipping", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                "components": [{"type": "BODY", "text": "{{1}}: parcel {{2}} arrives {{3}}."}]}
    added = requests.post(strict + "/templates", json=shipping, timeout=TIMEOUT).json()
    assert templates(strict, name="shipping").json()["data"] == [added]
    assert whatsapp(strict, template("shipping", ["Anna", "P1", "today"])).status_code == 200
    replaced = requests.post(strict + "/templates", json={**shipping, "status": "PENDING"},
                             timeout=TIMEOUT).json()
    assert replaced["id"] == added["id"]
    assert whatsapp(strict, template("shipping", ["Anna", "P1", "today"])).status_code == 404
    skipped = {**shipping, "components": [{"type": "BODY", "text": "{{1}} and {{3}}"}]}
    answer = requests.post(strict + "/templates", json=skipped, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert answer.json()["error"] == "components: BODY placeholders must be {{1}} to {{n}}, none skipped"
    answer = requests.post(strict + "/templates", json={**shipping, "status": "LIVE"}, timeout=TIMEOUT)
    assert answer.json()["error"] == "status: must be one of APPROVED, PENDING, REJECTED"
    requests.delete(strict + "/templates", timeout=TIMEOUT).raise_for_status()
    assert templates(strict, name="shipping").json()["data"] == []


def test_strict_must_be_true_or_false(gw):
    answer = requests.put(gw + "/faults", json={"strict": "yes"}, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()["error"]) == (400, "strict: must be true or false")
