"""`webhooks ...`: signed posts of your delivery and message events — add, list, remove, test."""

import click

from console.client import path_of
from console.output import echo_table, emit, json_option, local_time, note, shorten
from console.session import pass_session
from core.webhooks import EVENTS

HEADERS = ("id", "url", "events", "created", "pending", "dropped")
ATTEMPT_HEADERS = ("at", "event", "type", "attempt", "status", "ms", "outcome", "next attempt", "error")


@click.group()
def webhooks():
    """Webhooks: URLs that get your delivery and message events, signed.

    \b
    Example:
      python cli.py webhooks add https://example.com/hooks --event delivery.failed
      python cli.py webhooks test WEBHOOK_ID
    """


@webhooks.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS),
              help="An event to post (repeat for several). Default: all of them.")
@json_option
@pass_session
def add(session, url, events, as_json):
    """Make a webhook posting to URL; prints its id and signing secret, shown only this once.

    \b
    Example:
      python cli.py webhooks add https://example.com/hooks --event delivery.sent --event delivery.failed
    """
    body = {"url": url, **({"events": list(events)} if events else {})}
    made = session.api.call("POST", path_of("webhooks"), body=body)

    def render(webhook):
        click.echo(f"{webhook['id']}\n{webhook['secret']}")
        note(f"Made webhook {webhook['id']} for {', '.join(webhook['events'])}. "
             "Keep the secret (second line): it is not shown again.")

    emit(made, as_json, render)


@webhooks.command("ls")
@json_option
@pass_session
def list_(session, as_json):
    """List your webhooks: ids, URLs, events, posts pending and events dropped past the caps; never the secrets.

    \b
    Example:
      python cli.py webhooks ls
    """
    def render(items):
        rows = [[w.get("id"), shorten(w.get("url"), 60), ", ".join(w.get("events", [])),
                 local_time(w.get("created_at")), f"{w.get('pending_posts', 0):,}", f"{w.get('dropped_events', 0):,}"]
                for w in items]
        echo_table(HEADERS, rows, empty="No webhooks. Make one: python cli.py webhooks add URL")

    emit(session.api.call("GET", path_of("webhooks")), as_json, render)


@webhooks.command("rm")
@click.argument("webhook_id", metavar="ID")
@pass_session
def remove(session, webhook_id):
    """Delete your webhook ID: nothing more is posted to it.

    \b
    Example:
      python cli.py webhooks rm wh_3f9c2a1b7d4e6f80a1b2c3d4
    """
    session.api.call("DELETE", path_of("webhooks", webhook_id))
    click.echo(f"Deleted webhook {webhook_id}.")


@webhooks.command("test")
@click.argument("webhook_id", metavar="ID")
@pass_session
def test(session, webhook_id):
    """Post a webhook.test event to your webhook ID; `webhooks attempts ID` shows how it went.

    \b
    Example:
      python cli.py webhooks test wh_3f9c2a1b7d4e6f80a1b2c3d4
    """
    queued = session.api.call("POST", path_of("webhooks", webhook_id, "test"))
    click.echo(queued["event_id"])
    note(f"Queued. See how it went: python cli.py webhooks attempts {webhook_id}")


@webhooks.command("attempts")
@click.argument("webhook_id", metavar="ID")
@json_option
@pass_session
def attempts(session, webhook_id, as_json):
    """List the latest attempts at posting to your webhook ID, newest first.

    \b
    Example:
      python cli.py webhooks attempts wh_3f9c2a1b7d4e6f80a1b2c3d4
    """
    def render(items):
        rows = [[local_time(a.get("at")), a.get("event_id"), a.get("type"), a.get("attempt"), a.get("status"),
                 a.get("duration_ms"), a.get("outcome"), local_time(a.get("next_attempt_at")),
                 shorten(a.get("error"), 50)] for a in items]
        echo_table(ATTEMPT_HEADERS, rows, empty="No attempts yet.")

    emit(session.api.call("GET", path_of("webhooks", webhook_id, "attempts")), as_json, render)
