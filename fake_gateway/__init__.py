"""A small HTTP server standing in for the Telegram, WhatsApp and Viber gateways."""

from aiohttp import web

from fake_gateway.credentials import Credentials
from fake_gateway.faults import Faults
from fake_gateway.records import Records
from fake_gateway.routes import credentials_key, faults_key, records_key, routes


def create_app(faults=None, credentials=None):
    """Build the gateway app from initial fault settings and accepted credentials (dicts)."""
    app = web.Application()
    app[faults_key] = Faults(faults)
    app[records_key] = Records()
    app[credentials_key] = Credentials(credentials)
    app.add_routes(routes)
    return app
