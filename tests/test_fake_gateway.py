"""The fake gateway, run as a real process and spoken to over HTTP."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from helpers import running_gateway

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 5


def free_port():
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The base URL of a fake gateway process started for this module."""
    with running_gateway(tmp_path_factory.mktemp("gateway") / "gateway.log") as url:
        yield url


@pytest.fixture
def gw(gateway):
    """The gateway URL, with faults and records reset before the test."""
    requests.delete(f"{gateway}/faults", timeout=TIMEOUT).raise_for_status()
    requests.delete(f"{gateway}/received", timeout=TIMEOUT).raise_for_status()
    return gateway


def send(url, messenger, to="+100", text="hello", key=None, timeout=TIMEOUT):
    """Post one message to a messenger endpoint."""
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(
        f"{url}/{messenger}", json={"to": to, "text": text}, headers=headers, timeout=timeout
    )


def set_faults(url, **faults):
    """Change fault settings, failing the test if the gateway refuses them."""
    response = requests.put(f"{url}/faults", json=faults, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def received(url, messenger=None):
    """What the gateway accepted, optionally for one messenger."""
    params = {"messenger": messenger} if messenger else {}
    return requests.get(f"{url}/received", params=params, timeout=TIMEOUT).json()["received"]


def attempts(url, messenger=None):
    """Every request the gateway saw, optionally for one messenger."""
    params = {"messenger": messenger} if messenger else {}
    return requests.get(f"{url}/attempts", params=params, timeout=TIMEOUT).json()["attempts"]


def test_healthz(gw):
    assert requests.get(f"{gw}/healthz", timeout=TIMEOUT).json() == {"ok": True}


@pytest.mark.parametrize("messenger", ["telegram", "whatsapp"])
def test_accepts_and_records_with_key(gw, messenger):
    before = time.time()
    response = send(gw, messenger, to="alice", text="hi", key="delivery-1")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and isinstance(body["id"], int)
    [record] = received(gw)
    assert record["messenger"] == messenger
    assert (record["to"], record["text"], record["key"]) == ("alice", "hi", "delivery-1")
    assert before - 1 <= record["time"] <= time.time() + 1
    [attempt] = attempts(gw)
    assert attempt["status"] == 200 and attempt["key"] == "delivery-1"


def test_ids_increase(gw):
    first = send(gw, "telegram").json()["id"]
    second = send(gw, "whatsapp").json()["id"]
    assert second > first


def test_missing_key_recorded_as_null(gw):
    assert send(gw, "telegram").status_code == 200
    assert received(gw)[0]["key"] is None


def test_viber_always_fails(gw):
    response = send(gw, "viber", key="v-1")
    assert response.status_code == 500
    assert response.json() == {"ok": False, "error": "viber is unavailable"}
    assert received(gw) == []
    [attempt] = attempts(gw)
    assert (attempt["messenger"], attempt["status"], attempt["key"]) == ("viber", 500, "v-1")


def test_viber_accepts_when_told(gw):
    set_faults(gw, viber_accepts=True)
    assert send(gw, "viber").status_code == 200
    assert [r["messenger"] for r in received(gw)] == ["viber"]


def test_filter_by_messenger(gw):
    send(gw, "telegram")
    send(gw, "whatsapp")
    send(gw, "viber")
    assert [r["messenger"] for r in received(gw, "whatsapp")] == ["whatsapp"]
    assert [a["messenger"] for a in attempts(gw, "viber")] == ["viber"]
    assert len(attempts(gw)) == 3


def test_filter_by_recipient_and_messenger(gw):
    send(gw, "telegram", to="+1")
    send(gw, "telegram", to="+2")
    send(gw, "whatsapp", to="+2")
    listing = requests.get(f"{gw}/received", params={"to": "+2"}, timeout=TIMEOUT).json()["received"]
    assert [(r["messenger"], r["to"]) for r in listing] == [("telegram", "+2"), ("whatsapp", "+2")]
    listing = requests.get(f"{gw}/received", params={"to": "+2", "messenger": "whatsapp"},
                           timeout=TIMEOUT).json()["received"]
    assert [(r["messenger"], r["to"]) for r in listing] == [("whatsapp", "+2")]


@pytest.mark.parametrize(
    "body, error",
    [
        ("{not json", "body is not valid JSON"),
        ("[1, 2]", "body must be a JSON object"),
        ('{"text": "hi"}', "to: missing"),
        ('{"to": "bob"}', "text: missing"),
        ('{"to": 42, "text": "hi"}', "to: must be a string"),
    ],
)
def test_bad_body_is_400(gw, body, error):
    response = requests.post(f"{gw}/telegram", data=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": error}
    assert received(gw) == []
    assert [a["status"] for a in attempts(gw)] == [400]


def test_script_is_consumed_in_order(gw):
    set_faults(gw, script=[503, 200, 400])
    assert [send(gw, "telegram").status_code for _ in range(4)] == [503, 200, 400, 200]
    assert [a["status"] for a in attempts(gw)] == [503, 200, 400, 200]
    assert len(received(gw)) == 2
    assert requests.get(f"{gw}/faults", timeout=TIMEOUT).json()["script"] == []


def test_script_200_on_viber_still_refused(gw):
    set_faults(gw, script=[200])
    assert send(gw, "viber").status_code == 500


def test_throttle_answers_429_with_retry_after(gw):
    set_faults(gw, throttle_rate=1.0, retry_after=7)
    response = send(gw, "telegram")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["ok"] is False
    assert received(gw) == []
    assert attempts(gw)[0]["status"] == 429


def test_scripted_429_has_retry_after(gw):
    set_faults(gw, script=[429], retry_after=3)
    response = send(gw, "whatsapp")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_fail_rate_one_fails_everything(gw):
    set_faults(gw, fail_rate=1.0, fail_status=502)
    statuses = {send(gw, m).status_code for m in ("telegram", "whatsapp", "viber") * 3}
    assert statuses == {502}
    assert received(gw) == []
    assert requests.get(f"{gw}/stats", timeout=TIMEOUT).json() == {
        "received": 0, "attempts": 9, "rate_limited": {"telegram": 0, "whatsapp": 0, "viber": 0}}


def test_faults_limited_to_some_messengers(gw):
    set_faults(gw, fail_rate=1.0, messengers=["whatsapp"])
    assert send(gw, "telegram").status_code == 200
    assert send(gw, "whatsapp").status_code == 503


def test_latency_delays_answers(gw):
    set_faults(gw, latency_ms=300)
    started = time.monotonic()
    assert send(gw, "telegram").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_hang_answers_504_after_hang_seconds(gw):
    set_faults(gw, script=[-1], hang_seconds=0.5)
    started = time.monotonic()
    response = send(gw, "telegram")
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.5
    assert received(gw) == []


def test_hang_outlasts_short_client_timeout(gw):
    set_faults(gw, script=[-1, 200], hang_seconds=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(gw, "telegram", timeout=(1, 0.2))
    assert send(gw, "telegram").status_code == 200
    assert [a["status"] for a in attempts(gw)] == [504, 200]


@pytest.mark.parametrize(
    "faults, key",
    [
        ({"no_such_fault": 1}, "no_such_fault"),
        ({"fail_rate": 1.5}, "fail_rate"),
        ({"fail_rate": "0.5"}, "fail_rate"),
        ({"fail_status": 200}, "fail_status"),
        ({"retry_after": -1}, "retry_after"),
        ({"latency_ms": True}, "latency_ms"),
        ({"script": [503, 302]}, "script"),
        ({"viber_accepts": "yes"}, "viber_accepts"),
        ({"messengers": ["signal"]}, "messengers"),
        ({"receipt_delivered_after": -1}, "receipt_delivered_after"),
        ({"receipt_read_after": "soon"}, "receipt_read_after"),
        ({"receipts": ["+100"]}, "receipts"),
        ({"receipts": {"+100": "lost"}}, "receipts"),
    ],
)
def test_bad_faults_are_400_naming_the_key(gw, faults, key):
    response = requests.put(f"{gw}/faults", json=faults, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{key}:")


def test_bad_faults_change_nothing(gw):
    response = requests.put(f"{gw}/faults", json={"fail_rate": 1.0, "bogus": 1}, timeout=TIMEOUT)
    assert response.status_code == 400
    assert requests.get(f"{gw}/faults", timeout=TIMEOUT).json()["fail_rate"] == 0.0


def test_get_put_delete_faults(gw):
    state = set_faults(gw, fail_rate=0.25, script=[503])
    assert state["fail_rate"] == 0.25 and state["script"] == [503]
    assert requests.get(f"{gw}/faults", timeout=TIMEOUT).json() == state
    reset = requests.delete(f"{gw}/faults", timeout=TIMEOUT).json()
    assert reset == {
        "fail_rate": 0.0, "fail_status": 503, "throttle_rate": 0.0, "retry_after": 1,
        "latency_ms": 0, "script": [], "hang_seconds": 60, "viber_accepts": False,
        "messengers": None, "receipt_delivered_after": 0.5, "receipt_read_after": 1.5,
        "receipts": {}, "enforce_limits": False, "strict": False,
    }


def test_delete_received_clears_both_lists(gw):
    send(gw, "telegram")
    send(gw, "viber")
    counts = requests.get(f"{gw}/stats", timeout=TIMEOUT).json()
    assert (counts["received"], counts["attempts"]) == (1, 2)
    assert requests.delete(f"{gw}/received", timeout=TIMEOUT).status_code == 200
    assert received(gw) == [] and attempts(gw) == []
    counts = requests.get(f"{gw}/stats", timeout=TIMEOUT).json()
    assert (counts["received"], counts["attempts"]) == (0, 0)


def test_unknown_messenger_filter_is_400(gw):
    response = requests.get(f"{gw}/received", params={"messenger": "signal"}, timeout=TIMEOUT)
    assert response.status_code == 400


def test_environment_sets_initial_faults(tmp_path):
    env = {"GATEWAY_FAIL_RATE": "1", "GATEWAY_FAIL_STATUS": "502", "GATEWAY_LATENCY_MS": "10"}
    with running_gateway(tmp_path / "gateway.log", env) as url:
        assert send(url, "telegram").status_code == 502
        set_faults(url, fail_rate=0.0)
        assert send(url, "telegram").status_code == 200
        state = requests.delete(f"{url}/faults", timeout=TIMEOUT).json()
        assert (state["fail_rate"], state["fail_status"], state["latency_ms"]) == (1.0, 502, 10.0)
    assert "listening on " + url in (tmp_path / "gateway.log").read_text()


def test_bad_environment_stops_start(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fake_gateway", "--port", str(free_port())],
        cwd=ROOT,
        env={**os.environ, "GATEWAY_FAIL_RATE": "lots"},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert proc.returncode != 0
    assert "GATEWAY_FAIL_RATE" in proc.stderr
