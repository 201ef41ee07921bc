"""The web console under /app/: pages for people who send, rendered on the server, signed in by a session cookie.

Its pages read through the same stores as /api/v1, and its forms change
things through /api/v1 itself (console.js sends them with the session's
CSRF token), so every rule of the API, its isolation and its rate limits
hold in the console too. Nothing is loaded from anywhere else: the script
and the style sheet are this package's own files.
"""


def init_app(app):
    """Register the console's pages and its static files."""
    from api.web import compose, contacts, failed, inbox, messages, schedules, signin, tokens, webhooks  # noqa: F401
    from api.web.blueprint import bp

    app.register_blueprint(bp)
