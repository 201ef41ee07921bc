"""The gateways' HTTP transport (libcurl) against the fake gateway: answers, headers and failures."""

import time

from apiclient import received, set_faults
from helpers import free_ports
from workers.gateways.base import Transport, _headers, classify_http


def _transport(stack, **changes):
    return Transport(stack.config.with_changes(**changes))


def test_posts_json_with_the_key_and_headers_send_after_send(stack):
    transport = _transport(stack)
    url = f"{stack.gateway_url}/telegram"
    outcomes = [transport.post(url, {"to": str(n), "text": "héllo"}, f"t-{n}", classify_http)
                for n in range(50)]
    assert {o.kind for o in outcomes} == {"sent"}
    records = received(stack, "telegram")
    assert [(r["to"], r["text"], r["key"]) for r in records] == [
        (str(n), "héllo", f"t-{n}") for n in range(50)]


def test_a_429_hands_its_retry_after_to_the_classifier(stack):
    set_faults(stack, script=[429], retry_after=7)
    outcome = _transport(stack).post(f"{stack.gateway_url}/telegram", {"to": "1", "text": "x"},
                                     "t-429", classify_http)
    assert (outcome.kind, outcome.retry_after) == ("transient", 7.0)
    assert outcome.error.startswith("HTTP 429")


def test_an_answer_later_than_the_timeouts_allow_is_a_transient_failure_in_time(stack):
    set_faults(stack, script=[-1], hang_seconds=10)
    transport = _transport(stack, http_connect_timeout=0.5, http_read_timeout=1.0)
    began = time.monotonic()
    outcome = transport.post(f"{stack.gateway_url}/telegram", {"to": "1", "text": "x"}, "t-hang",
                             classify_http)
    assert time.monotonic() - began < 3
    assert outcome.kind == "transient" and "timed out" in outcome.error, outcome


def test_a_gateway_that_is_down_is_a_transient_failure_that_says_so(stack):
    [port] = free_ports(1)
    outcome = _transport(stack).post(f"http://127.0.0.1:{port}/telegram", {"to": "1", "text": "x"},
                                     "t-down", classify_http)
    assert outcome.kind == "transient"
    assert "no answer" in outcome.error and "curl error 7" in outcome.error, outcome


def test_header_fields_are_those_of_the_final_answer_by_lower_case_name():
    lines = [b"HTTP/1.1 100 Continue\r\n", b"X-Interim: 1\r\n", b"\r\n",
             b"HTTP/1.1 429 Too Many Requests\r\n", b"Retry-After: 3\r\n",
             b"Content-Type: application/json; charset=utf-8\r\n", b"\r\n"]
    assert _headers(lines) == {"retry-after": "3", "content-type": "application/json; charset=utf-8"}
    assert _headers([]) == {}
