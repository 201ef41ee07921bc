"""The console's Tokens: the user's API tokens (never the tokens themselves), made and revoked through /api/v1."""

import time

from flask import g, render_template

from api.services import services
from api.web.blueprint import bp
from core.timeutil import epoch_to_iso


@bp.get("/tokens")
def tokens():
    """The user's tokens (at most TOKENS_MAX), oldest first, marking the one this session signed in with."""
    return render_template("console/tokens.html", tokens=services().users.list_tokens(g.user),
                           session_token=g.console_session.token_id, now=epoch_to_iso(time.time()))
