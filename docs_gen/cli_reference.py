"""The CLI reference: every command of `python cli.py`, with the very help click prints for it."""

import click

from console.app import PROG_NAME, main

# The width click wraps help to here, whatever terminal builds the site.
WIDTH = 100


def commands(command=main, path=(), parent=None):
    """(path, context) of the root command and every visible command below it, in click's order."""
    name = path[-1] if path else PROG_NAME
    ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                        **command.context_settings)
    yield path, ctx
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            child = command.get_command(ctx, sub)
            if not child.hidden:
                yield from commands(child, (*path, sub), ctx)


def render() -> str:
    """Markdown: a heading per command (deeper commands, deeper headings), then its --help in full."""
    parts = []
    for path, ctx in commands():
        if path:
            level = "#" * min(len(path) + 1, 6)
            parts.append(f"{level} {' '.join(path)}\n")
        parts.append(f"```text\n{ctx.get_help()}\n```\n")
    return "\n".join(parts)
