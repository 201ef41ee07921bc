"""The per-user config file where `login` keeps the server and token (mode 0600)."""

import json
import os
from pathlib import Path

import click

APP_NAME = "dispatcher"
FILE_NAME = "config.json"


def default_path() -> Path:
    """Where the config file lives: $XDG_CONFIG_HOME/dispatcher, else ~/.config/dispatcher."""
    return Path(click.get_app_dir(APP_NAME)) / FILE_NAME


def load(path: Path) -> dict:
    """The saved settings ({} when there is no file yet); a broken file is a user error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise click.ClickException(f"Cannot read the config file {path}: {exc.strerror}.") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise click.ClickException(
            f"The config file {path} is not valid JSON ({exc}); fix it or run 'login' again."
        ) from exc
    if not isinstance(data, dict):
        raise click.ClickException(f"The config file {path} must hold a JSON object.")
    return data


def save(path: Path, data: dict) -> None:
    """Write the settings so that only the owner can read them, replacing the file atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
