"""The console's Schedules: the user's recurring sends, made, paused, resumed and deleted through /api/v1."""

from flask import g, render_template

from api.services import services
from api.v1.schedules import schedule_view
from api.web.blueprint import bp
from api.web.paging import paged
from core.config import MESSENGERS
from core.contacts import TIME_ZONES
from core.recurring import SCHEDULES_MAX

# A user's schedules all fit on one page: there are at most SCHEDULES_MAX.
PAGE_SIZE = SCHEDULES_MAX


@bp.get("/schedules")
def schedules():
    """The user's schedules, oldest first, and the form that makes one."""
    store = services().schedules
    page, records = paged(PAGE_SIZE, store.count_for(g.user), lambda first, size: store.list_for(g.user, first, size))
    return render_template("console/schedules.html", schedules=[schedule_view(r) for r in records], page=page,
                           time_zones=TIME_ZONES, default_zone=services().config.timezone, messengers=MESSENGERS)
