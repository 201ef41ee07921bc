"""The console's Inbox: what people wrote to the bot, across the user's contacts, newest first."""

import time

from flask import g, render_template

from api.services import services
from api.web.blueprint import bp
from api.web.paging import paged
from core.inbox import message_view

PAGE_SIZE = 50


@bp.get("/inbox")
def inbox():
    """The user's inbox, newest first, a page at a time."""
    store, now = services().inbox, time.time()
    page, found = paged(PAGE_SIZE, store.count_for(g.user, now),
                        lambda first, size: store.newest_for(g.user, first, size, now))
    return render_template("console/inbox.html", texts=[message_view(m, m["contact"]) for m in found], page=page)
