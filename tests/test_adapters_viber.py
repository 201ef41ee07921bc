"""The Viber adapter against the fake gateway's REST API: each documented status sorted."""

import pytest
import requests

from apiclient import attempts, received, set_faults
from workers.gateways import build_gateways

TIMEOUT = 5

# Viber's error table; only tooManyRequests passes with time.
PERMANENT = {
    1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
    5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
    8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
    11: "receiverNoSuitableDevice", 13: "apiVersionNotSupported",
    14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed", 17: "publicAccountIsNotInline", 18: "noPublicChat",
    19: "cannotSendBroadcast", 20: "broadcastNotAllowed",
}


@pytest.fixture
def viber(stack):
    """The real-API Viber adapter, pointed at the session's fake gateway (which accepts)."""
    set_faults(stack, viber_accepts=True)
    yield build_gateways(stack.config.with_changes(messenger_api="real"))["viber"]
    requests.delete(stack.gateway_url + "/credentials", timeout=TIMEOUT).raise_for_status()


def test_sends_a_text_to_a_subscriber(stack, viber):
    assert viber.url == stack.gateway_url + "/pa/send_message"
    outcome = viber.send("01234567890A=", "hello", key="d-1")
    assert (outcome.kind, outcome.error) == ("sent", "")
    [record] = received(stack)
    assert (record["messenger"], record["to"], record["text"], record["key"]) == (
        "viber", "01234567890A=", "hello", "d-1")


def test_viber_fails_by_default_and_that_is_tried_again(stack, viber):
    set_faults(stack, viber_accepts=False)
    outcome = viber.send("01234567890A=", "hello", key="d-2")
    assert (outcome.kind, outcome.error) == ("transient", "HTTP 500: viber is unavailable")


def test_wrong_token_is_permanent_status_2(stack, viber):
    requests.put(stack.gateway_url + "/credentials", json={"viber_auth_token": "other"},
                 timeout=TIMEOUT).raise_for_status()
    outcome = viber.send("01234567890A=", "hi", key="d-3")
    assert (outcome.kind, outcome.error) == ("permanent", "Viber 2: invalidAuthToken")
    assert [(a["status"], a["error"]) for a in attempts(stack)] == [(200, "viber:2")]


def test_too_many_requests_is_transient(stack, viber):
    set_faults(stack, script=["viber:12"])
    outcome = viber.send("01234567890A=", "hi", key="d-4")
    assert (outcome.kind, outcome.error) == ("transient", "Viber 12: tooManyRequests")
    assert viber.send("01234567890A=", "hi", key="d-4").kind == "sent"


@pytest.mark.parametrize("status", sorted(PERMANENT))
def test_other_statuses_are_permanent_with_vibers_message(stack, viber, status):
    set_faults(stack, script=[f"viber:{status}"])
    outcome = viber.send("01234567890A=", "hi", key="d-5")
    # 6 receiverNotSubscribed: the person left the bot (suppression).
    kind = "blocked" if status == 6 else "permanent"
    assert (outcome.kind, outcome.error) == (kind, f"Viber {status}: {PERMANENT[status]}")
    assert received(stack) == []
