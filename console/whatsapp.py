"""`whatsapp ...`: the business account's message templates, which sends outside WhatsApp's window use."""

import click

from console.output import echo_table, emit, json_option, shorten
from console.session import pass_session

HEADERS = ("name", "language", "status", "category", "params", "body")
STATUS_COLOURS = {"APPROVED": "green", "PENDING": "yellow", "REJECTED": "red"}


@click.group()
def whatsapp():
    """WhatsApp: the message templates that go outside its 24-hour window.

    WhatsApp delivers free text only within 24 hours of the person's last
    message to the business; outside it, a send's --whatsapp-template goes
    instead (an APPROVED one, with a param for each {{n}} of its body).

    \b
    Example:
      python cli.py whatsapp templates
    """


@whatsapp.command("templates")
@click.option("--refresh", is_flag=True, help="Sync from WhatsApp now instead of the list kept for a minute.")
@json_option
@pass_session
def templates(session, refresh, as_json):
    """List the business account's message templates and their review status.

    \b
    Example:
      python cli.py whatsapp templates
      python cli.py whatsapp templates --refresh --json
    """
    params = {"refresh": "true"} if refresh else None
    found = session.api.call("GET", "/api/v1/whatsapp/templates", params=params)

    def render(found):
        rows = [[t["name"], t["language"], t["status"], t["category"], t["parameters"], shorten(t["body"], 60)]
                for t in found]
        echo_table(HEADERS, rows, {2: _status_style}, empty="No templates in the WhatsApp business account.")

    emit(found, as_json, render)


def _status_style(status: str) -> str:
    colour = STATUS_COLOURS.get(status.strip())
    return click.style(status, fg=colour) if colour else status
