"""Liveness and readiness probes."""

from flask import Blueprint

from api.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """MongoDB and Redis both answer."""
    svc = services()
    checks = {}
    for name, probe in (("mongo", lambda: svc.mongo.command("ping")),
                        ("redis", svc.redis.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
