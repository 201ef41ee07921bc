"""`contacts ...`: the contact book, one contact at a time or as a CSV/JSON file."""

import shlex

import click

from console import bookfile
from console.client import ApiError, path_of
from console.output import echo_table, emit, json_option, note, plural
from console.session import Session, pass_session
from core.config import MESSENGERS

HEADERS = ("name", *MESSENGERS)


def complete_contact(ctx, param, incomplete):
    """Shell completion for contact names, asked of the server (nothing when it cannot answer)."""
    session = Session(**{**ctx.find_root().params, "timeout": 2})
    try:
        names = [contact["name"] for contact in session.api.call("GET", path_of("contacts"))]
    except (click.ClickException, KeyError, TypeError):
        return []
    return [name for name in names if name.startswith(incomplete)]


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
@pass_session
def add(session, name, telegram, whatsapp, viber):
    """Add a contact NAME with an ID per messenger.

    \b
    Example:
      python cli.py contacts add Artem --telegram ArtemZaitsev --viber +799200828615
    """
    ids = {"telegram": telegram or "", "whatsapp": whatsapp or "", "viber": viber or ""}
    try:
        session.api.call("POST", path_of("contacts"), body={"name": name, **ids})
    except ApiError as exc:
        if exc.status == 409:
            hint = f"python cli.py contacts edit {shlex.quote(name)} --telegram ID"
            exc.message += f"\nTo change its IDs: {hint}"
        raise
    click.echo(f"Added {name!r} ({_on(ids)}).")


@contacts.command("edit")
@click.argument("name", shell_complete=complete_contact)
@messenger_options("An empty value (\"\") removes it.")
@pass_session
def edit(session, name, telegram, whatsapp, viber):
    """Change the messenger IDs of contact NAME.

    IDs not given stay as they are.

    \b
    Example:
      python cli.py contacts edit Artem --viber +799200828615 --whatsapp ""
    """
    changes = {m: v for m, v in zip(MESSENGERS, (telegram, whatsapp, viber)) if v is not None}
    if not changes:
        raise click.UsageError("Nothing to change: give --telegram, --whatsapp or --viber.")
    current = session.api.call("GET", path_of("contacts", name))
    ids = {m: current.get(m) or "" for m in MESSENGERS} | changes
    session.api.call("PUT", path_of("contacts", name), body=ids)
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
    emit(session.api.call("GET", path_of("contacts")), as_json, lambda book: echo_table(
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


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(bookfile.FORMATS),
              help="The file's format. Default: from its extension (.csv or .json).")
@pass_session
def import_(session, file, fmt):
    """Add or replace the contacts in a CSV or JSON FILE.

    FILE "-" reads stdin. Contacts of the same name are replaced. The file
    is checked in full before anything is written. CSV has a header line
    name,telegram,whatsapp,viber; JSON is a list of objects with those keys
    (what `contacts export` writes).

    \b
    Example:
      python cli.py contacts import book.csv
    """
    try:
        with click.open_file(file, encoding="utf-8-sig") as source:
            book = bookfile.load(source.read(), bookfile.format_for(file, fmt))
    except OSError as exc:
        raise click.ClickException(f"Cannot read {click.format_filename(file)}: {exc.strerror}.") from None
    except bookfile.BookError as exc:
        raise click.ClickException(f"{click.format_filename(file)}: {exc}") from None
    existing = {c["name"] for c in session.api.call("GET", path_of("contacts"))}
    for done, contact in enumerate(book):
        ids = {m: contact[m] for m in MESSENGERS}
        try:
            session.api.call("PUT", path_of("contacts", contact["name"]), body=ids)
        except ApiError as exc:
            before = plural(done, "contact")
            exc.message = f"{contact['name']!r} was refused ({before} imported before it): {exc.message}"
            raise
    replaced = sum(1 for contact in book if contact["name"] in existing)
    click.echo(f"Imported {plural(len(book), 'contact')}: {len(book) - replaced} new, {replaced} replaced.")


@contacts.command("export")
@click.argument("file", required=False, default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(bookfile.FORMATS),
              help="The file's format. Default: from FILE's extension; JSON on stdout.")
@pass_session
def export(session, file, fmt):
    """Write the contact book to FILE, or to stdout.

    The file is what `contacts import` reads.

    \b
    Example:
      python cli.py contacts export book.csv
      python cli.py contacts export --format csv > book.csv
    """
    try:
        fmt = bookfile.format_for(file, fmt)
    except bookfile.BookError as exc:
        raise click.UsageError(str(exc)) from None
    book = session.api.call("GET", path_of("contacts"))
    with click.open_file(file, "w", encoding="utf-8") as out:
        out.write(bookfile.dump(book, fmt))
    if file != "-":
        note(f"Exported {plural(len(book), 'contact')} to {click.format_filename(file)}.")


def _echo_contact(contact: dict) -> None:
    for field in HEADERS:
        click.echo(f"{field + ':':<10}{contact.get(field) or '-'}")


def _on(ids) -> str:
    used = [m for m in MESSENGERS if ids.get(m)]
    return "on " + ", ".join(used) if used else "no messengers"
