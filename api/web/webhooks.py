"""The console's Webhooks: the user's webhooks, each one's attempts, and a test event, through /api/v1."""

from flask import g, render_template

from api.errors import ApiError
from api.services import services
from api.web.blueprint import bp
from core.webhooks import EVENTS, webhook_view


@bp.get("/webhooks")
def webhooks():
    """The user's webhooks (at most WEBHOOKS_MAX), oldest first, and the form that makes one."""
    store = services().webhooks
    load = store.load(g.user)
    hooks = [webhook_view(webhook_id, record, load) for webhook_id, record in store.list_for(g.user)]
    return render_template("console/webhooks.html", webhooks=hooks, events=EVENTS)


@bp.get("/webhooks/<webhook_id>")
def webhook(webhook_id):
    """One of the user's webhooks with its latest attempts, newest first; 404 for any other id."""
    store = services().webhooks
    record = store.get(g.user, webhook_id)
    if record is None:
        raise ApiError(404, f"No webhook with id {webhook_id!r}.")
    return render_template("console/webhook.html", webhook=webhook_view(webhook_id, record, store.load(g.user)),
                           attempts=store.attempts(webhook_id))
