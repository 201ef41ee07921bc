"""Every setting of the service, read once from the environment."""

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

MESSENGERS = ("telegram", "whatsapp", "viber")


def _env(name, default, cast=str):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if cast is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return cast(raw)


@dataclass(frozen=True)
class Config:
    """Settings for API, workers, scheduler, stack and CLI alike."""

    api_port: int = 8080
    gateway_port: int = 8081
    flower_port: int = 5555
    redis_port: int = 6391
    mongo_port: int = 27037
    data_dir: str = "./var"
    redis_url: str = ""
    mongo_url: str = ""
    mongo_db: str = "dispatcher"
    redis_prefix: str = "md:"
    timezone: str = "UTC"
    auth_mode: str = "none"
    gateway_url: str = ""
    delivery_queue: str = "deliveries"
    max_attempts: int = 5
    retry_backoff: float = 1.0
    retry_backoff_max: float = 60.0
    http_connect_timeout: float = 3.0
    http_read_timeout: float = 10.0
    schedule_horizon: float = 300.0
    visibility_timeout: float = 900.0
    restore_interval: float = 10.0
    scheduler_interval: float = 0.5
    outbox_grace: float = 10.0
    worker_pool: str = "threads"
    worker_concurrency: int = 16
    store_timeout: float = 1.0
    log_level: str = "INFO"
    cli_server: str = ""

    def __post_init__(self):
        defaults = {
            "redis_url": f"redis://127.0.0.1:{self.redis_port}/0",
            "mongo_url": f"mongodb://127.0.0.1:{self.mongo_port}/",
            "gateway_url": f"http://127.0.0.1:{self.gateway_port}",
            "cli_server": f"http://127.0.0.1:{self.api_port}",
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    @classmethod
    def from_env(cls, **overrides):
        """Build the settings from environment variables (upper-case field names)."""
        values = {}
        for f in fields(cls):
            default = f.default
            values[f.name] = _env(f.name.upper(), default, type(default))
        values["cli_server"] = _env("DISPATCHER_URL", values["cli_server"])
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict:
        """These settings as environment variables, for child processes."""
        env = {f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}
        env["DISPATCHER_URL"] = self.cli_server
        return env

    def with_changes(self, **changes):
        """A copy of these settings with some values replaced."""
        return replace(self, **changes)

    @property
    def data_path(self) -> Path:
        """The folder under which locally started stores keep their data."""
        return Path(self.data_dir).resolve()
