"""A small HTTP server standing in for the Telegram, WhatsApp and Viber gateways."""

from aiohttp import web

from fake_gateway.faults import Faults
from fake_gateway.records import Records
from fake_gateway.routes import faults_key, records_key, routes


def create_app(faults=None):
    """Build the gateway app, starting from the given fault settings (a dict)."""
    app = web.Application()
    app[faults_key] = Faults(faults)
    app[records_key] = Records()
    app.add_routes(routes)
    return app
