"""A contact's time zone and fields on the command line: --tz, --field and `contacts show`."""

import click

# Wide enough for the longest label `contacts show` prints.
LABEL = 10


def profile_options(command):
    """--tz and --field KEY=VALUE (repeatable): the contact's time zone and fields."""
    command = click.option("--field", "field_args", multiple=True, metavar="KEY=VALUE",
                           help="A field a template reads as fields.KEY (repeatable). "
                                "An empty VALUE removes it.")(command)
    return click.option("--tz", metavar="ZONE",
                        help="The contact's IANA time zone, e.g. Europe/Helsinki. "
                             "Default: the service's TIMEZONE; \"\" goes back to it.")(command)


def parse_fields(field_args) -> dict:
    """--field KEY=VALUE arguments as {KEY: VALUE} (an empty VALUE kept, meaning "remove")."""
    parsed = {}
    for arg in field_args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise click.BadParameter(f"{arg!r} is not KEY=VALUE.", param_hint="--field")
        parsed[key] = value
    return parsed


def edited_profile(current: dict, tz, changes: dict) -> dict:
    """The time zone and fields of a contact (as the API shows it) once --tz and --field are applied."""
    # A PUT replaces the whole contact: what is not changed is sent as it is.
    fields = {key: value for key, value in ((current.get("fields") or {}) | changes).items() if value}
    return {"timezone": current.get("timezone") if tz is None else tz or None, "fields": fields}


def echo_profile(contact: dict) -> None:
    """Print a contact's time zone and fields, one field a line, under `contacts show`'s labels."""
    zone = contact.get("timezone") or "- (the service's TIMEZONE)"
    fields = [f"{key}={value}" for key, value in (contact.get("fields") or {}).items()] or ["-"]
    labels = ["timezone:", "fields:", *[""] * (len(fields) - 1)]
    for label, value in zip(labels, [zone, *fields], strict=True):
        click.echo(f"{label:<{LABEL}}{value}")
