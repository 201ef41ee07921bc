"""The WhatsApp adapter against the fake gateway's Cloud API: each documented code sorted."""

import pytest
import requests

from apiclient import attempts, received, set_faults
from workers.gateways import build_gateways

TIMEOUT = 5

# Meta's error-code table: rate limits and outages pass, the rest need a person.
TRANSIENT = {
    1: "(#1) An unknown error occurred",
    2: "(#2) Service temporarily unavailable",
    4: "(#4) Application request limit reached",
    80007: "(#80007) Rate limit issues",
    130429: "(#130429) Rate limit hit",
    131000: "(#131000) Something went wrong",
    131016: "(#131016) Service unavailable",
    131048: "(#131048) Spam rate limit hit",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    131057: "(#131057) Account in maintenance mode",
    133004: "(#133004) Server temporarily unavailable",
}
PERMANENT = {
    100: "(#100) Invalid parameter",
    190: "Error validating access token: Session has expired",
    368: "(#368) Temporarily blocked for policies violations",
    131026: "(#131026) Message undeliverable",
    131030: "(#131030) Recipient phone number not in allowed list",
    131031: "(#131031) Business Account locked",
    131047: "(#131047) Re-engagement message",
}


@pytest.fixture
def whatsapp(stack):
    """The real-API WhatsApp adapter, pointed at the session's fake gateway."""
    yield build_gateways(stack.config.with_changes(messenger_api="real"))["whatsapp"]
    requests.delete(stack.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()


def test_sends_a_text_message_from_the_business_number(stack, whatsapp):
    config = stack.config
    assert whatsapp.url == (f"{stack.gateway_url}/{config.whatsapp_api_version}/"
                            f"{config.whatsapp_phone_number_id}/messages")
    outcome = whatsapp.send("+79920082861", "hello", key="d-1")
    assert (outcome.kind, outcome.error) == ("sent", "")
    [record] = received(stack)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "whatsapp", "+79920082861", "hello", "d-1")


@pytest.mark.parametrize("credential, value, code", [
    ("whatsapp_token", "expired-token", 190),
    ("whatsapp_phone_number_id", "999", 100),
])
def test_wrong_credentials_are_permanent(stack, whatsapp, credential, value, code):
    requests.put(stack.gateway_url + "/credentials", json={credential: value},
                 timeout=TIMEOUT).raise_for_status()
    outcome = whatsapp.send("+1555", "hi", key="d-2")
    assert outcome.kind == "permanent"
    assert outcome.error.startswith(f"WhatsApp {code}: ")
    assert received(stack) == [] and [a["error"] for a in attempts(stack)] == [f"whatsapp:{code}"]


@pytest.mark.parametrize("code", sorted(TRANSIENT) + sorted(PERMANENT))
def test_each_documented_code_is_sorted_with_metas_message(stack, whatsapp, code):
    set_faults(stack, script=[f"whatsapp:{code}"])
    outcome = whatsapp.send("+1555", "hi", key="d-3")
    if code in TRANSIENT:
        assert outcome.kind == "transient"
        assert outcome.error.startswith(f"WhatsApp {code}: {TRANSIENT[code]}")
    else:
        # 131026: the person will not receive from this number (suppression).
        assert outcome.kind == ("blocked" if code == 131026 else "permanent")
        assert outcome.error.startswith(f"WhatsApp {code}: {PERMANENT[code]}")
    assert received(stack) == []


def test_the_details_meta_adds_are_kept(stack, whatsapp):
    set_faults(stack, script=["whatsapp:131030"])
    error = whatsapp.send("+1555", "hi", key="d-5").error
    assert error.endswith("(Add recipient phone number to recipient list and try again.)")


def test_a_proxy_error_without_metas_body_falls_back_to_the_http_status(stack, whatsapp):
    set_faults(stack, script=[429], retry_after=3)
    outcome = whatsapp.send("+1555", "hi", key="d-6")
    assert (outcome.kind, outcome.retry_after) == ("transient", 3)
