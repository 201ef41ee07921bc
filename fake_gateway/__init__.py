"""A small HTTP server standing in for the Telegram, WhatsApp and Viber gateways."""

from aiohttp import web

from fake_gateway import bot_api, simulator, simulator_telegram
from fake_gateway.bots import TelegramBot, ViberBot
from fake_gateway.credentials import Credentials
from fake_gateway.faults import Faults
from fake_gateway.limits import Limits
from fake_gateway.people import People
from fake_gateway.receipts import ReceiptSender
from fake_gateway.records import Records
from fake_gateway.routes import (
    credentials_key,
    faults_key,
    limits_key,
    people_key,
    receipts_key,
    records_key,
    routes,
    telegram_bot_key,
    templates_key,
    viber_bot_key,
)
from fake_gateway.templates import Templates


def create_app(faults=None, credentials=None, receipts_url=""):
    """Build the gateway app from initial faults and credentials (dicts) and its receipts' URL."""
    app = web.Application()
    app[faults_key] = Faults(faults)
    app[records_key] = Records()
    app[limits_key] = Limits()
    app[credentials_key] = Credentials(credentials)
    app[receipts_key] = ReceiptSender(receipts_url, app[records_key], app[credentials_key])
    app[people_key] = People()
    app[templates_key] = Templates()
    app[telegram_bot_key] = TelegramBot()
    app[viber_bot_key] = ViberBot()
    app.on_cleanup.append(app[receipts_key].close)
    for table in (routes, bot_api.routes, simulator.routes, simulator_telegram.routes):
        app.add_routes(table)
    return app
