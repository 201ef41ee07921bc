"""The proxy in front of the API: nginx's own errors in the API's JSON shape, requests passed on as sent."""

from http import HTTPStatus

import requests

from apiclient import call


def assert_api_error(reply, code, legacy):
    """reply is an error in api/errors.py's shape, with the original API's success: false where it applies."""
    assert reply.status_code == code
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert list(body)[:1] == (["success"] if legacy else ["code"])
    assert body.pop("success", None) is (False if legacy else None)
    assert body["code"] == code
    assert body["status"] == HTTPStatus(code).phrase
    assert body["message"]


def test_a_body_over_the_limit_gets_a_json_413(stack):
    too_big = b"x" * (stack.config.max_body_bytes + 1)
    for path, legacy in (("/api/contacts", True), ("/api/v1/contacts", False)):
        reply = requests.post(stack.api_url + path, data=too_big, timeout=10,
                              headers={"Content-Type": "application/json"})
        assert_api_error(reply, 413, legacy)


def test_the_api_down_gets_a_json_502_and_its_return_is_served(stack):
    stack.stop("api")
    assert_api_error(call(stack, "GET", "/api/contacts", {"user_name": "test"}), 502, legacy=True)
    assert_api_error(requests.get(stack.api_url + "/api/v1/me", timeout=10), 502, legacy=False)
    stack.start("api")
    assert call(stack, "GET", "/api/contacts", {"user_name": "test"}).json() == {"contacts": {}}


def test_the_apis_own_errors_pass_through_untouched(stack):
    reply = requests.get(stack.api_url + "/api/v1/me", timeout=10)
    direct = requests.get(f"http://127.0.0.1:{stack.api_backend_port}/api/v1/me", timeout=10)
    assert reply.status_code == direct.status_code == 401
    assert reply.content == direct.content
