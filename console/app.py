"""The root command: connection options, login, shell completion, and the command groups."""

from pathlib import Path

import click
from click.shell_completion import get_completion_class

from console.admin import admin
from console.client import DEFAULT_TIMEOUT, ApiClient
from console.contacts import contacts
from console.failed import failed
from console.inbox import inbox
from console.invites import invite
from console.messages import messages, send
from console.schedules import schedules
from console.session import Session, pass_session
from console.tokens import tokens
from console.webhooks import webhooks
from console.whatsapp import whatsapp

PROG_NAME = "python cli.py"
COMMAND_NAME = "dispatcher"
COMPLETE_VAR = "_DISPATCHER_COMPLETE"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.option("--server", metavar="URL", envvar="DISPATCHER_URL", show_envvar=True,
              help="The API's address. Default: the one saved by login, else http://127.0.0.1:8080.")
@click.option("--token", metavar="TOKEN", envvar="DISPATCHER_TOKEN", show_envvar=True,
              help="Your API token. Default: the one saved by login.")
@click.option("--config", "config_path", metavar="PATH", envvar="DISPATCHER_CONFIG", show_envvar=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The file login saves to. Default: $XDG_CONFIG_HOME/dispatcher/config.json "
                   "(~/.config/dispatcher/config.json).")
@click.option("--timeout", metavar="SECONDS", envvar="DISPATCHER_TIMEOUT", show_envvar=True,
              type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT, show_default=True,
              help="How long to wait for the server on each request.")
@click.pass_context
def main(ctx, server, token, config_path, timeout):
    """Send messages to people's Telegram, WhatsApp and Viber, and follow them.

    Options before the command say where the server is and who you are; an
    option beats its environment variable, which beats what `login` saved.
    Exit codes: 0 success, 1 the server refused a request or a delivery
    failed, 2 a usage error.

    \b
    Quick start:
      python cli.py --server http://127.0.0.1:8080 --token TOKEN login
      python cli.py contacts add Artem --telegram ArtemZaitsev
      python cli.py send "Hello there" --to Artem --at +5s --wait
    """
    ctx.obj = Session(server=server, token=token, config_path=config_path, timeout=timeout)


@main.command()
@pass_session
def login(session):
    """Check the server and token, then save them.

    The next runs use them without --server or --token. The file is
    readable by you only (mode 0600). Asks for the token when neither
    --token nor DISPATCHER_TOKEN gives one.

    \b
    Example:
      python cli.py --server http://127.0.0.1:8080 --token TOKEN login
    """
    if not session.token:
        session.token = click.prompt("Token", hide_input=True).strip()
    user = whoami_on(session.api)
    session.save_login(session.server, session.token)
    click.echo(f"Logged in to {session.server} as {user}. Saved in {session.config_path}.")


@main.command()
@pass_session
def logout(session):
    """Forget the token that login saved.

    The server keeps the token valid until an admin revokes it.

    \b
    Example:
      python cli.py logout
    """
    if not session.saved.get("token"):
        click.echo(f"No saved token in {session.config_path}.")
        return
    session.forget_token()
    click.echo(f"Forgot the token saved in {session.config_path}.")


@main.command()
@pass_session
def whoami(session):
    """Say which server and user the commands act on.

    \b
    Example:
      python cli.py whoami
    """
    click.echo(f"{whoami_on(session.api)} at {session.server}")


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]), default="bash")
def completion(shell):
    """Print the shell completion script.

    The script completes the `dispatcher` command, so completion needs the
    CLI on your PATH under that name (see docs/guides/command-line.md, "Shell completion");
    then load the script from your shell's rc file.

    \b
    Example:
      eval "$(python cli.py completion bash)"     # in ~/.bashrc
    """
    script = get_completion_class(shell)(main, {}, COMMAND_NAME, COMPLETE_VAR)
    click.echo(script.source())


def whoami_on(api: ApiClient) -> str:
    """The name of the user the API client's token acts as."""
    return api.call("GET", "/api/v1/me")["user"]


contacts.add_command(invite)
for command in (contacts, send, messages, schedules, failed, inbox, whatsapp, tokens, webhooks, admin):
    main.add_command(command)


def run():
    """Run the CLI (the entry point of cli.py)."""
    main(prog_name=PROG_NAME, complete_var=COMPLETE_VAR)
