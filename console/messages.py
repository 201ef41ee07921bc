"""`send` and `messages ...`: sending, following and cancelling messages."""

import sys
from datetime import datetime

import click

from console import follow as following
from console.client import ApiError, path_of
from console.contacts import complete_contact
from console.output import (
    echo_json,
    echo_table,
    emit,
    json_option,
    local_time,
    note,
    page_hint,
    page_options,
    plural,
    shorten,
    status_style,
)
from console.session import pass_session
from console.when import When, describe
from core import statuses
from core.config import MESSENGERS
from core.timing import parse_time_of_day

DELIVERY_HEADERS = ("contact", "messenger", "status", "attempts", "last error")
SENT = (statuses.SENT, statuses.DELIVERED, statuses.READ)
LIST_HEADERS = ("id", "created", "not before", "status", "deliveries", "text")
PREVIEW_HEADERS = ("contact", "messenger", "due", "text")


def parse_wall_time(ctx, param, value):
    """--local-time 2030-01-31T09:00: a wall time with no offset, as the API takes it."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("not a date and time as 2030-01-31T09:00.") from None
    if moment.tzinfo is not None:
        raise click.BadParameter("give no UTC offset: it is each contact's own wall time.")
    return value


def parse_quiet_hours(ctx, param, value):
    """--quiet-hours 22:00-08:00 → ["22:00", "08:00"]."""
    if value is None:
        return None
    start, dash, end = value.partition("-")
    try:
        if not dash:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM.")
        parse_time_of_day(start.strip()), parse_time_of_day(end.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return [start.strip(), end.strip()]


def parse_whatsapp_template(ctx, param, value):
    """--whatsapp-template order_update:en_US → ("order_update", "en_US")."""
    if value is None:
        return None
    name, colon, language = value.rpartition(":")
    if not colon or not name or not language:
        raise click.BadParameter("give NAME:LANGUAGE, as order_update:en_US "
                                 "(python cli.py whatsapp templates lists them).")
    return name, language


def whatsapp_template_options(command):
    """--whatsapp-template NAME:LANGUAGE and --whatsapp-param TEXT (repeated), for send and schedules add."""
    command = click.option(
        "--whatsapp-param", "whatsapp_params", metavar="TEXT", multiple=True,
        help="With --whatsapp-template: the text for its next {{n}}; repeat in order. With "
             "--template, a template too.")(command)
    return click.option(
        "--whatsapp-template", metavar="NAME:LANGUAGE", callback=parse_whatsapp_template,
        help="The approved WhatsApp template that goes instead of TEXT outside WhatsApp's 24-hour "
             "window (real messengers): order_update:en_US.")(command)


def whatsapp_template_field(template, params) -> dict:
    """The send body's whatsapp_template from those two options ({} without one)."""
    if params and not template:
        raise click.UsageError("--whatsapp-param needs --whatsapp-template.")
    if not template:
        return {}
    name, language = template
    return {"whatsapp_template": {"name": name, "language": language, "params": list(params)}}


def parse_only(ctx, param, value):
    """--only telegram,whatsapp → ['telegram', 'whatsapp'], refusing unknown messengers."""
    if value is None:
        return None
    chosen = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [m for m in chosen if m not in MESSENGERS]
    if unknown or not chosen:
        named = f"unknown messenger {', '.join(unknown)}" if unknown else "no messenger named"
        raise click.BadParameter(f"{named}; choose from {','.join(MESSENGERS)}.")
    return list(dict.fromkeys(chosen))


@click.command()
@click.argument("text")
@click.option("--to", "names", multiple=True, required=True, metavar="NAME", shell_complete=complete_contact,
              help="A contact to send to; repeat for several.")
@click.option("--at", "when", type=When(), metavar="WHEN",
              help="Not before then: ISO 8601 (2030-01-31T14:00+01:00; no offset means local time), "
                   "HH:MM local time (tomorrow if that time has passed today), or +30s, +10m, +1h30m.")
@click.option("--only", metavar="MESSENGERS", callback=parse_only,
              help="Only these messengers, comma-separated: telegram,whatsapp,viber.")
@click.option("--fallback", metavar="MESSENGERS", callback=parse_only,
              help="Instead of every messenger at once, one at a time in this order (comma-separated), "
                   "the next when one fails; the first success ends it.")
@click.option("--fallback-after", type=click.Choice(["sent", "delivered"]),
              help="With --fallback: what counts as success (default sent; delivered waits for the "
                   "messenger's receipt).")
@click.option("--fallback-within", metavar="SECONDS", type=click.FloatRange(min=1),
              help="With --fallback-after delivered: how long a sent step waits for its receipt "
                   "(default 300).")
@click.option("--template", is_flag=True,
              help="TEXT is a Jinja2 template of name, fields and messenger, rendered per contact: "
                   "'Hi {{ fields.first_name }}, your code is {{ fields.code }}'.")
@whatsapp_template_options
@click.option("--local-time", "wall_time", metavar="WALLTIME", callback=parse_wall_time,
              help="Instead of --at: at this wall time in each contact's own time zone "
                   "(2030-01-31T09:00, no offset).")
@click.option("--quiet-hours", metavar="HH:MM-HH:MM", callback=parse_quiet_hours,
              help="Nothing in this window of each contact's day (22:00-08:00): such deliveries go at "
                   "its end.")
@click.option("--preview", is_flag=True,
              help="Only show each delivery's text and due time; send nothing.")
@click.option("--wait", is_flag=True,
              help="Follow the deliveries until each is sent, failed or cancelled; exit 1 if any failed.")
@click.option("--wait-timeout", metavar="SECONDS", type=click.FloatRange(min=0), default=600,
              show_default=True,
              help="With --wait, give up this long after the send time.")
@click.option("--idempotency-key", metavar="KEY",
              help="Sending again with the same key returns the first message instead of sending twice.")
@json_option
@pass_session
def send(session, text, names, when, only, fallback, fallback_after, fallback_within, template,
         whatsapp_template, whatsapp_params, wall_time, quiet_hours, preview, wait, wait_timeout,
         idempotency_key, as_json):
    """Send TEXT to contacts, now or later.

    TEXT "-" reads the text from stdin. Each contact gets it on every messenger they have an ID for (or those
    chosen with --only).

    \b
    Examples:
      python cli.py send "Hello there" --to Artem --to Lera
      python cli.py send "Stand-up!" --to Artem --at 09:55 --only telegram
      python cli.py send "Deploy done" --to Artem --at +5s --wait
      python cli.py send "Your code: 1234" --to Artem --fallback whatsapp,viber,telegram
      python cli.py send "Hi {{ name }}" --template --to Artem --local-time 2030-01-31T09:00 --quiet-hours 22:00-08:00
      python cli.py send "Order A-1 is on its way" --to Artem --whatsapp-template order_update:en_US \\
        --whatsapp-param Artem --whatsapp-param A-1
    """
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    body = {"to": list(names), "text": text}
    if when is not None:
        body["not_before"] = when.isoformat()
    if only:
        body["messengers"] = only
    options = {"fallback": fallback, "fallback_after": fallback_after, "fallback_within": fallback_within,
               "template": template or None, "local_time": wall_time, "quiet_hours": quiet_hours}
    body.update({k: v for k, v in options.items() if v is not None})
    body.update(whatsapp_template_field(whatsapp_template, whatsapp_params))
    if preview:
        emit(session.api.call("POST", path_of("messages", "preview"), body=body), as_json, _echo_preview)
        return
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    message = session.api.call("POST", path_of("messages"), body=body, headers=headers)
    if not as_json:
        _say_sent(message, when, wall_time)
    if wait:
        message = following.follow(session.api, message, wait_timeout, following.on_terminal())
        if not as_json:
            echo_deliveries(message)
    if as_json:
        echo_json(message)
    if wait:
        fail_if_any_failed(message)


@click.group()
def messages():
    """Your messages: how their deliveries stand; cancel.

    Each message has one delivery per (contact, messenger); what has not
    started yet can be cancelled.

    \b
    Example:
      python cli.py messages ls
      python cli.py messages show MESSAGE_ID
    """


@messages.command("ls")
@page_options
@json_option
@pass_session
def list_(session, page, page_size, as_json):
    """List your messages, newest first.

    \b
    Example:
      python cli.py messages ls --page 2
    """
    items, info = session.api.page(path_of("messages"), page, page_size)

    def render(items):
        rows = [[m.get("id"), local_time(m.get("created_at")), local_time(m.get("not_before")),
                 m.get("status"), following.summary(m.get("counts") or {}), shorten(m.get("text"))]
                for m in items]
        echo_table(LIST_HEADERS, rows, styles={3: status_style}, empty="No messages.")
        page_hint(info, "message")

    emit(items, as_json, render)


@messages.command("show")
@click.argument("message_id", metavar="ID")
@json_option
@pass_session
def show(session, message_id, as_json):
    """Show message ID and its deliveries.

    A table of deliveries gives each one's status, attempts, when it is due
    (local_time and quiet hours make that each contact's own) and last
    error, and for a template the text each one got.

    \b
    Example:
      python cli.py messages show MESSAGE_ID
    """
    emit(session.api.call("GET", path_of("messages", message_id)), as_json, _echo_message)


@messages.command("cancel")
@click.argument("message_id", metavar="ID")
@json_option
@pass_session
def cancel(session, message_id, as_json):
    """Cancel the deliveries of message ID that have not started yet.

    Exits 1 when nothing could be cancelled (every delivery had started).

    \b
    Example:
      python cli.py messages cancel MESSAGE_ID
    """
    reply = session.api.call("POST", path_of("messages", message_id, "cancel"))
    cancelled = reply.get("cancelled") or []
    deliveries = (reply.get("message") or {}).get("deliveries") or []
    started = [d for d in deliveries if d.get("id") not in set(cancelled)]
    if as_json:
        echo_json(reply)
    elif cancelled:
        click.echo(f"Cancelled {plural(len(cancelled), 'delivery', 'deliveries')} of message {message_id}.")
        if started:
            note(f"Already started, so not cancelled: {following.summary(following.counts(started))}.")
    if not cancelled:
        raise ApiError(
            f"Nothing to cancel: every delivery of message {message_id} had already started "
            f"({following.summary(following.counts(deliveries))})."
        )


def _echo_message(message: dict) -> None:
    click.echo(f"Message {message.get('id')}  {status_style(message.get('status') or '-')}")
    click.echo(f"Text:       {shorten(message.get('text'), 70)}")
    click.echo(f"Not before: {local_time(message.get('not_before'))}")
    if message.get("local_time"):
        click.echo(f"Local time: {message['local_time'].replace('T', ' ')} in each contact's zone")
    click.echo(f"Created:    {local_time(message.get('created_at'))}")
    if message.get("schedule_id"):
        click.echo(f"Schedule:   {message['schedule_id']}")
    click.echo()
    echo_deliveries(message, each_own=True)


def echo_deliveries(message: dict, each_own: bool = False) -> None:
    """Print the table of a message's deliveries; each_own adds when each is due, and its text if rendered."""
    deliveries = message.get("deliveries", [])
    headers = list(DELIVERY_HEADERS)
    rows = [[d.get("contact"), d.get("messenger"), d.get("status"), d.get("attempts"),
             shorten(d.get("last_error"), 60)] for d in deliveries]
    if each_own:
        headers.insert(4, "due")
        for row, delivery in zip(rows, deliveries, strict=True):
            row.insert(4, local_time(delivery.get("due_at")))
        if message.get("template"):
            headers.append("text")
            for row, delivery in zip(rows, deliveries, strict=True):
                row.append(shorten(delivery.get("text"), 40))
    echo_table(headers, rows, styles={2: status_style}, empty="No deliveries.")


def fail_if_any_failed(message: dict) -> None:
    """Exit 1, naming what failed, when any delivery of the message failed (in a chain: every step)."""
    deliveries = message.get("deliveries", [])
    # A failed step of a chain that reached its contact another way is no failure.
    reached = {d.get("contact") for d in deliveries if d.get("step") and d.get("status") in SENT}
    failed = [d for d in deliveries if d.get("status") == "failed" and d.get("contact") not in reached]
    if failed:
        names = ", ".join(f"{d.get('contact')} on {d.get('messenger')}" for d in failed)
        raise ApiError(f"{len(failed)} of {len(deliveries)} deliveries failed: {names}. "
                       "See them with: python cli.py failed ls")


def _echo_preview(preview: dict) -> None:
    rows = [[d.get("contact"), d.get("messenger"), local_time(d.get("due_at")), shorten(d.get("text"), 60)]
            for d in preview.get("deliveries", [])]
    echo_table(PREVIEW_HEADERS, rows, empty="No deliveries: none of these contacts has an ID for them.")


def _say_sent(message: dict, when, wall_time=None) -> None:
    deliveries = message.get("deliveries", [])
    by_contact = {}
    for d in deliveries:
        by_contact.setdefault(d.get("contact"), []).append(d.get("messenger"))
    # A fallback chain's messengers are tried one after another.
    joint = ", then " if any(d.get("step") for d in deliveries) else ", "
    to = "; ".join(f"{name} ({joint.join(ms)})" for name, ms in by_contact.items())
    click.echo(f"Message {message.get('id')}: {plural(len(deliveries), 'delivery', 'deliveries')} to {to}.")
    if wall_time is not None:
        click.echo(f"Sends at {wall_time.replace('T', ' ')} in each contact's time zone.")
    else:
        click.echo(f"Sends at {describe(when)}." if when is not None else "Sending now.")
    if message.get("quiet_hours"):
        click.echo(f"Not between {' and '.join(message['quiet_hours'])} of a contact's day.")
