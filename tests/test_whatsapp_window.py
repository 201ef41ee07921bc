"""WhatsApp's 24-hour window in real mode: text inside it, the send's approved template outside
it, else a failure at once.

Against the strict fake gateway at the shipped settings, whose WhatsApp
refuses a text outside the window (131047) and a template that is not
approved or given the wrong number of parameters (132001, 132000): no
send here may meet one of those refusals.
"""

import json
import time

import pytest
import redis
import requests
from click.testing import CliRunner

from apiclient import attempts, received, v1
from conftest import token_for
from console.app import main
from core.keys import Keys
from core.whatsapp_window import CLOSING_MARGIN, KEPT_BEYOND, WINDOW, CustomerWindows
from helpers import wait_until
from people import act, fresh, handled, people_stack, sent_to

TIMEOUT = 10
ARTEM, LERA = "+79920082861", "+79035551234"
OUTSIDE = "outside WhatsApp's 24-hour window: give whatsapp_template"
ORDER_UPDATE = {"name": "order_update", "language": "en_US"}
FINISHED = ("sent", "delivered", "read", "failed", "suppressed", "not_needed", "cancelled")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "whatsapp-window") as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


@pytest.fixture
def token(stack):
    """Alice's token; her contacts Artem (WhatsApp and Viber) and Lera (WhatsApp), each with an order."""
    token = token_for(stack, "alice")
    for contact in ({"name": "Artem", "whatsapp": ARTEM, "viber": "artem-viber", "fields": {"order": "A-1"}},
                    {"name": "Lera", "whatsapp": LERA, "fields": {"order": "B-2"}}):
        assert v1(stack, token, "POST", "/contacts", contact).status_code == 201
    return token


def send(stack, token, **body):
    answer = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "Hello", "messengers": ["whatsapp"],
                                                    **body})
    assert answer.status_code == 202, answer.text
    return answer.json()


def finished(stack, token, message_id):
    """The message once each of its deliveries is finished."""
    def done():
        message = v1(stack, token, "GET", f"/messages/{message_id}").json()
        return all(d["status"] in FINISHED for d in message["deliveries"]) and message
    return wait_until(done, timeout=TIMEOUT, message="every delivery finished")


def writes(stack, wa_id, text="hi", **more):
    """The person with this number writes to the business; the dispatcher has handled it."""
    act(stack, "whatsapp/text", wa_id=wa_id, text=text, **more)
    handled(stack)


def refusals(stack):
    """The gateway's WhatsApp answers other than 200: calls that were wasted."""
    return [a for a in attempts(stack, "whatsapp") if a["status"] != 200]


def test_free_text_inside_the_window_arrives(stack, token):
    writes(stack, ARTEM)
    message = finished(stack, token, send(stack, token, text="Your order is ready")["id"])
    assert [d["status"] for d in message["deliveries"]] == ["sent"]
    assert sent_to(stack, "whatsapp", ARTEM) == ["Your order is ready"]
    assert refusals(stack) == []


def test_outside_the_window_the_template_arrives_with_each_contacts_params(stack, token):
    answer = send(stack, token, to=["Artem", "Lera"], text="Hi {{ name }}, order {{ fields.order }} ships today",
                  template=True, whatsapp_template={**ORDER_UPDATE, "params": ["{{ name }}", "{{ fields.order }}"]})
    message = finished(stack, token, answer["id"])
    assert [d["status"] for d in message["deliveries"]] == ["sent", "sent"]
    # What the gateway received: the template, its body filled in per contact, never the text.
    assert sent_to(stack, "whatsapp", ARTEM) == ["Hello Artem, your order A-1 is on its way."]
    assert sent_to(stack, "whatsapp", LERA) == ["Hello Lera, your order B-2 is on its way."]
    assert refusals(stack) == [] and len(attempts(stack, "whatsapp")) == 2
    assert {d["contact"]: d["whatsapp_template"]["params"] for d in message["deliveries"]} == {
        "Artem": ["Artem", "A-1"], "Lera": ["Lera", "B-2"]}
    assert message["whatsapp_template"]["params"] == ["{{ name }}", "{{ fields.order }}"]


def test_a_preview_shows_each_whatsapp_deliverys_template_and_sends_nothing(stack, token):
    answer = v1(stack, token, "POST", "/messages/preview", {
        "to": ["Artem", "Lera"], "text": "Hi", "template": True,
        "whatsapp_template": {**ORDER_UPDATE, "params": ["{{ name }}", "{{ fields.order }}"]}})
    assert answer.status_code == 200, answer.text
    shown = {(d["contact"], d["messenger"]): d.get("whatsapp_template") for d in answer.json()["deliveries"]}
    assert shown == {("Artem", "whatsapp"): {**ORDER_UPDATE, "params": ["Artem", "A-1"]},
                     ("Artem", "viber"): None, ("Lera", "whatsapp"): {**ORDER_UPDATE, "params": ["Lera", "B-2"]}}
    assert v1(stack, token, "GET", "/messages").json() == [] and attempts(stack) == []


def test_outside_the_window_literal_params_go_in_the_templates_language(stack, token):
    template = {"name": "order_update", "language": "ru", "params": ["Артём", "A-1"]}
    message = finished(stack, token, send(stack, token, text="Заказ в пути", whatsapp_template=template)["id"])
    assert [d["status"] for d in message["deliveries"]] == ["sent"]
    assert sent_to(stack, "whatsapp", ARTEM) == ["Здравствуйте, Артём! Ваш заказ A-1 в пути."]
    assert refusals(stack) == []


def test_outside_the_window_with_no_template_fails_at_once_into_the_failed_list(stack, token):
    began = time.monotonic()
    message = finished(stack, token, send(stack, token, text="Free text")["id"])
    assert time.monotonic() - began < 5
    [delivery] = message["deliveries"]
    assert (delivery["status"], delivery["last_error"], delivery["attempts"]) == ("failed", OUTSIDE, 1)
    failed = v1(stack, token, "GET", "/failed").json()
    assert [(f["delivery_id"], f["error"], f["message"]) for f in failed] == [(delivery["id"], OUTSIDE, "Free text")]
    # No call was made to be refused.
    assert attempts(stack, "whatsapp") == []


def test_a_fallback_chain_moves_on_at_once_from_a_closed_window(stack, token):
    act(stack, "viber/subscribe", user_id="artem-viber")
    handled(stack)
    answer = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "Your code: 1234",
                                                    "fallback": ["whatsapp", "viber"]})
    assert answer.status_code == 202, answer.text
    message = finished(stack, token, answer.json()["id"])
    assert [(d["messenger"], d["status"], d["last_error"]) for d in message["deliveries"]] == [
        ("whatsapp", "failed", OUTSIDE), ("viber", "sent", "")]
    assert sent_to(stack, "viber", "artem-viber") == ["Your code: 1234"]
    assert attempts(stack, "whatsapp") == []


def test_a_simulated_inbound_message_opens_the_window(stack, token):
    first = finished(stack, token, send(stack, token, text="Before")["id"])
    assert first["deliveries"][0]["last_error"] == OUTSIDE
    writes(stack, ARTEM.lstrip("+"), text="Hello, is my order ready?")
    second = finished(stack, token, send(stack, token, text="After")["id"])
    assert [d["status"] for d in second["deliveries"]] == ["sent"]
    assert sent_to(stack, "whatsapp", ARTEM) == ["After"]
    assert refusals(stack) == []


def test_a_message_older_than_24_hours_leaves_the_window_closed(stack, token):
    writes(stack, ARTEM, at=time.time() - 25 * 3600)
    message = finished(stack, token, send(stack, token, text="Late",
                                          whatsapp_template={**ORDER_UPDATE, "params": ["Artem", "A-1"]})["id"])
    assert [d["status"] for d in message["deliveries"]] == ["sent"]
    assert sent_to(stack, "whatsapp", ARTEM) == ["Hello Artem, your order A-1 is on its way."]
    assert refusals(stack) == []


def test_the_window_is_kept_by_the_latest_message_and_closes_a_minute_early(stack):
    client = redis.Redis.from_url(stack.config.redis_url)
    keys = Keys(stack.config.redis_prefix)
    windows, now = CustomerWindows(client, keys), time.time()
    try:
        windows.opened("+79920082861", now - 3600, now)
        # An older message handled late never moves the window back.
        windows.opened("79920082861", now - 7200, now)
        closes = now - 3600 + WINDOW - CLOSING_MARGIN
        assert windows.is_open("79920082861", closes - 1) and not windows.is_open("+79920082861", closes + 1)
        assert abs(client.ttl(keys.whatsapp_window("79920082861")) - (WINDOW - 3600 + KEPT_BEYOND)) <= 2
        # A message from before the window and its margin is not kept at all.
        windows.opened("+79035551234", now - WINDOW - KEPT_BEYOND - 1, now)
        assert not client.exists(keys.whatsapp_window("79035551234"))
        assert not windows.is_open("+79035551234", now)
    finally:
        client.close()


BAD_TEMPLATES = [
    ({"name": "no_such_template", "language": "en_US", "params": []}, "name", "no template named"),
    ({"name": "welcome_back", "language": "en_US", "params": ["Artem"]}, "name", "is PENDING"),
    ({"name": "spring_sale", "language": "en_US", "params": ["20%", "May"]}, "name", "is REJECTED"),
    ({"name": "order_update", "language": "de", "params": ["Artem", "A-1"]}, "language", "en_US, ru"),
    ({"name": "order_update", "language": "en_US", "params": ["Artem"]}, "params", "takes 2 parameter(s)"),
    ({"name": "order_update", "language": "en_US", "params": ["Artem", "A-1", "more"]}, "params", "3 given"),
    ({"name": "order_update", "language": "en_US", "params": ["{{ fields.missing }}", "x"], "template": True},
     "params", "Parameter 1"),
]


@pytest.mark.parametrize("path", ["/messages", "/schedules"])
@pytest.mark.parametrize("template, field, said", BAD_TEMPLATES,
                         ids=["unknown", "pending", "rejected", "language", "too-few", "too-many", "unrendered"])
def test_a_bad_template_is_a_422_naming_it_and_nothing_is_written(stack, token, path, template, field, said):
    template = dict(template)
    body = {"to": ["Artem", "Lera"], "text": "Hello", "whatsapp_template": template}
    if template.pop("template", False):
        body["template"] = True
    if path == "/schedules":
        body["cron"] = "* * * * *"
    answer = v1(stack, token, "POST", path, body)
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]["json"]["whatsapp_template"][field]
    assert said in problem
    assert v1(stack, token, "GET", "/messages").json() == []
    assert v1(stack, token, "GET", "/schedules").json() == []
    assert received(stack) == [] and attempts(stack) == []


def test_templates_are_listed_as_the_graph_api_has_them(stack, token):
    listed = v1(stack, token, "GET", "/whatsapp/templates")
    assert listed.status_code == 200, listed.text
    graph = requests.get(f"{stack.gateway_url}/{stack.config.whatsapp_api_version}/"
                         f"{stack.config.whatsapp_business_account_id}/message_templates",
                         headers={"Authorization": f"Bearer {stack.config.whatsapp_token}"}, timeout=TIMEOUT).json()
    assert sorted((t["name"], t["language"], t["status"]) for t in listed.json()) == sorted(
        (t["name"], t["language"], t["status"]) for t in graph["data"])
    by_key = {(t["name"], t["language"]): t for t in listed.json()}
    assert by_key["order_update", "en_US"] == {
        "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "body": "Hello {{1}}, your order {{2}} is on its way.", "parameters": 2}
    assert (by_key["welcome_back", "en_US"]["status"], by_key["spring_sale", "en_US"]["status"]) == (
        "PENDING", "REJECTED")


def test_a_template_approved_since_counts_once_synced_again(stack, token):
    approved = {"name": "delivery_slot", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Your delivery comes at {{1}}."}]}
    try:
        assert v1(stack, token, "GET", "/whatsapp/templates").status_code == 200
        assert requests.post(stack.gateway_url + "/templates", json=approved, timeout=TIMEOUT).ok
        refreshed = v1(stack, token, "GET", "/whatsapp/templates", params={"refresh": "true"}).json()
        assert ("delivery_slot", "APPROVED", 1) in [(t["name"], t["status"], t["parameters"]) for t in refreshed]
        template = {"name": "delivery_slot", "language": "en_US", "params": ["10:00"]}
        message = finished(stack, token, send(stack, token, whatsapp_template=template)["id"])
        assert sent_to(stack, "whatsapp", ARTEM) == ["Your delivery comes at 10:00."]
        assert message["deliveries"][0]["status"] == "sent"
    finally:
        requests.delete(stack.gateway_url + "/templates", timeout=TIMEOUT).raise_for_status()


def test_templates_that_cannot_be_synced_are_a_503_and_nothing_is_written(stack, token):
    requests.put(stack.gateway_url + "/credentials", json={"whatsapp_token": "expired-token"},
                 timeout=TIMEOUT).raise_for_status()
    try:
        listed = v1(stack, token, "GET", "/whatsapp/templates", params={"refresh": "true"})
        assert listed.status_code == 503, listed.text
        assert "could not be synced" in listed.json()["message"] and "expired-token" not in listed.text
        answer = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "Hello",
                                                        "whatsapp_template": {**ORDER_UPDATE, "params": ["a", "b"]}})
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"]
        assert v1(stack, token, "GET", "/messages").json() == []
    finally:
        requests.delete(stack.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()
    assert received(stack) == []


def test_cli_lists_templates_and_sends_with_one(stack, token, tmp_path):
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token, "DISPATCHER_CONFIG": str(tmp_path / "c.json")}
    runner = CliRunner()
    shown = runner.invoke(main, ["whatsapp", "templates"], env=env, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == ["NAME", "LANGUAGE", "STATUS", "CATEGORY", "PARAMS", "BODY"]
    assert any(line.split()[:5] == ["order_update", "en_US", "APPROVED", "UTILITY", "2"] for line in lines)
    as_json = runner.invoke(main, ["whatsapp", "templates", "--json"], env=env, catch_exceptions=False)
    assert json.loads(as_json.output) == v1(stack, token, "GET", "/whatsapp/templates").json()
    sent = runner.invoke(main, ["send", "Order A-1 is on its way", "--to", "Artem", "--only", "whatsapp",
                                "--whatsapp-template", "order_update:en_US", "--whatsapp-param", "Artem",
                                "--whatsapp-param", "A-1", "--wait"], env=env, catch_exceptions=False)
    assert sent.exit_code == 0, sent.output
    assert sent_to(stack, "whatsapp", ARTEM) == ["Hello Artem, your order A-1 is on its way."]
    refused = runner.invoke(main, ["send", "Hi", "--to", "Artem", "--whatsapp-template", "welcome_back:en_US",
                                   "--whatsapp-param", "Artem"], env=env)
    assert refused.exit_code == 1 and "PENDING" in refused.output


def test_cli_schedules_add_takes_a_whatsapp_template(stack, token, tmp_path):
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token, "DISPATCHER_CONFIG": str(tmp_path / "c.json")}
    runner = CliRunner()
    made = runner.invoke(main, ["schedules", "add", "Order news", "--to", "Artem", "--cron", "0 9 * * MON",
                                "--only", "whatsapp", "--whatsapp-template", "order_update:en_US",
                                "--whatsapp-param", "{{ name }}", "--whatsapp-param", "{{ fields.order }}",
                                "--template", "--json"], env=env, catch_exceptions=False)
    assert made.exit_code == 0, made.output
    schedule = v1(stack, token, "GET", f"/schedules/{json.loads(made.output)['id']}").json()
    assert schedule["send"]["whatsapp_template"] == {
        "name": "order_update", "language": "en_US", "params": ["{{ name }}", "{{ fields.order }}"]}
    refused = runner.invoke(main, ["schedules", "add", "Hi", "--to", "Artem", "--cron", "0 9 * * MON",
                                   "--whatsapp-template", "welcome_back:en_US", "--whatsapp-param", "x"], env=env)
    assert refused.exit_code == 1 and "PENDING" in refused.output
    orphan = runner.invoke(main, ["schedules", "add", "Hi", "--to", "Artem", "--cron", "0 9 * * MON",
                                  "--whatsapp-param", "x"], env=env)
    assert orphan.exit_code == 2 and "--whatsapp-param needs --whatsapp-template" in orphan.output
    assert len(v1(stack, token, "GET", "/schedules").json()) == 1
