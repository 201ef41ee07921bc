"""Prometheus GET /metrics, and for every request one log line and one count."""

import logging
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from api.services import services
from core.logs import log_event
from core.metrics import LATENCY_BUCKETS, RequestTally

bp = Blueprint("metrics", __name__)
log = logging.getLogger("api.requests")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class StoredMetrics:
    """A prometheus_client collector of the counters every process keeps in Redis."""

    def __init__(self, svc):
        self._svc = svc

    def collect(self):
        """The metric families, read from Redis at scrape time."""
        queues = self._svc.config.delivery_queues
        stored = self._svc.metrics.read(queues[None], queues["bulk"])
        requests = CounterMetricFamily("dispatcher_http_requests", "HTTP requests answered.",
                                       labels=["method", "route", "status"])
        for labels, value in sorted(stored["http_requests"].items()):
            requests.add_metric(labels, value)
        yield requests
        deliveries = CounterMetricFamily(
            "dispatcher_deliveries", "Gateway answers to delivery attempts, by what followed.",
            labels=["messenger", "outcome"])
        for labels, value in sorted(stored["deliveries"].items()):
            deliveries.add_metric(labels, value)
        yield deliveries
        yield _latency(stored["delivery_latency"])
        depth = GaugeMetricFamily(
            "dispatcher_queue_depth",
            "Tasks waiting in the broker's queues (main, bulk, webhooks); deliveries not "
            "finished (the schedule); webhook posts not yet done (webhook_posts).",
            labels=["queue"])
        for queue, value in stored["queue_depth"].items():
            depth.add_metric([queue], value)
        yield depth
        memory = stored["redis_memory"]
        yield GaugeMetricFamily("dispatcher_redis_memory_used_bytes",
                                "Memory Redis uses.", value=memory["used"])
        yield GaugeMetricFamily("dispatcher_redis_memory_limit_bytes",
                                "Redis's maxmemory (0: no limit).", value=memory["limit"])


def _latency(stored):
    family = HistogramMetricFamily(
        "dispatcher_delivery_latency_seconds",
        "Deliveries sent: from when each was due (or accepted, if later) to the gateway's "
        "acceptance.", labels=["messenger"])
    for messenger in sorted({labels[0] for labels in stored}):
        buckets, total = [], 0.0
        for bound in (*map(str, LATENCY_BUCKETS), "+Inf"):
            total += stored.get((messenger, bound), 0.0)
            buckets.append((bound, total))
        family.add_metric([messenger], buckets, sum_value=stored.get((messenger, "sum"), 0.0))
    return family


@bp.get("/metrics")
def metrics():
    """The service's metrics in Prometheus' text format."""
    registry = current_app.extensions["metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _start_clock():
    g.started = time.perf_counter()


def _log_and_count(response):
    # Labels from a closed set, so that no client can swell the counters with made-up values.
    route = request.url_rule.rule if request.url_rule else "(unmatched)"
    method = request.method if request.method in METHODS else "(other)"
    ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)
    log_event(log, "request", method=request.method, path=request.path,
              status=response.status_code, ms=ms, user=g.get("user"))
    _request_tally().add(method, route, response.status_code)
    return response


def _request_tally():
    # Made on the first request, in the process that serves it: its client
    # and flushing thread must not be those of a master that forks.
    extensions = current_app.extensions
    if "request_tally" not in extensions:
        svc = services()
        extensions.setdefault("request_tally", RequestTally(svc.redis, svc.keys))
    return extensions["request_tally"]


def init_app(app):
    """Serve /metrics and count and log every request."""
    registry = CollectorRegistry()
    registry.register(StoredMetrics(app.extensions["dispatcher"]))
    app.extensions["metrics"] = registry
    app.before_request(_start_clock)
    app.after_request(_log_and_count)
    app.register_blueprint(bp)
