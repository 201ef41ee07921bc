"""`contacts ...`: the contact book, one contact at a time or as a CSV/JSON file."""

import contextlib
import io
import json
import shlex
import sys

import click

from console import bookfile
from console.client import ApiError, field_errors, path_of
from console.contact_profile import echo_profile, edited_profile, parse_fields, profile_options
from console.follow import on_terminal
from console.output import echo_table, emit, json_option, note, plural
from console.session import Session, pass_session
from core.config import MESSENGERS

HEADERS = ("name", *MESSENGERS)
PAGE_SIZE = 1000
COMPLETIONS = 100
# An import's body this big or bigger shows its upload as a progress bar (on a terminal).
PROGRESS_FROM = 256 * 1024
# How long the server may take to write each contact of an import, beyond --timeout.
SECONDS_PER_CONTACT = 0.002


def complete_contact(ctx, param, incomplete):
    """Shell completion for contact names, asked of the server (nothing when it cannot answer)."""
    session = Session(**{**ctx.find_root().params, "timeout": 2})
    try:
        found, _ = session.api.page(path_of("contacts"), 1, COMPLETIONS, q=incomplete)
        return [contact["name"] for contact in found]
    except (click.ClickException, KeyError, TypeError):
        return []


def every_contact(session):
    """The whole book, in the order added, fetched a page at a time as it is used."""
    return session.api.every(path_of("contacts"), PAGE_SIZE)


def messenger_options(required_hint):
    """--telegram, --whatsapp and --viber, each taking that messenger's ID."""
    def decorate(command):
        for messenger in reversed(MESSENGERS):
            help_text = f"{messenger.title()} ID. {required_hint}"
            command = click.option(f"--{messenger}", metavar="ID", help=help_text)(command)
        return command
    return decorate


@click.group()
def contacts():
    """Your contact book: who gets messages, on which messengers.

    \b
    Example:
      python cli.py contacts add Artem --telegram ArtemZaitsev --whatsapp +799200828615
      python cli.py contacts ls
    """


@contacts.command("add")
@click.argument("name")
@messenger_options("Leave out the messengers the contact does not use.")
@profile_options
@pass_session
def add(session, name, telegram, whatsapp, viber, tz, field_args):
    """Add a contact NAME with an ID per messenger, and its time zone and fields.

    \b
    Example:
      python cli.py contacts add Artem --telegram ArtemZaitsev --viber +799200828615
      python cli.py contacts add Aki --telegram aki --tz Asia/Tokyo --field code=A1
    """
    ids = {"telegram": telegram or "", "whatsapp": whatsapp or "", "viber": viber or ""}
    profile = edited_profile({}, tz, parse_fields(field_args))
    try:
        session.api.call("POST", path_of("contacts"), body={"name": name, **ids, **profile})
    except ApiError as exc:
        if exc.status == 409:
            hint = f"python cli.py contacts edit {shlex.quote(name)} --telegram ID"
            exc.message += f"\nTo change its IDs: {hint}"
        raise
    click.echo(f"Added {name!r} ({_on(ids)}).")


@contacts.command("edit")
@click.argument("name", shell_complete=complete_contact)
@messenger_options("An empty value (\"\") removes it.")
@profile_options
@pass_session
def edit(session, name, telegram, whatsapp, viber, tz, field_args):
    """Change the messenger IDs, time zone or fields of contact NAME.

    What is not given stays as it is.

    \b
    Example:
      python cli.py contacts edit Artem --viber +799200828615 --whatsapp ""
      python cli.py contacts edit Aki --tz Europe/Helsinki --field code=B2 --field old=
    """
    changes = {m: v for m, v in zip(MESSENGERS, (telegram, whatsapp, viber), strict=True) if v is not None}
    field_changes = parse_fields(field_args)
    if not changes and tz is None and not field_changes:
        raise click.UsageError("Nothing to change: give --telegram, --whatsapp, --viber, --tz or --field.")
    current = session.api.call("GET", path_of("contacts", name))
    ids = {m: current.get(m) or "" for m in MESSENGERS} | changes
    body = {**ids, **edited_profile(current, tz, field_changes)}
    session.api.call("PUT", path_of("contacts", name), body=body)
    click.echo(f"Updated {name!r} ({_on(ids)}).")


@contacts.command("rm")
@click.argument("name", shell_complete=complete_contact)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_session
def remove(session, name, yes):
    """Remove contact NAME (asks first unless --yes).

    \b
    Example:
      python cli.py contacts rm Artem --yes
    """
    if not yes:
        click.confirm(f"Remove contact {name!r}?", abort=True)
    session.api.call("DELETE", path_of("contacts", name))
    click.echo(f"Removed {name!r}.")


@contacts.command("ls")
@json_option
@pass_session
def list_(session, as_json):
    """List your contacts and their messenger IDs.

    \b
    Example:
      python cli.py contacts ls --json
    """
    emit(list(every_contact(session)), as_json, lambda book: echo_table(
        HEADERS, [[c.get(h) for h in HEADERS] for c in book], empty="No contacts yet."))


@contacts.command("show")
@click.argument("name", shell_complete=complete_contact)
@json_option
@pass_session
def show(session, name, as_json):
    """Show the contact NAME.

    \b
    Example:
      python cli.py contacts show Artem
    """
    emit(session.api.call("GET", path_of("contacts", name)), as_json, _echo_contact)


@contacts.command("unblock")
@click.argument("name", shell_complete=complete_contact)
@click.option("--messenger", "messengers", multiple=True, type=click.Choice(MESSENGERS),
              help="Only this messenger (repeatable). Default: all.")
@click.option("--force", is_flag=True,
              help="Also where the person opted out (/stop, STOP, unsubscribed); refused otherwise.")
@pass_session
def unblock(session, name, messengers, force):
    """Send to contact NAME again where its ID refused your messages (blocked the bot, unsubscribed).

    Deliveries to a blocked ID end `suppressed` without being sent. Where
    the person opted out, they lift it by coming back (/start, START); an
    unblock there needs --force.

    \b
    Example:
      python cli.py contacts unblock Artem --messenger telegram
    """
    body = {"messengers": list(messengers)} if messengers else {}
    if force:
        body["force"] = True
    contact = session.api.call("POST", path_of("contacts", name) + "/unblock", body=body)
    still = contact.get("blocked") or []
    click.echo(f"Unblocked {name!r}" + (f"; still blocked on {', '.join(still)}." if still else "."))


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(bookfile.FORMATS),
              help="The file's format. Default: from its extension (.csv or .json).")
@click.option("--replace", is_flag=True,
              help="Make the book the file: also remove the contacts it does not hold.")
@pass_session
def import_(session, file, fmt, replace):
    """Add or replace the contacts in a CSV or JSON FILE, in one request.

    FILE "-" reads stdin. Contacts of the same name are replaced. The file
    is checked in full, here and by the server, before anything is written.
    CSV has a header line name,telegram,whatsapp,viber, and may have a
    timezone column and a field.KEY column per field; JSON is a list of
    objects with those keys, fields as an object "fields" (what `contacts
    export` writes). A contact without a time zone or fields gets none.

    \b
    Example:
      python cli.py contacts import book.csv
      python cli.py contacts import --replace book.json
    """
    try:
        with click.open_file(file, encoding="utf-8-sig") as source:
            located = bookfile.located(source.read(), bookfile.format_for(file, fmt))
    except OSError as exc:
        raise click.ClickException(f"Cannot read {click.format_filename(file)}: {exc.strerror}.") from None
    except bookfile.BookError as exc:
        raise click.ClickException(f"{click.format_filename(file)}: {exc}") from None
    book = [contact for _, contact in located]
    body = json.dumps(book, ensure_ascii=False).encode()
    try:
        with _upload(body, on_terminal() and len(body) >= PROGRESS_FROM) as data:
            done = session.api.call(
                "POST", path_of("contacts", "import"), data=data,
                params={"mode": "replace" if replace else "merge"},
                headers={"Content-Type": "application/json"},
                timeout=session.api.timeout + len(book) * SECONDS_PER_CONTACT)
    except ApiError as exc:
        raise _in_file_terms(exc, file, [where for where, _ in located]) from None
    removed = f", {done['removed']} removed" if replace else ""
    click.echo(f"Imported {plural(len(book), 'contact')}: {done['added']} new, "
               f"{done['replaced']} replaced{removed}.")


@contacts.command("export")
@click.argument("file", required=False, default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(bookfile.FORMATS),
              help="The file's format. Default: from FILE's extension; JSON on stdout.")
@pass_session
def export(session, file, fmt):
    """Write the contact book to FILE, or to stdout.

    The file is what `contacts import` reads. In CSV, a cell that starts
    with =, +, -, @, a tab or a carriage return (+7999..., =HYPERLINK(...))
    gets a quote before it, so that a spreadsheet shows it as text and runs
    no formula; `contacts import` takes the quote off again.

    \b
    Example:
      python cli.py contacts export book.csv
      python cli.py contacts export --format csv > book.csv
    """
    try:
        fmt = bookfile.format_for(file, fmt)
    except bookfile.BookError as exc:
        raise click.UsageError(str(exc)) from None
    # A file appears only once the whole book is in it.
    with click.open_file(file, "w", encoding="utf-8", atomic=file != "-") as out:
        count = bookfile.write(out, every_contact(session), fmt)
    if file != "-":
        note(f"Exported {plural(count, 'contact')} to {click.format_filename(file)}.")


def _in_file_terms(exc: ApiError, file, wheres) -> ApiError:
    """The server's refusal of rows ("item 3" of what was sent) told by where they are in the file."""
    rows = ((exc.body or {}).get("errors") or {}).get("json") if exc.status == 422 else None
    if not isinstance(rows, dict):
        return exc
    items = {f"item {n}": where for n, where in enumerate(wheres, 1)}
    lines = field_errors({items.get(item, item): problems for item, problems in rows.items()})
    return ApiError("\n".join([f"{click.format_filename(file)}: {plural(len(rows), 'bad row')}, "
                               "nothing imported:", *(f"  {line}" for line in lines)]),
                    status=exc.status, body=exc.body)


class _Upload(io.BytesIO):
    """A request body that moves a progress bar as it is sent."""

    def __init__(self, data, bar):
        super().__init__(data)
        self._bar = bar
        self._sent = False

    def read(self, size=-1):
        """The next piece of the body; the bar moves by its length."""
        piece = super().read(size)
        self._bar.update(len(piece))
        if not piece and not self._sent:
            self._sent = True
            self._bar.render_finish()
            note("Uploaded; the server is writing the contacts.")
        return piece


@contextlib.contextmanager
def _upload(body: bytes, progress: bool):
    """The body to send: as is, or one that shows its upload on a progress bar."""
    if not progress:
        yield body
        return
    with click.progressbar(length=len(body), label="Uploading", file=sys.stderr,
                           show_eta=False, update_min_steps=0) as bar:
        yield _Upload(body, bar)


def _echo_contact(contact: dict) -> None:
    for field in HEADERS:
        click.echo(f"{field + ':':<10}{contact.get(field) or '-'}")
    echo_profile(contact)
    click.echo(f"{'blocked:':<10}{', '.join(contact.get('blocked') or []) or '-'}")


def _on(ids) -> str:
    used = [m for m in MESSENGERS if ids.get(m)]
    return "on " + ", ".join(used) if used else "no messengers"
