"""Liveness and readiness probes."""

from flask import Blueprint

from api.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


# Redis above this share of its maxmemory is near refusing writes.
MEMORY_WARNING = 0.9


@bp.get("/readyz")
def readyz():
    """MongoDB and Redis both answer; degraded (still ready) when Redis is nearly full."""
    svc = services()
    checks = {}
    for name, probe in (("mongo", lambda: svc.mongo.command("ping") and "ok"),
                        ("redis", lambda: _redis_memory(svc.metrics.memory()))):
        try:
            checks[name] = probe()
        except Exception as exc:  # any failure means not ready; say which
            checks[name] = f"unavailable: {type(exc).__name__}"
    if any(v.startswith("unavailable") for v in checks.values()):
        return {"status": "unavailable", "checks": checks}, 503
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return {"status": status, "checks": checks}, 200


def _redis_memory(memory):
    used, limit = memory
    if limit and used > MEMORY_WARNING * limit:
        return f"degraded: memory {used / limit:.0%} of maxmemory"
    return "ok"
