"""`tokens ...`: your own API tokens — list, create, revoke."""

import click

from console.client import path_of
from console.output import echo_table, emit, json_option, local_time, note
from console.session import pass_session

HEADERS = ("id", "label", "created", "expires")


@click.group()
def tokens():
    """Your API tokens: list, create or revoke them.

    \b
    Example:
      python cli.py tokens create --label laptop --expires-in-days 90
      python cli.py tokens ls
    """


@tokens.command("ls")
@json_option
@pass_session
def list_(session, as_json):
    """List your tokens: ids, labels and expiry, never the tokens.

    \b
    Example:
      python cli.py tokens ls
    """
    def render(items):
        rows = [[t.get("id"), t.get("label"), local_time(t.get("created_at")),
                 local_time(t.get("expires_at")) if t.get("expires_at") else "never"] for t in items]
        echo_table(HEADERS, rows, empty="No tokens.")

    emit(session.api.call("GET", path_of("tokens")), as_json, render)


@tokens.command("create")
@click.option("--label", default="", help="A name to know the token by.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None,
              help="Days until the token stops working. Default: never.")
@json_option
@pass_session
def create(session, label, expires_in_days, as_json):
    """Make a new token and print it: it is shown only this once.

    \b
    Example:
      python cli.py tokens create --label ci --expires-in-days 30
    """
    issued = session.api.call("POST", path_of("tokens"),
                              body={"label": label, "expires_in_days": expires_in_days})

    def render(token):
        click.echo(token["token"])
        until = f", valid until {local_time(token['expires_at'])}" if token.get("expires_at") else ""
        note(f"Made token {token['id']}{until}. Keep it: it is not shown again.")

    emit(issued, as_json, render)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
@pass_session
def revoke(session, token_id):
    """Revoke your token ID: requests with it are refused from now on.

    \b
    Example:
      python cli.py tokens revoke 3f9c2a1b7d4e6f80
    """
    session.api.call("DELETE", path_of("tokens", token_id))
    click.echo(f"Revoked token {token_id}.")
