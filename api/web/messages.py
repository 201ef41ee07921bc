"""The console's Messages: the user's messages newest first, with their deliveries counted by status."""

from collections import Counter

from flask import g, render_template

from api.services import services
from api.v1.views import message_summaries, own_message
from api.web.blueprint import bp
from api.web.paging import paged, requested_page
from core.statuses import CANCELLABLE, FAILED, FINAL, STATUSES

PAGE_SIZE = 20
# A message's deliveries shown at once: a big one's pages load quickly, and only they are kept live.
DELIVERY_PAGE_SIZE = 100


@bp.get("/messages")
def messages():
    """The user's messages, newest first, a page at a time."""
    store = services().deliveries
    page, ids = paged(PAGE_SIZE, store.message_count_for(g.user),
                      lambda first, size: store.message_ids_for(g.user, first, size))
    return render_template("console/messages.html", messages=message_summaries(services(), ids), page=page)


@bp.get("/messages/<message_id>")
def message(message_id):
    """One message: its text, times, deliveries counted by status and a page of them; message.js keeps it live."""
    shown = own_message(services(), g.user, message_id)
    deliveries = shown["deliveries"]
    page = requested_page(DELIVERY_PAGE_SIZE).counted(len(deliveries))
    counts = Counter(d["status"] for d in deliveries)
    return render_template(
        "console/message.html", message=shown, page=page, deliveries=deliveries[page.first:page.first + page.size],
        counts={s: counts[s] for s in STATUSES if counts[s]}, finished=sum(counts[s] for s in FINAL),
        statuses=STATUSES, final=FINAL, cancellable=CANCELLABLE, can_cancel=any(counts[s] for s in CANCELLABLE),
        failed=counts[FAILED])
