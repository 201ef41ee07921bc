"""`admin ...`: users and their tokens, straight in MongoDB, and the bots' webhooks (run it where the
service's settings are)."""

import click

from console.output import echo_table, emit, json_option, note
from console.session import service_settings


@click.group()
def admin():
    """Create users and manage their tokens and console passwords.

    Talks to MongoDB, not to the API: it reads MONGO_URL and MONGO_DB like
    the service does, so run it where the service's settings are. Needs no --server or --token.

    \b
    Example:
      python cli.py admin create-user alice
      python cli.py admin tokens ls alice
    """


@admin.command("create-user")
@click.argument("name")
def create_user(name):
    """Create user NAME and print their first token.

    The token is shown only this once. It alone goes to stdout, so a script can capture it.

    \b
    Example:
      TOKEN=$(python cli.py admin create-user alice)
    """
    token = _run(lambda store: store.create_user(name))
    click.echo(token)
    note(f"Created user {name!r}. Keep the token above: it is not shown again.")


@admin.command("set-password")
@click.argument("name")
@click.password_option(help="The new password (asked twice, unseen, when not given; 10 to 1,024 characters).")
def set_password(name, password):
    """Set the password user NAME signs in to the web console (/app/) with.

    It replaces any password NAME had; sessions already signed in go on until
    they end. The password is kept only as its Argon2id hash.

    \b
    Example:
      python cli.py admin set-password alice
    """
    _run(lambda store: store.set_password(name, password))
    note(f"Set the console password of {name!r}: sign in at /app/login.")


@admin.group()
def tokens():
    """Issue, list and revoke a user's API tokens.

    \b
    Example:
      python cli.py admin tokens issue alice --label laptop
    """


@tokens.command("issue")
@click.argument("name")
@click.option("--label", default="", help="What the token is for, to recognise it in `tokens ls`.")
def issue(name, label):
    """Issue a new token for user NAME and print it.

    The token is shown only this once.

    \b
    Example:
      python cli.py admin tokens issue alice --label ci
    """
    token_id, token = _run(lambda store: store.issue_token(name, label=label))
    click.echo(token)
    note(f"Issued token {token_id} for {name!r}. Keep it: it is not shown again.")


@tokens.command("ls")
@click.argument("name")
@json_option
def list_(name, as_json):
    """List the tokens of user NAME: ids and labels, never the tokens.

    \b
    Example:
      python cli.py admin tokens ls alice
    """
    emit(_run(lambda store: store.list_tokens(name)), as_json, lambda found: echo_table(
        ("id", "label", "created"), [[t.get("id"), t.get("label"), t.get("created_at")] for t in found],
        empty=f"No tokens for {name!r}."))


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
def revoke(token_id):
    """Revoke the token ID: requests with it are refused from now on.

    \b
    Example:
      python cli.py admin tokens revoke 3f9c2a1b7d4e6f80
    """
    if not _run(lambda store: store.revoke_token(token_id)):
        raise click.ClickException(f"No token with id {token_id!r}.")
    click.echo(f"Revoked token {token_id}.")


@admin.group()
def telegram():
    """The Telegram bot's webhook, where Telegram posts what people send it.

    
    Example:
      python cli.py admin telegram set-webhook https://dispatcher.example.com/webhooks/telegram
    """


@telegram.command("set-webhook")
@click.argument("url")
def telegram_set_webhook(url):
    """Have Telegram post the bot's updates to URL, with TELEGRAM_WEBHOOK_SECRET.

    URL is the API's public https address and /webhooks/telegram. An empty
    URL ("") removes the webhook (for TELEGRAM_UPDATES=poll).

    
    Example:
      python cli.py admin telegram set-webhook https://dispatcher.example.com/webhooks/telegram
    """
    from core.bot_calls import set_telegram_webhook

    _bot_call(lambda config: set_telegram_webhook(config, url))
    click.echo(f"Telegram posts updates to {url}." if url else "Telegram's webhook is removed.")


@admin.group()
def viber():
    """The Viber bot's webhook, where Viber posts subscriptions, texts and receipts.

    
    Example:
      python cli.py admin viber set-webhook https://dispatcher.example.com/webhooks/viber
    """


@viber.command("set-webhook")
@click.argument("url")
def viber_set_webhook(url):
    """Have Viber post the bot's callbacks to URL (Viber checks it at once: the API must be up).

    
    Example:
      python cli.py admin viber set-webhook https://dispatcher.example.com/webhooks/viber
    """
    from core.bot_calls import set_viber_webhook

    _bot_call(lambda config: set_viber_webhook(config, url))
    click.echo(f"Viber posts callbacks to {url}." if url else "Viber's webhook is removed.")


def _bot_call(action):
    """Do action(settings) against a bot API, its refusal as a user error."""
    from core.bot_calls import BotCallFailed

    try:
        return action(service_settings())
    except BotCallFailed as exc:
        raise click.ClickException(f"{exc} (check the bot's token and API URL settings).") from exc


def _run(action):
    """Do action(store) on the service's UserStore, its refusals and MongoDB's failures as user errors."""
    # Imported here: pymongo and redis add a fifth of a second to every other command (and each Tab).
    from pymongo.errors import PyMongoError

    from core.services import Services
    from core.users import BadPassword, UnknownUser, UserExists

    try:
        return action(Services(service_settings()).users)
    except (UnknownUser, UserExists, BadPassword) as exc:
        raise click.ClickException(str(exc)) from exc
    except PyMongoError as exc:
        # The URL is not shown: it may hold a password.
        reason = str(exc).split(",")[0]
        raise click.ClickException(
            f"MongoDB did not answer (check MONGO_URL and MONGO_DB): {reason}") from exc
