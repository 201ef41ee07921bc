"""The Telegram adapter against the fake gateway's Bot API: each answer sorted as documented."""

import json

import pytest
import requests

from apiclient import attempts, received, set_faults
from workers.gateways import build_gateways
from workers.gateways.base import Response
from workers.gateways.telegram import classify_telegram

TIMEOUT = 5


@pytest.fixture
def telegram(stack):
    """The real-API Telegram adapter, pointed at the session's fake gateway."""
    yield build_gateways(stack.config.with_changes(messenger_api="real"))["telegram"]
    requests.delete(stack.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()


def test_sends_chat_id_and_text_with_the_bot_token(stack, telegram):
    outcome = telegram.send("123456789", "hello", key="d-1")
    assert (outcome.kind, outcome.error) == ("sent", "")
    [record] = received(stack)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "telegram", "123456789", "hello", "d-1")


def test_failed_record_url_names_the_method_but_not_the_token(stack, telegram):
    assert telegram.url == stack.gateway_url + "/bot<token>/sendMessage"
    assert stack.config.telegram_bot_token not in telegram.url


def test_wrong_token_is_permanent_unauthorized(stack, telegram):
    requests.put(stack.gateway_url + "/credentials", json={"telegram_bot_token": "654321:other"},
                 timeout=TIMEOUT).raise_for_status()
    outcome = telegram.send("42", "hi", key="d-2")
    assert (outcome.kind, outcome.error) == ("permanent", "Telegram 401: Unauthorized")
    assert received(stack) == []
    assert [a["error"] for a in attempts(stack)] == ["telegram:401"]


def test_flood_control_is_transient_after_the_retry_after_it_names(stack, telegram):
    set_faults(stack, script=["telegram:429"], retry_after=7)
    outcome = telegram.send("42", "hi", key="d-3")
    assert outcome[:3] == ("transient", "Telegram 429: Too Many Requests: retry after 7", 7)
    assert telegram.send("42", "hi", key="d-3").kind == "sent"


@pytest.mark.parametrize("code, kind, description", [
    (500, "transient", "Internal Server Error"),
    (502, "transient", "Bad Gateway"),
    (400, "permanent", "Bad Request: chat not found"),
    (403, "opted_out", "Forbidden: bot was blocked by the user"),
    (404, "permanent", "Not Found"),
])
def test_server_errors_pass_and_request_errors_stay_with_telegrams_description(
        stack, telegram, code, kind, description):
    set_faults(stack, script=[f"telegram:{code}"])
    outcome = telegram.send("42", "hi", key="d-4")
    assert (outcome.kind, outcome.error) == (kind, f"Telegram {code}: {description}")
    assert received(stack) == []


def test_a_proxy_error_without_telegrams_body_falls_back_to_the_http_status(stack, telegram):
    set_faults(stack, script=[503, 400])
    assert telegram.send("42", "hi", key="d-6").kind == "transient"
    assert telegram.send("42", "hi", key="d-6").kind == "permanent"


@pytest.mark.parametrize("description, kind", [
    ("Forbidden: bot was blocked by the user", "opted_out"),
    ("Forbidden: bot can't initiate conversation with a user", "blocked"),
    ("Forbidden: user is deactivated", "blocked"),
])
def test_only_the_persons_own_block_is_an_opt_out(description, kind):
    """A person who blocked the bot opted out; one who never started it, or left Telegram, did not say so."""
    answer = json.dumps({"ok": False, "error_code": 403, "description": description}).encode()
    outcome = classify_telegram(Response(403, answer, {}))
    assert (outcome.kind, outcome.error) == (kind, f"Telegram 403: {description}")


def test_a_success_status_without_telegrams_body_is_tried_again():
    page = Response(200, b"<html>captive portal</html>", {})
    outcome = classify_telegram(page)
    assert outcome.kind == "transient"
    assert "unexpected answer" in outcome.error
