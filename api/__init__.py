"""The Flask API: the original endpoints, /api/v1 with its docs, receipts, health probes and metrics."""

from flask import Flask

from core.config import Config
from core.logs import setup_logging

# On every answer: never read as another type than it says, never shown in
# another site's frame. nginx adds the same to its own error answers.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Content-Security-Policy": "frame-ancestors 'none'"}


def create_app(config: Config | None = None) -> Flask:
    """Build the API app from settings (from the environment by default)."""
    from api import bodies, limits, metrics, v1, web
    from api.errors import register_error_handlers
    from api.health import bp as health_bp
    from api.inbound import bp as inbound_bp
    from api.legacy.routes import bp as legacy_bp
    from api.receipts import bp as receipts_bp
    from core.services import Services

    config = config or Config.from_env()
    setup_logging(config.log_level)
    app = Flask(__name__)
    bodies.init_app(app, config)
    app.json.sort_keys = False
    # It records sends: core/services.py says what that changes.
    app.extensions["dispatcher"] = Services(config, records_sends=True)
    register_error_handlers(app)
    metrics.init_app(app)
    limits.init_app(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(legacy_bp)
    app.register_blueprint(receipts_bp)
    app.register_blueprint(inbound_bp)
    v1.init_app(app)
    web.init_app(app)
    app.after_request(_add_security_headers)
    return app


def _add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
