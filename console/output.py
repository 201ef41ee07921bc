"""How results are shown: aligned tables and local times for people, JSON for scripts."""

import json
from datetime import datetime

import click
import wcwidth

from core import statuses

STATUS_COLOURS = {
    statuses.SENT: "green",
    statuses.DELIVERED: "green",
    statuses.READ: "green",
    statuses.FAILED: "red",
    statuses.SUPPRESSED: "magenta",
    statuses.NOT_NEEDED: "bright_black",
    statuses.CANCELLED: "yellow",
    statuses.RETRYING: "yellow",
    statuses.SENDING: "cyan",
    statuses.QUEUED: "cyan",
    statuses.AWAITING_CONTACT: "blue",
    statuses.SCHEDULED: "blue",
    statuses.STANDBY: "blue",
    # A message's summary, beside its deliveries' statuses (core/views.py).
    "partial": "yellow",
}
NONE = "-"

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the server's JSON instead of a table (for scripts)."
)


def emit(data, as_json: bool, render) -> None:
    """Print data as JSON for scripts (--json), else render(data) for people."""
    if as_json:
        echo_json(data)
    else:
        render(data)


def echo_json(data) -> None:
    """Print data as indented JSON, keys in the server's order."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def note(text: str) -> None:
    """A hint for the person at the terminal, on stderr so piped stdout stays clean."""
    click.echo(text, err=True)


def status_style(status: str) -> str:
    """A delivery or message status, coloured (click drops colour when not on a terminal)."""
    colour = STATUS_COLOURS.get(status.strip())
    return click.style(status, fg=colour) if colour else status


def table(headers, rows, styles=None) -> str:
    """Rows as left-aligned columns under upper-case headers; styles[i] colours column i's cells.

    Widths are terminal columns, not characters: an emoji or a CJK character
    takes two, a combining accent none.
    """
    styles = styles or {}
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(_columns(str(h)), *(_columns(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [_line([str(h).upper() for h in headers], widths, {})]
    lines += [_line(row, widths, styles) for row in cells]
    return "\n".join(lines)


def echo_table(headers, rows, styles=None, empty="Nothing to show.") -> None:
    """Print a table, or a plain note when there are no rows."""
    if rows:
        click.echo(table(headers, rows, styles))
    else:
        note(empty)


def local_time(value) -> str:
    """An ISO 8601 instant from the server, as local 'YYYY-MM-DD HH:MM:SS' ('-' when absent)."""
    if not value:
        return NONE
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _columns(text: str) -> int:
    """How many terminal columns text takes."""
    return wcwidth.width(text)


def shorten(text, width=40) -> str:
    """One line of at most width terminal columns, with an ellipsis when cut."""
    line = " ".join(str(text or "").split())
    if _columns(line) <= width:
        return line
    kept, used = [], 0
    # Whole graphemes only: an accent or a joined emoji is never cut in two.
    for grapheme in wcwidth.iter_graphemes(line):
        used += _columns(grapheme)
        if used > width - 1:
            break
        kept.append(grapheme)
    return "".join(kept) + "…"


def plural(count: int, word: str, many: str = "") -> str:
    """'1 contact', '2 contacts' ('2 deliveries' with many='deliveries')."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def page_hint(info: dict, noun: str) -> None:
    """Say which page this was and how to get the next one, when there is more."""
    if info.get("next_page"):
        note(
            f"Page {info.get('page')} of {info.get('total_pages')} "
            f"({plural(info.get('total', 0), noun)}); next: --page {info['next_page']}"
        )


def _cell(value) -> str:
    text = NONE if value is None or value == "" else str(value)
    return " ".join(text.split())


def _line(cells, widths, styles) -> str:
    padded = []
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        # Pad before styling: colour codes must not count towards the width.
        text = cell + " " * (width - _columns(cell)) if i < len(cells) - 1 else cell
        padded.append(styles[i](text) if i in styles else text)
    return "  ".join(padded).rstrip()


def page_options(command):
    """--page and --page-size for a listing command."""
    command = click.option("--page-size", type=click.IntRange(min=1), default=20, show_default=True,
                           help="How many per page.")(command)
    return click.option("--page", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Which page (newest first).")(command)
