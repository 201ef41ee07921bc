"""Operations: Prometheus /metrics fed by every process, a log line per request, the API docs."""

import json
import logging
import time

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from apiclient import call, v1, wallclock
from core.keys import Keys
from core.metrics import RequestTally
from helpers import wait_until


def scrape(stack):
    """The samples of GET /metrics: {(name, sorted label items): value}."""
    reply = requests.get(stack.api_url + "/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def token(stack, user_token):
    token = user_token("alice")
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "t", "viber": "v"})
    return token


def test_requests_are_counted_by_method_route_and_status_across_api_workers(stack, token):
    for _ in range(10):
        assert v1(stack, token, "GET", "/me").status_code == 200
    for _ in range(3):
        assert v1(stack, token, "GET", "/messages/nope").status_code == 404
    v1(stack, "bad", "GET", "/me")
    expected = {("GET", "/api/v1/me", "200"): 10, ("GET", "/api/v1/messages/<message:message_id>", "404"): 3,
                ("GET", "/api/v1/me", "401"): 1, ("POST", "/api/v1/contacts", "201"): 1}

    def counted():
        samples = scrape(stack)
        return {labels: sample(samples, "dispatcher_http_requests_total", method=labels[0],
                               route=labels[1], status=labels[2]) or 0 for labels in expected}

    # Each API process adds its counts to Redis once a second.
    wait_until(lambda: sum(counted().values()) >= sum(expected.values()), timeout=5,
               message="requests counted")
    assert counted() == expected


def test_deliveries_are_counted_by_messenger_and_outcome_with_their_latency(stack, token):
    v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "x"})
    wait_until(lambda: v1(stack, token, "GET", "/failed").json(), timeout=30, message="viber failed")
    deliveries = "dispatcher_deliveries_total"
    # Workers add their counts to Redis once a second.
    samples = wait_until(
        lambda: (s := scrape(stack)) and sample(s, deliveries, messenger="viber", outcome="failed") and s,
        timeout=5, message="failure counted")
    retries = stack.config.max_attempts - 1
    assert sample(samples, deliveries, messenger="telegram", outcome="sent") == 1
    assert sample(samples, deliveries, messenger="viber", outcome="retrying") == retries
    assert sample(samples, deliveries, messenger="viber", outcome="failed") == 1
    latency = "dispatcher_delivery_latency_seconds"
    assert sample(samples, latency + "_count", messenger="telegram") == 1
    # Only deliveries sent have a latency: Viber's attempts all failed.
    assert sample(samples, latency + "_count", messenger="viber") is None
    # Sent on receipt: well within a second of its due time.
    assert sample(samples, latency + "_bucket", messenger="telegram", le="1.0") == 1
    assert 0 <= sample(samples, latency + "_sum", messenger="telegram") < 1


def test_queue_depth_shows_the_broker_queue_and_the_schedule(stack, token):
    v1(stack, token, "POST", "/messages",
       {"to": "Artem", "text": "later", "not_before": wallclock(time.time() + 3600)})
    stack.stop("worker")
    v1(stack, token, "POST", "/messages", {"to": "Artem", "text": "now", "messengers": ["telegram"]})
    samples = scrape(stack)
    # Every unfinished delivery: the two due in an hour and the one queued now.
    assert sample(samples, "dispatcher_queue_depth", queue="schedule") == 3
    assert sample(samples, "dispatcher_queue_depth", queue="broker") == 1


def test_metrics_show_redis_memory_and_readyz_warns_when_nearly_full(stack, token):
    samples = scrape(stack)
    used = sample(samples, "dispatcher_redis_memory_used_bytes")
    assert used > 100_000
    assert sample(samples, "dispatcher_redis_memory_limit_bytes") == 0
    client = redis.Redis.from_url(stack.config.redis_url)
    try:
        client.config_set("maxmemory", int(used / 0.95))
        ready = call(stack, "GET", "/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["redis"].startswith("degraded: memory 9")
        client.config_set("maxmemory", int(used * 4))
        assert call(stack, "GET", "/readyz").json()["status"] == "ok"
    finally:
        client.config_set("maxmemory", 0)


def test_each_request_is_one_json_log_line(stack, token):
    v1(stack, token, "GET", "/messages/some-id")
    log = stack.config.data_path / "logs" / "api.log"

    def logged():
        for line in log.read_text().splitlines():
            if line.startswith("{") and '"/api/v1/messages/some-id"' in line:
                return json.loads(line)
        return None

    entry = wait_until(logged, timeout=5, message="request logged")
    assert entry["event"] == "request"
    assert (entry["method"], entry["status"], entry["user"]) == ("GET", 404, "alice")
    assert isinstance(entry["ms"], float) and entry["ms"] >= 0


def test_health_and_readiness(stack):
    assert call(stack, "GET", "/healthz").json() == {"status": "ok"}
    assert call(stack, "GET", "/readyz").json() == {
        "status": "ok", "checks": {"mongo": "ok", "redis": "ok"}}


def test_openapi_document_describes_v1_with_bearer_auth(stack):
    spec = call(stack, "GET", "/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"][
            "bearerAuth"]["description"]}
    assert spec["security"] == [{"bearerAuth": []}]
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
                  if method != "parameters"}
    assert operations == {
        ("GET", "/api/v1/me"), ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{token_id}"), ("POST", "/api/v1/contacts/import"),
        ("GET", "/api/v1/contacts"), ("POST", "/api/v1/contacts"),
        ("GET", "/api/v1/contacts/{name}"), ("PUT", "/api/v1/contacts/{name}"),
        ("DELETE", "/api/v1/contacts/{name}"), ("POST", "/api/v1/contacts/{name}/unblock"),
        ("GET", "/api/v1/messages"),
        ("POST", "/api/v1/messages"), ("POST", "/api/v1/messages/preview"),
        ("GET", "/api/v1/messages/{message_id}"),
        ("GET", "/api/v1/schedules"), ("POST", "/api/v1/schedules"),
        ("GET", "/api/v1/schedules/{schedule_id}"), ("DELETE", "/api/v1/schedules/{schedule_id}"),
        ("POST", "/api/v1/schedules/{schedule_id}/pause"), ("POST", "/api/v1/schedules/{schedule_id}/resume"),
        ("POST", "/api/v1/messages/{message_id}/cancel"), ("GET", "/api/v1/failed"),
        ("POST", "/api/v1/failed/retry"), ("POST", "/api/v1/failed/{delivery_id}/retry"),
        ("DELETE", "/api/v1/failed/{delivery_id}"),
        ("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks"), ("GET", "/api/v1/webhooks/{webhook_id}"),
        ("DELETE", "/api/v1/webhooks/{webhook_id}"), ("POST", "/api/v1/webhooks/{webhook_id}/test"),
        ("GET", "/api/v1/webhooks/{webhook_id}/attempts"),
        ("POST", "/api/v1/contacts/{name}/invites"), ("POST", "/api/v1/invites"),
        ("GET", "/api/v1/contacts/{name}/inbox"), ("GET", "/api/v1/inbox"),
        ("GET", "/api/v1/whatsapp/templates"),
    }


def test_docs_page_is_served_with_its_assets(stack):
    page = call(stack, "GET", "/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/api/openapi.json" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"/api/docs/assets/{asset}" in page.text
        served = requests.get(f"{stack.api_url}/api/docs/assets/{asset}", timeout=10)
        assert served.status_code == 200 and len(served.content) > 10_000


def test_errors_outside_the_routes_have_the_one_shape(stack):
    missing = call(stack, "GET", "/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "status", "message"}
    wrong = call(stack, "PATCH", "/api/v1/me")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == 405 and "GET" in wrong.headers["Allow"]


def test_counts_made_while_redis_is_away_are_kept_and_the_outage_logged_once(make_stack, caplog):
    caplog.set_level(logging.INFO, logger="core.metrics")
    own = make_stack(["redis"])
    client = redis.Redis.from_url(own.config.redis_url, socket_timeout=1)
    keys = Keys(own.config.redis_prefix)
    tally = RequestTally(client, keys, interval=3600)
    own.stop("redis")
    for _ in range(3):
        tally.add("GET", "/healthz", 200)
        tally.flush()
    own.start("redis")
    tally.flush()
    events = [r.getMessage() for r in caplog.records if r.name == "core.metrics"]
    assert events == ["metrics.unavailable", "metrics.restored"]
    assert client.hget(keys.metrics("http_requests"), "GET|/healthz|200") == b"3"
