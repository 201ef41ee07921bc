"""`failed ...`: deliveries that could not be made — list, send again, dismiss."""

import click

from console.client import path_of
from console.output import echo_table, emit, json_option, local_time, page_hint, page_options, plural, shorten
from console.session import pass_session

HEADERS = ("delivery", "failed at", "contact", "messenger", "attempts", "error", "message")


@click.group()
def failed():
    """Failed deliveries: list, retry or dismiss them.

    A delivery fails for good when the messenger refuses it, or still fails
    after every retry.

    \b
    Example:
      python cli.py failed ls
      python cli.py failed retry --all
    """


@failed.command("ls")
@page_options
@json_option
@pass_session
def list_(session, page, page_size, as_json):
    """List your failed deliveries, newest first, with the last error.

    \b
    Example:
      python cli.py failed ls --json
    """
    items, info = session.api.page(path_of("failed"), page, page_size)

    def render(items):
        rows = [[f.get("delivery_id"), local_time(f.get("failed_at")), f.get("contact"),
                 f.get("messenger"), f.get("attempts"), shorten(f.get("error"), 50),
                 shorten(f.get("message"), 30)] for f in items]
        echo_table(HEADERS, rows, empty="No failed deliveries.")
        page_hint(info, "failed delivery")

    emit(items, as_json, render)


@failed.command("retry")
@click.argument("delivery_id", metavar="ID", required=False)
@click.option("--all", "every", is_flag=True, help="Retry every failed delivery of yours.")
@json_option
@pass_session
def retry(session, delivery_id, every, as_json):
    """Send the failed delivery ID again (or all of them with --all).

    A retried delivery leaves the failed list; if it fails again it comes back.

    \b
    Example:
      python cli.py failed retry DELIVERY_ID
      python cli.py failed retry --all
    """
    if bool(delivery_id) == every:
        raise click.UsageError("Give a delivery ID or --all (not both).")
    path = path_of("failed", "retry") if every else path_of("failed", delivery_id, "retry")
    emit(session.api.call("POST", path), as_json, _say_retried)


@failed.command("rm")
@click.argument("delivery_id", metavar="ID")
@pass_session
def remove(session, delivery_id):
    """Dismiss the failed delivery ID.

    It leaves the list and is not sent again.

    \b
    Example:
      python cli.py failed rm DELIVERY_ID
    """
    session.api.call("DELETE", path_of("failed", delivery_id))
    click.echo(f"Dismissed failed delivery {delivery_id}.")


def _say_retried(reply: dict) -> None:
    retried = reply.get("retried") or []
    if retried:
        click.echo(f"Retrying {plural(len(retried), 'delivery', 'deliveries')}: {', '.join(retried)}.")
    else:
        click.echo("Nothing to retry.")
