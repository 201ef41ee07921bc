"""`inbox`: the texts people sent the bot, as a table, or followed as they come."""

import time

import click

from console.client import path_of
from console.output import echo_json, echo_table, emit, json_option, local_time, shorten
from console.session import pass_session

HEADERS = ("received", "contact", "messenger", "from", "text")
FOLLOW_EVERY = 1.0
LIMIT = 1000


@click.command()
@click.argument("name", required=False)
@click.option("--since", metavar="ISO", help="Only texts received after this instant (ISO 8601).")
@click.option("--follow", is_flag=True, help="Keep watching and print texts as they come (Ctrl-C ends).")
@json_option
@pass_session
def inbox(session, name, since, follow, as_json):
    """Show what people sent the bot: to all your contacts, or to NAME alone.

    \b
    Example:
      python cli.py inbox
      python cli.py inbox Artem
      python cli.py inbox --follow
    """
    if name and not (since or follow):
        found = session.api.call("GET", path_of("contacts", name, "inbox"))
        emit([{**m, "contact": name} for m in reversed(found)], as_json, _table)
        return
    found = _since(session, since)
    emit([m for m in found if not name or m["contact"] == name], as_json, _table)
    while follow:
        if found:
            since = found[-1]["received_at"]
        time.sleep(FOLLOW_EVERY)
        found = _since(session, since)
        for message in found:
            if not name or message["contact"] == name:
                (echo_json if as_json else _line)(message)


def _since(session, since):
    params = {"limit": LIMIT, **({"since": since} if since else {})}
    return session.api.call("GET", "/api/v1/inbox", params=params)


def _row(message):
    return [local_time(message["received_at"]), message.get("contact", ""), message["messenger"], message["from"],
            shorten(message["text"], 60)]


def _table(messages):
    echo_table(HEADERS, [_row(m) for m in messages], empty="No texts.")


def _line(message):
    click.echo("  ".join(str(cell) for cell in _row(message)))
