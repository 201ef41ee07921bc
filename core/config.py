"""Every setting of the service, read once from the environment and checked (core/config_checks.py)."""

import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

from core.config_checks import (
    AUTH_MODES,
    LOG_LEVELS,
    MESSENGER_APIS,
    MESSENGERS,
    TELEGRAM_UPDATES,
    WORKER_POOLS,
    ConfigError,
    parse,
    problems_of,
    variable,
)

# The choices settings are checked against, for whoever imports them from here.
__all__ = ["AUTH_MODES", "LOG_LEVELS", "MESSENGER_APIS", "MESSENGERS", "TELEGRAM_UPDATES", "WORKER_POOLS",
           "Config", "ConfigError"]


@dataclass(frozen=True)
class Config:
    """Settings for API, workers, scheduler, stack and CLI alike."""

    api_port: int = 8080
    gateway_port: int = 8081
    flower_port: int = 5555
    redis_port: int = 6391
    mongo_port: int = 27037
    data_dir: str = "./var"
    # redis://, rediss:// or sentinel:// (the form is in core/sentinel.py).
    redis_url: str = ""
    mongo_url: str = ""
    mongo_db: str = "dispatcher"
    redis_prefix: str = "md:"
    timezone: str = "UTC"
    auth_mode: str = "token"
    # A request body longer than this is refused (413) before it is read.
    max_body_bytes: int = 1024 * 1024
    # The same for POST /api/v1/contacts/import alone: 100,000 contacts with
    # all three IDs are 12-20 MiB of JSON, 7-9 MiB of CSV (docs/guides/contacts.md,
    # "How contacts are stored").
    max_import_bytes: int = 64 * 1024 * 1024
    # Contacts one import (POST /api/v1/contacts/import) may hold.
    max_import_contacts: int = 100_000
    # Requests a second that each token (each user_name with AUTH_MODE=none)
    # may make, and how many beyond that pace it may make at once; 0 = no limit.
    api_rate: float = 50.0
    api_burst: int = 100
    # The same for all of one user's tokens together (0 = no such limit).
    # API_RATE=0 lifts every request limit, these and the next ones too.
    api_user_rate: float = 100.0
    api_user_burst: int = 200
    # Failed authentications (401s) a second from one client address, and
    # at once beyond that pace; more get a 429 (0 = no limit).
    auth_failure_rate: float = 5.0
    auth_failure_burst: int = 20
    # How long a web console sign-in lasts (wrong passwords count as failed
    # authentications, under the two settings above).
    console_session_hours: float = 8.0
    # Addresses or networks of proxies whose X-Real-IP names the client (the
    # local stack's nginx is on loopback); from any other peer, the peer's
    # own address counts.
    trusted_proxies: str = "127.0.0.1,::1"
    # Whether the proxy passes GET /readyz and /metrics on (GET /healthz it
    # always does). The local proxy listens on loopback; docker-compose.yml
    # turns this off.
    public_ops_endpoints: bool = True
    # Contacts one send may name, and deliveries a user may have unfinished.
    max_recipients: int = 10_000
    max_open_deliveries: int = 100_000
    # CPU seconds a template's rendering for one contact may take, and all of
    # a send's together; past either the send is refused (422). A rendering
    # takes well under a millisecond; a send of 10,000 contacts stays inside.
    template_render_budget: float = 0.05
    template_send_budget: float = 10.0
    # A send still unwritten this many seconds after its request began
    # writes nothing (503): nginx gives up at 60 s (proxy_read_timeout), and
    # the write and the answer must come before.
    send_deadline: float = 45.0
    gateway_url: str = ""
    delivery_queue: str = "deliveries"
    # A send of more deliveries than this goes to the bulk queue, which
    # workers read in turn with the main one: small sends never wait behind
    # a big fan-out.
    bulk_threshold: int = 100
    max_attempts: int = 5
    retry_backoff: float = 1.0
    retry_backoff_max: float = 60.0
    http_connect_timeout: float = 3.0
    http_read_timeout: float = 10.0
    schedule_horizon: float = 300.0
    visibility_timeout: float = 900.0
    restore_interval: float = 10.0
    scheduler_interval: float = 0.5
    # A delivery nobody took this long after its due time, or after its
    # claim lease ran out, is handed to Celery again by the scheduler.
    recovery_grace: float = 1.5
    # A recurring send's run found later than this (everything was down) is
    # skipped and counted rather than sent.
    schedule_grace: float = 300.0
    # Seconds a claim lasts beyond the gateway request's own timeouts.
    claim_margin: float = 2.0
    # Finished messages, their deliveries and failed records are kept this long.
    retention_days: float = 30.0
    worker_pool: str = "threads"
    worker_concurrency: int = 16
    # Worker processes the local stack starts (0 = one per CPU core).
    worker_processes: int = 0
    # Celery task events; Flower turns them on while it runs.
    worker_events: bool = False
    # user:password that Flower asks for (as in docker-compose.yml). Empty:
    # no login, and Flower's JSON API and control buttons answer 401.
    flower_basic_auth: str = ""
    # Added to a worker process's nice value (lower CPU priority than the API):
    # at 10, webhooks kept within 50 ms at p99 while a fan-out drained, where 5
    # came close (BENCHMARKS.md, target 13).
    worker_nice: int = 10
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
    # The WhatsApp Business Account whose message templates sends outside
    # WhatsApp's 24-hour window name (GET /{version}/{waba-id}/message_templates).
    whatsapp_business_account_id: str = "100000000000009"
    viber_api_url: str = ""
    viber_auth_token: str = "fake-viber-token"
    viber_sender_name: str = "Dispatcher"
    # Delivery receipts (POST /webhooks/whatsapp, /webhooks/viber): the Meta
    # app's secret that signs WhatsApp's callbacks, and the token Meta's
    # subscription check must echo. Viber signs with VIBER_AUTH_TOKEN.
    whatsapp_app_secret: str = "fake-whatsapp-app-secret"
    whatsapp_verify_token: str = "fake-whatsapp-verify-token"
    # What people send the bot (POST /webhooks/telegram, or getUpdates by the
    # "poller" part with TELEGRAM_UPDATES=poll): the secret setWebhook gives
    # Telegram to send in X-Telegram-Bot-Api-Secret-Token (1-256 of
    # A-Z a-z 0-9 _ -).
    telegram_updates: str = "webhook"
    telegram_webhook_secret: str = "fake-telegram-webhook-secret"
    # What invite links name: the bot's @username (without @), the Viber
    # bot's chat URI, the WhatsApp business number (digits).
    telegram_bot_username: str = "fake_dispatcher_bot"
    viber_chat_uri: str = "fakedispatcher"
    whatsapp_number: str = "15550000001"
    # Days an invite code binds, once; what the bot answers a person whose
    # code bound their contact, and one whose code did not.
    invite_ttl_days: float = 14.0
    # Days a Telegram delivery waits (awaiting_contact) for its contact to
    # join by an invite, in real mode, when it holds no chat ID; then failed.
    await_contact_days: float = 7.0
    invite_joined_reply: str = "Thank you: you will get messages here from now on."
    invite_invalid_reply: str = "This invite link is used, expired or unknown: ask for a new one."
    # Inbound texts kept per contact (and per sender who is no contact).
    inbox_keep: int = 100
    # Texts that opt a person out (any case), comma-separated.
    opt_out_words: str = "STOP,UNSUBSCRIBE,СТОП,ОТПИСАТЬСЯ"
    # Texts that bring an opted-out person back (any case), comma-separated.
    opt_in_words: str = "START,СТАРТ"
    # Where the fake gateway sends its receipts (the API's base URL); empty:
    # it sends none.
    gateway_receipts_url: str = ""
    # Outgoing webhooks: each POST's timeout, how long an event is tried
    # before it is given up, and whether loopback, private and link-local
    # addresses may be webhook targets.
    webhook_timeout: float = 5.0
    webhook_retry_hours: float = 24.0
    webhook_allow_private: bool = False
    # The webhook worker's threads (its own process, apart from the
    # deliveries'), and how many of them one user's posts may hold at once.
    webhook_concurrency: int = 16
    webhook_user_concurrency: int = 4
    # Webhook posts waiting to be sent, per user and per webhook: a test
    # event past either is refused (429), a real event is dropped and counted.
    max_pending_posts: int = 10_000
    max_pending_posts_per_webhook: int = 5_000
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
        problems = problems_of(self)
        if problems:
            raise ConfigError(problems)
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
        """The settings from environment variables (upper-case field names); ConfigError if any is bad."""
        values = {
            f.name: parse(raw, f.type) for f in fields(cls) if (raw := os.environ.get(variable(f.name)))
        }
        if os.environ.get("DISPATCHER_URL"):
            values["cli_server"] = os.environ["DISPATCHER_URL"]
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_env_or_exit(cls, **overrides):
        """from_env() for a process starting up: bad settings are told on stderr and end it (EX_CONFIG)."""
        try:
            return cls.from_env(**overrides)
        except ConfigError as error:
            lines = "".join(f"\n  {problem}" for problem in error.problems)
            print(f"Not starting, bad settings:{lines}", file=sys.stderr, flush=True)
            raise SystemExit(os.EX_CONFIG) from None

    def to_env(self) -> dict:
        """These settings as environment variables, for child processes."""
        env = {variable(f.name): str(getattr(self, f.name)) for f in fields(self)}
        env["DISPATCHER_URL"] = self.cli_server
        return env

    def with_changes(self, **changes):
        """A copy of these settings with some values replaced."""
        return replace(self, **changes)

    @property
    def delivery_queues(self) -> dict:
        """The broker's queues by lane: the main one (None) and the bulk one."""
        return {None: self.delivery_queue, "bulk": f"{self.delivery_queue}.bulk"}

    @property
    def inbound_queue(self) -> str:
        """The broker's queue of what people sent the bot, which the delivery workers read too."""
        return f"{self.delivery_queue}.inbound"

    @property
    def claim_lease(self) -> float:
        """Seconds a worker holds a delivery it sends: the request's timeouts and a margin."""
        return self.http_connect_timeout + self.http_read_timeout + self.claim_margin

    @property
    def worker_process_count(self) -> int:
        """How many worker processes the local stack starts."""
        return self.worker_processes or os.cpu_count() or 1

    @property
    def data_path(self) -> Path:
        """The folder under which locally started stores keep their data."""
        return Path(self.data_dir).resolve()
