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
    auth_mode: str = "token"
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
    # Worker processes the local stack starts (0 = one per CPU core).
    worker_processes: int = 0
    # Celery task events; Flower turns them on while it runs.
    worker_events: bool = False
    # Added to a worker process's nice value (lower CPU priority than the API).
    worker_nice: int = 5
    store_timeout: float = 1.0
    log_level: str = "INFO"
    cli_server: str = ""
    # Messenger APIs: "simple" is the fake gateway's own shape, "real" speaks
    # each messenger's API. Empty base URLs mean the fake gateway, whose
    # emulations expect these placeholder credentials.
    messenger_api: str = "simple"
    telegram_api_url: str = ""
    telegram_bot_token: str = "123456:fake-telegram-token"
    whatsapp_api_url: str = ""
    whatsapp_api_version: str = "v23.0"
    whatsapp_phone_number_id: str = "100000000000001"
    whatsapp_token: str = "fake-whatsapp-token"
    viber_api_url: str = ""
    viber_auth_token: str = "fake-viber-token"
    viber_sender_name: str = "Dispatcher"
    # Sends per second, all workers together (0 = unlimited): overall per
    # messenger account, and per recipient chat.
    telegram_rate: float = 30.0
    telegram_chat_rate: float = 1.0
    whatsapp_rate: float = 80.0
    whatsapp_chat_rate: float = 0.0
    viber_rate: float = 50.0
    viber_chat_rate: float = 0.0
    # Pace this share below each limit, so network jitter between workers
    # never tips a 1-second window at the messenger over it.
    rate_limit_headroom: float = 0.1
    # A turn due within this many seconds is awaited in the worker; a later
    # one goes back to Celery with an ETA.
    rate_limit_linger: float = 0.25

    def __post_init__(self):
        gateway = self.gateway_url or f"http://127.0.0.1:{self.gateway_port}"
        defaults = {
            "redis_url": f"redis://127.0.0.1:{self.redis_port}/0",
            "mongo_url": f"mongodb://127.0.0.1:{self.mongo_port}/",
            "gateway_url": gateway,
            "cli_server": f"http://127.0.0.1:{self.api_port}",
            **{f"{messenger}_api_url": gateway for messenger in MESSENGERS},
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
    def worker_process_count(self) -> int:
        """How many worker processes the local stack starts."""
        return self.worker_processes or os.cpu_count() or 1

    @property
    def data_path(self) -> Path:
        """The folder under which locally started stores keep their data."""
        return Path(self.data_dir).resolve()
