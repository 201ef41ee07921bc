"""`schedules ...`: sends that repeat on a cron expression — add, list, show, remove, pause, resume."""

import click

from console.client import path_of
from console.contacts import complete_contact
from console.messages import parse_only, parse_quiet_hours, whatsapp_template_field, whatsapp_template_options
from console.output import echo_table, emit, json_option, local_time, note, page_hint, page_options, shorten
from console.session import pass_session

HEADERS = ("id", "cron", "time zone", "next run", "runs", "skipped", "to", "text")


@click.group()
def schedules():
    """Schedules: a send that repeats, each run one message.

    A cron expression (minute hour day-of-month month day-of-week) read in a
    time zone says when. A run missed while the service was down is sent on
    start if at most SCHEDULE_GRACE (5 minutes) late, else skipped and counted.

    \b
    Example:
      python cli.py schedules add "Stand-up at 10" --to Artem --cron "55 9 * * MON-FRI" --tz Europe/Moscow
      python cli.py schedules ls
    """


@schedules.command("add")
@click.argument("text")
@click.option("--to", "names", multiple=True, required=True, metavar="NAME", shell_complete=complete_contact,
              help="A contact to send to; repeat for several.")
@click.option("--cron", required=True, metavar="EXPR",
              help="When: cron's five fields, e.g. '0 9 * * MON' (Mondays 09:00).")
@click.option("--tz", "zone", metavar="ZONE",
              help="The IANA time zone the cron expression is read in. Default: the service's.")
@click.option("--only", metavar="MESSENGERS", callback=parse_only,
              help="Only these messengers, comma-separated: telegram,whatsapp,viber.")
@click.option("--fallback", metavar="MESSENGERS", callback=parse_only,
              help="One messenger at a time in this order (comma-separated), the next when one fails.")
@click.option("--template", is_flag=True,
              help="TEXT is a Jinja2 template of name, fields and messenger, rendered per contact.")
@whatsapp_template_options
@click.option("--quiet-hours", metavar="HH:MM-HH:MM", callback=parse_quiet_hours,
              help="Nothing in this window of each contact's day: such deliveries go at its end.")
@json_option
@pass_session
def add(session, text, names, cron, zone, only, fallback, template, whatsapp_template, whatsapp_params,
        quiet_hours, as_json):
    """Make a schedule sending TEXT to contacts at each time CRON names.

    \b
    Examples:
      python cli.py schedules add "Weekly report is out" --to Artem --to Lera --cron "0 9 * * MON"
      python cli.py schedules add "Hi {{ name }}" --template --to Artem --cron "30 8 1 * *" --tz Asia/Tokyo
      python cli.py schedules add "Your weekly digest" --to Artem --cron "0 9 * * MON" \\
        --whatsapp-template weekly_digest:en_US --whatsapp-param Artem
    """
    body = {"to": list(names), "text": text, "cron": cron}
    options = {"timezone": zone, "messengers": only, "fallback": fallback, "template": template or None,
               "quiet_hours": quiet_hours}
    body.update({k: v for k, v in options.items() if v is not None})
    body.update(whatsapp_template_field(whatsapp_template, whatsapp_params))
    made = session.api.call("POST", path_of("schedules"), body=body)

    def render(schedule):
        click.echo(schedule["id"])
        note(f"Made schedule {schedule['id']}: '{schedule['cron']}' in {schedule['timezone']}; "
             f"first run {local_time(schedule['next_run_at'])}.")

    emit(made, as_json, render)


@schedules.command("ls")
@page_options
@json_option
@pass_session
def list_(session, page, page_size, as_json):
    """List your schedules, oldest first.

    \b
    Example:
      python cli.py schedules ls
    """
    items, info = session.api.page(path_of("schedules"), page, page_size)

    def render(items):
        rows = [[s["id"], s["cron"], s["timezone"], _next_run(s), s["runs"], s["skipped_runs"],
                 shorten(", ".join(_names(s)), 24), shorten(s["send"].get("text"))] for s in items]
        echo_table(HEADERS, rows, empty="No schedules. Make one: python cli.py schedules add TEXT --to NAME "
                                        "--cron EXPR")
        page_hint(info, "schedule")

    emit(items, as_json, render)


@schedules.command("show")
@click.argument("schedule_id", metavar="ID")
@json_option
@pass_session
def show(session, schedule_id, as_json):
    """Show schedule ID: when it runs, what it sends, what its runs did.

    \b
    Example:
      python cli.py schedules show sch_3f9c2a1b7d4e6f80a1b2c3d4
    """
    emit(session.api.call("GET", path_of("schedules", schedule_id)), as_json, _echo_schedule)


@schedules.command("rm")
@click.argument("schedule_id", metavar="ID")
@pass_session
def remove(session, schedule_id):
    """Delete schedule ID: no more runs (messages it sent stay).

    \b
    Example:
      python cli.py schedules rm sch_3f9c2a1b7d4e6f80a1b2c3d4
    """
    session.api.call("DELETE", path_of("schedules", schedule_id))
    click.echo(f"Deleted schedule {schedule_id}.")


@schedules.command("pause")
@click.argument("schedule_id", metavar="ID")
@json_option
@pass_session
def pause(session, schedule_id, as_json):
    """Stop the runs of schedule ID until resumed.

    \b
    Example:
      python cli.py schedules pause sch_3f9c2a1b7d4e6f80a1b2c3d4
    """
    _act(session, schedule_id, "pause", as_json, lambda s: f"Paused schedule {s['id']}.")


@schedules.command("resume")
@click.argument("schedule_id", metavar="ID")
@json_option
@pass_session
def resume(session, schedule_id, as_json):
    """Run schedule ID again from its next time; runs missed while paused are not sent.

    \b
    Example:
      python cli.py schedules resume sch_3f9c2a1b7d4e6f80a1b2c3d4
    """
    _act(session, schedule_id, "resume", as_json,
         lambda s: f"Resumed schedule {s['id']}: next run {local_time(s['next_run_at'])}.")


def _act(session, schedule_id, action, as_json, saying) -> None:
    emit(session.api.call("POST", path_of("schedules", schedule_id, action)), as_json,
         lambda schedule: click.echo(saying(schedule)))


def _names(schedule) -> list:
    to = schedule["send"].get("to")
    return [to] if isinstance(to, str) else list(to or [])


def _next_run(schedule) -> str:
    return "paused" if schedule["paused"] else local_time(schedule["next_run_at"])


def _echo_schedule(schedule: dict) -> None:
    send = schedule["send"]
    click.echo(f"Schedule {schedule['id']}  {'paused' if schedule['paused'] else 'active'}")
    click.echo(f"Cron:       {schedule['cron']} in {schedule['timezone']}")
    click.echo(f"Next run:   {_next_run(schedule)}")
    click.echo(f"To:         {', '.join(_names(schedule))}")
    click.echo(f"Text:       {shorten(send.get('text'), 70)}{' (template)' if send.get('template') else ''}")
    click.echo(f"Runs:       {schedule['runs']} sent, {schedule['skipped_runs']} skipped")
    if schedule["last_run_at"]:
        click.echo(f"Last run:   {local_time(schedule['last_run_at'])}, message {schedule['last_message_id']}")
    if schedule["last_skipped_at"]:
        click.echo(f"Skipped:    the run of {local_time(schedule['last_skipped_at'])}, found too late")
    error = schedule["last_error"]
    if error:
        click.echo(f"Last error: {local_time(error['at'])}: {error['status']} {error['message']}")
