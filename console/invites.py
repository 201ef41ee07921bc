"""`contacts invite ...`: links that bind a person's messenger ids to a contact."""

import click

from console.client import path_of
from console.output import emit, json_option, note
from console.session import pass_session


@click.command("invite")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@click.option("--csv", "as_csv", is_flag=True, help="Print the invites as CSV (name, a link per messenger, expiry).")
@json_option
@pass_session
def invite(session, names, as_csv, as_json):
    """Make invite links for contacts and print them.

    Send each person their contact's links. Whoever follows one first (the
    bot's Start in Telegram, the chat in Viber, the prefilled text in
    WhatsApp) has that messenger's id set on the contact. Each link works
    once and expires after INVITE_TTL_DAYS (14).

    \b
    Example:
      python cli.py contacts invite Artem
      python cli.py contacts invite Artem Anna --csv > invites.csv
    """
    if len(names) == 1 and not as_csv:
        found = [session.api.call("POST", path_of("contacts", names[0], "invites"))]
    elif as_csv:
        response = session.api.request("POST", "/api/v1/invites", body={"names": list(names), "format": "csv"})
        click.echo(response.text, nl=False)
        return
    else:
        found = session.api.call("POST", "/api/v1/invites", body={"names": list(names)})
    emit(found, as_json, _show)


def _show(invites):
    for item in invites:
        click.echo(f"{item['name']} (until {item['expires_at']}):")
        for messenger, link in item["links"].items():
            click.echo(f"  {messenger:<9} {link}")
    note("Each link binds once: send each person their own.")
