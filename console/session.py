"""What a command needs to reach the server (ctx.obj): built lazily, by precedence."""

from functools import cached_property
from pathlib import Path

import click

from console import userconfig
from console.client import DEFAULT_TIMEOUT, ApiClient
from core.config import Config, ConfigError


class Session:
    """Server, token and API client for one run: option > environment > config file > default.

    Nothing is read or resolved until a command asks, so `--help` and usage
    errors never touch the config file or the network.
    """

    def __init__(self, server=None, token=None, config_path=None, timeout=DEFAULT_TIMEOUT):
        # server and token hold the option's value, or the environment's (click's envvar=).
        self._server = server
        self._token = token
        self.config_path = Path(config_path) if config_path else userconfig.default_path()
        self.timeout = timeout

    @cached_property
    def saved(self) -> dict:
        """What `login` saved in the config file."""
        return userconfig.load(self.config_path)

    @cached_property
    def server(self) -> str:
        """The API's base URL."""
        return self._server or self.saved.get("server") or service_settings().cli_server

    @cached_property
    def token(self) -> str | None:
        """The Bearer token, if any was given or saved."""
        return self._token or self.saved.get("token")

    @cached_property
    def api(self) -> ApiClient:
        """The HTTP client for the server, as the token's user."""
        return ApiClient(self.server, self.token, self.timeout)

    def save_login(self, server: str, token: str) -> None:
        """Remember a server and a token that worked, for the next runs."""
        self._write({**self.saved, "server": server, "token": token})

    def forget_token(self) -> None:
        """Drop the saved token, keeping the saved server."""
        self._write({key: value for key, value in self.saved.items() if key != "token"})

    def _write(self, data: dict) -> None:
        userconfig.save(self.config_path, data)
        self.saved = data


def service_settings() -> Config:
    """The service's settings from the environment; a bad one is a usage error."""
    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.UsageError(f"bad settings in the environment:\n{error}") from None


pass_session = click.make_pass_decorator(Session)
