"""The console's Failed page: deliveries that failed for good, newest first; send them again or dismiss them."""

from flask import g, render_template

from api.services import services
from api.web.blueprint import bp
from api.web.paging import paged
from core.messages import message_id_of

PAGE_SIZE = 20


@bp.get("/failed")
def failed():
    """The user's failed deliveries, newest first, a page at a time, each with its message's id."""
    store = services().failed
    page, records = paged(PAGE_SIZE, store.count_for(g.user), lambda first, size: store.list_for(g.user, first, size))
    return render_template("console/failed.html", page=page,
                           records=[{**r, "message_id": message_id_of(r["delivery_id"])} for r in records])
