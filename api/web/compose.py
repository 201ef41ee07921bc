"""The console's Compose page: recipients, messengers, text or template, time; compose.js previews and sends."""

from flask import render_template

from api.services import services
from api.web.blueprint import bp
from core.config import MESSENGERS
from core.sending.request import FALLBACK_WITHIN


@bp.get("/compose")
def compose():
    """The compose form, knowing how many contacts one send may name.

    Nothing of the book is read here (counting a big one takes seconds): the
    picker pages through it (GET /api/v1/contacts), and the confirmation
    counts what the send makes.
    """
    return render_template("console/compose.html", messengers=MESSENGERS,
                           max_recipients=services().config.max_recipients, fallback_within=FALLBACK_WITHIN)
