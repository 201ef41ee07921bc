"""The proxy in front of the API: nginx's own errors in the API's JSON shape, requests passed on as sent,
the operations endpoints behind a setting, every answer with the security headers.

tests/test_proxy_errors.py sends it malformed requests.
"""

from http import HTTPStatus
from pathlib import Path

import requests

from api import SECURITY_HEADERS
from apiclient import call
from test_compose import load_yaml

ROOT = Path(__file__).resolve().parent.parent


def assert_api_error(reply, code, legacy):
    """reply is an error in api/errors.py's shape, with the original API's success: false where it applies."""
    assert reply.status_code == code
    assert reply.headers["Content-Type"] == "application/json"
    assert {name: reply.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
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


def test_readyz_and_metrics_pass_the_proxy_only_when_set_and_healthz_always(make_stack):
    stack = make_stack(("redis", "mongo", "api"), public_ops_endpoints=False)
    backend = f"http://127.0.0.1:{stack.api_backend_port}"
    assert requests.get(stack.api_url + "/healthz", timeout=10).json() == {"status": "ok"}
    for path in ("/readyz", "/metrics", "/metrics?name=x", "//metrics", "/readyz/../metrics", "/%72eadyz"):
        reply = requests.get(stack.api_url + path, timeout=10)
        assert_api_error(reply, 404, legacy=False)
        assert "dispatcher_" not in reply.text
    # Probes and Prometheus reach the API itself.
    assert requests.get(backend + "/readyz", timeout=10).json()["status"] == "ok"
    assert "dispatcher_http_requests_total" in requests.get(backend + "/metrics", timeout=10).text


def test_the_local_stack_passes_readyz_and_metrics_on_and_compose_does_not(stack):
    # `make run` listens on loopback only; compose publishes its port.
    assert stack.config.public_ops_endpoints
    assert requests.get(stack.api_url + "/readyz", timeout=10).status_code == 200
    assert requests.get(stack.api_url + "/metrics", timeout=10).status_code == 200
    compose = load_yaml((ROOT / "docker-compose.yml").read_text())
    proxy_env = compose["services"]["proxy"]["environment"]
    assert proxy_env["PUBLIC_OPS_ENDPOINTS"] == "${PUBLIC_OPS_ENDPOINTS:-false}"


def test_every_answer_carries_the_security_headers_and_the_docs_page_still_works(stack):
    backend = f"http://127.0.0.1:{stack.api_backend_port}"
    for reply in (requests.get(stack.api_url + "/healthz", timeout=10),
                  requests.get(stack.api_url + "/api/v1/me", timeout=10),
                  requests.get(stack.api_url + "/nowhere", timeout=10),
                  requests.get(backend + "/api/openapi.json", timeout=10),
                  requests.get(stack.api_url + "/%00", timeout=10),
                  requests.request("TRACE", stack.api_url + "/", timeout=10)):
        assert {name: reply.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, reply.url
    # The docs page loads its script and styles from this origin, which
    # frame-ancestors leaves alone; only framing it elsewhere is refused.
    page = requests.get(stack.api_url + "/api/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    asset = requests.get(stack.api_url + "/api/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and asset.headers["X-Content-Type-Options"] == "nosniff"
    assert "javascript" in asset.headers["Content-Type"]
