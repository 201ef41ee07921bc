"""The fake gateway's enforce_limits mode: the messengers' published send rates, held to over HTTP."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from helpers import free_ports, running_gateway

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 5
NONE_LIMITED = {"telegram": 0, "whatsapp": 0, "viber": 0}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The base URL of a fake gateway process started for this module."""
    with running_gateway(tmp_path_factory.mktemp("gateway") / "gateway.log") as url:
        yield url


@pytest.fixture
def http():
    """One kept-alive connection, so a burst of sends fits well inside a second."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def gw(gateway, http):
    """The gateway URL, with faults, records and rate-limit windows reset before the test."""
    http.delete(f"{gateway}/faults", timeout=TIMEOUT).raise_for_status()
    http.delete(f"{gateway}/received", timeout=TIMEOUT).raise_for_status()
    return gateway


@pytest.fixture
def limited(gw, http):
    """The gateway URL with enforce_limits on."""
    answer = http.put(f"{gw}/faults", json={"enforce_limits": True}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["enforce_limits"] is True
    return gw


def telegram_burst(http, url, chats):
    """sendMessage once to each chat, with the bot token the gateway accepts, as fast as one
    connection goes; the answers."""
    token = http.get(f"{url}/credentials", timeout=TIMEOUT).json()["telegram_bot_token"]
    return [http.post(f"{url}/bot{token}/sendMessage", json={"chat_id": chat, "text": "hello"},
                      timeout=TIMEOUT) for chat in chats]


def whatsapp_burst(http, url, recipients):
    """A Cloud API text message to each recipient, as fast as one connection goes; the answers."""
    credentials = http.get(f"{url}/credentials", timeout=TIMEOUT).json()
    endpoint = f"{url}/v21.0/{credentials['whatsapp_phone_number_id']}/messages"
    headers = {"Authorization": f"Bearer {credentials['whatsapp_token']}"}
    return [http.post(endpoint, headers=headers, timeout=TIMEOUT, json={
        "messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hello"}})
        for to in recipients]


def simple(http, url, messenger, to):
    """POST one message to the gateway's own endpoint for a messenger."""
    return http.post(f"{url}/{messenger}", json={"to": to, "text": "hello"}, timeout=TIMEOUT)


def stats(http, url):
    return http.get(f"{url}/stats", timeout=TIMEOUT).json()


def test_telegram_takes_30_a_second_and_refuses_the_31st(limited, http):
    started = time.monotonic()
    answers = telegram_burst(http, limited, range(1000, 1031))
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 30 + [429], f"took {elapsed:.2f} s"
    assert answers[-1].json() == {"ok": False, "error_code": 429,
                                  "description": "Too Many Requests: retry after 1",
                                  "parameters": {"retry_after": 1}}
    assert stats(http, limited) == {"received": 30, "attempts": 31,
                                    "rate_limited": {**NONE_LIMITED, "telegram": 1}}
    last = http.get(f"{limited}/attempts", timeout=TIMEOUT).json()["attempts"][-1]
    assert (last["to"], last["status"], last["error"]) == ("1030", 429, "telegram:429")


def test_telegram_takes_one_a_second_per_chat_and_again_after_it(limited, http):
    assert simple(http, limited, "telegram", "42").status_code == 200
    refused = simple(http, limited, "telegram", "42")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {"ok": False, "error": "too many requests: retry after 1"}
    assert simple(http, limited, "telegram", "43").status_code == 200
    # The simple and real endpoints share one window per chat.
    [again] = telegram_burst(http, limited, [42])
    assert again.status_code == 429
    time.sleep(1.1)
    [later] = telegram_burst(http, limited, [42])
    assert later.status_code == 200
    received = http.get(f"{limited}/received", params={"to": "42"}, timeout=TIMEOUT).json()
    assert len(received["received"]) == 2
    assert stats(http, limited)["rate_limited"] == {**NONE_LIMITED, "telegram": 2}


def test_whatsapp_takes_80_a_second_and_refuses_the_81st(limited, http):
    started = time.monotonic()
    answers = whatsapp_burst(http, limited, [f"+1555{n:04}" for n in range(81)])
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 80 + [400], f"took {elapsed:.2f} s"
    error = answers[-1].json()["error"]
    assert error["code"] == 130429 and "Rate limit hit" in error["message"]
    assert error["error_data"]["details"] == "Cloud API message throughput has been reached."
    assert stats(http, limited) == {"received": 80, "attempts": 81,
                                    "rate_limited": {**NONE_LIMITED, "whatsapp": 1}}


def test_whatsapp_has_no_per_recipient_limit_and_viber_none_at_all(limited, http):
    assert [a.status_code for a in whatsapp_burst(http, limited, ["+15550001"] * 5)] == [200] * 5
    assert http.put(f"{limited}/faults", json={"viber_accepts": True},
                    timeout=TIMEOUT).status_code == 200
    assert {simple(http, limited, "viber", "v1").status_code for _ in range(100)} == {200}
    assert stats(http, limited)["rate_limited"] == NONE_LIMITED


def test_a_faulted_send_uses_up_no_room(limited, http):
    assert http.put(f"{limited}/faults", json={"script": [503]}, timeout=TIMEOUT).status_code == 200
    assert simple(http, limited, "telegram", "7").status_code == 503
    assert simple(http, limited, "telegram", "7").status_code == 200


def test_limits_are_off_by_default(gw, http):
    assert http.get(f"{gw}/faults", timeout=TIMEOUT).json()["enforce_limits"] is False
    assert {a.status_code for a in telegram_burst(http, gw, [42] * 40)} == {200}
    assert {a.status_code for a in whatsapp_burst(http, gw, ["+15550001"] * 90)} == {200}
    assert stats(http, gw) == {"received": 130, "attempts": 130, "rate_limited": NONE_LIMITED}


def test_clearing_received_empties_the_windows_and_counts(limited, http):
    simple(http, limited, "telegram", "42")
    assert simple(http, limited, "telegram", "42").status_code == 429
    http.delete(f"{limited}/received", timeout=TIMEOUT).raise_for_status()
    assert stats(http, limited)["rate_limited"] == NONE_LIMITED
    assert simple(http, limited, "telegram", "42").status_code == 200


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_enforce_limits_must_be_true_or_false(gw, http, value):
    answer = http.put(f"{gw}/faults", json={"enforce_limits": value}, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert answer.json()["error"] == "enforce_limits: must be true or false"


@pytest.mark.parametrize("value", ["1", "TRUE"])
def test_environment_turns_limits_on(tmp_path, value):
    with running_gateway(tmp_path / "gateway.log", {"GATEWAY_ENFORCE_LIMITS": value}) as url:
        assert requests.get(f"{url}/faults", timeout=TIMEOUT).json()["enforce_limits"] is True
        with requests.Session() as http:
            assert simple(http, url, "telegram", "42").status_code == 200
            assert simple(http, url, "telegram", "42").status_code == 429


def test_environment_can_say_off_and_nothing_else(tmp_path):
    with running_gateway(tmp_path / "off.log", {"GATEWAY_ENFORCE_LIMITS": "false"}) as url:
        assert requests.get(f"{url}/faults", timeout=TIMEOUT).json()["enforce_limits"] is False
    [port] = free_ports(1)
    proc = subprocess.run([sys.executable, "-m", "fake_gateway", "--port", str(port)], cwd=ROOT,
                          env={**os.environ, "GATEWAY_ENFORCE_LIMITS": "yes"},
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode != 0
    assert "GATEWAY_ENFORCE_LIMITS: not a valid boolean: 'yes'" in proc.stderr
