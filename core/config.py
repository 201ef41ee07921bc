"""Every setting of the service, read once from the environment and checked."""

import ipaddress
import math
import os
import sys
from dataclasses import dataclass, fields, replace
from fnmatch import fnmatchcase
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.sentinel import url_problem

MESSENGERS = ("telegram", "whatsapp", "viber")
MESSENGER_APIS = ("simple", "real")
# How the bot hears from Telegram: its webhook, or a poller calling getUpdates.
TELEGRAM_UPDATES = ("webhook", "poll")
AUTH_MODES = ("token", "none")
# Celery's pools that a setting alone can pick: gevent and eventlet (neither
# installed) also need the command line's -P to monkey-patch early enough.
WORKER_POOLS = ("threads", "prefork", "solo")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BOOLEANS = {"true": True, "false": False, "1": True, "0": False,
            "yes": True, "no": False, "on": True, "off": False}
KINDS = {bool: f"a boolean ({'/'.join(BOOLEANS)})", int: "an integer", float: "a number", str: "a string"}


class ConfigError(ValueError):
    """Settings that are not accepted: one line per problem, each naming its variable."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _one_of(choices):
    return lambda value: None if value in choices else f"{value!r} is not one of: {', '.join(choices)}"


def _range(low, high=None, above=False, below=False):
    limits = [f"above {low}" if above else f"at least {low}"]
    if high is not None:
        limits.append(f"below {high}" if below else f"at most {high}")

    def check(value):
        fits_low = value > low if above else value >= low
        fits_high = high is None or (value < high if below else value <= high)
        return None if fits_low and fits_high else f"{value!r} must be {' and '.join(limits)}"
    return check


def _time_zone(value):
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not an IANA time zone (e.g. UTC, Europe/Moscow)"
    return None


def _redis_url(value):
    # Empty: the local stack's own Redis, filled in below.
    return url_problem(value) if value else None


def _networks(value):
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8)"
    return None


def _basic_auth(value):
    # Empty: Flower asks for no login (and its API answers 401).
    if value and not all(user and sep for user, sep, _ in (item.partition(":") for item in value.split(","))):
        return "must be user:password (several separated by commas)"
    return None


# What a setting accepts beyond its type, by field name pattern. Every rule
# that matches applies, so a new `*_timeout` or `*_port` is checked too.
RULES = (
    (("messenger_api",), _one_of(MESSENGER_APIS)),
    (("telegram_updates",), _one_of(TELEGRAM_UPDATES)),
    (("auth_mode",), _one_of(AUTH_MODES)),
    (("worker_pool",), _one_of(WORKER_POOLS)),
    (("log_level",), _one_of(LOG_LEVELS)),
    (("timezone",), _time_zone),
    (("redis_url",), _redis_url),
    (("trusted_proxies",), _networks),
    (("flower_basic_auth",), _basic_auth),
    (("*_port",), _range(1, 65535)),
    # 0: unlimited.
    (("*_rate",), _range(0)),
    (("*_timeout", "*_interval", "retry_backoff*", "schedule_horizon", "recovery_grace",
      "schedule_grace", "retention_days", "webhook_retry_hours", "template_*_budget", "send_deadline",
      "invite_ttl_days", "await_contact_days", "console_session_hours"),
     _range(0, above=True)),
    (("claim_margin", "rate_limit_linger"), _range(0)),
    (("rate_limit_headroom",), _range(0, 1, below=True)),
    (("max_attempts", "worker_concurrency", "max_body_bytes", "max_import_bytes", "max_import_contacts",
      "inbox_keep"),
     _range(1)),
    (("webhook_concurrency", "webhook_user_concurrency", "max_pending_posts", "max_pending_posts_per_webhook"),
     _range(1)),
    (("api_burst", "api_user_burst", "auth_failure_burst", "max_recipients", "max_open_deliveries",
      "bulk_threshold"), _range(1)),
    # 0: one per CPU core.
    (("worker_processes",), _range(0)),
    # Only ever lowers the priority: raising it needs root.
    (("worker_nice",), _range(0, 19)),
)
# (setting, the setting it must stay below): an ETA task a worker holds past
# the visibility timeout is delivered to another worker again.
BELOW = (("schedule_horizon", "visibility_timeout"),)


def _variable(name):
    return name.upper()


def _parse(raw, kind):
    """An environment variable's text as the field's type; the text itself if it is none."""
    text = raw.strip()
    try:
        if kind is bool:
            return BOOLEANS.get(text.lower(), raw)
        if kind in (int, float):
            return kind(text)
    except ValueError:
        pass
    return raw


def _type_problem(value, kind):
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return None
    return f"{value!r} is not {KINDS.get(kind, kind.__name__)}"


def _problems(config):
    """What is wrong with these settings, one line per problem, each naming its variable."""
    problems, valid = [], set()
    for f in fields(config):
        value = getattr(config, f.name)
        problem = _type_problem(value, f.type)
        if problem is None:
            problem = next((p for patterns, check in RULES
                            if any(fnmatchcase(f.name, pattern) for pattern in patterns)
                            and (p := check(value))), None)
        if problem:
            problems.append(f"{_variable(f.name)}: {problem}")
        else:
            valid.add(f.name)
    for name, limit in BELOW:
        value, bound = getattr(config, name), getattr(config, limit)
        if {name, limit} <= valid and not value < bound:
            problems.append(f"{_variable(name)}: {value!r} must be below {_variable(limit)} ({bound!r})")
    return problems


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
        problems = _problems(self)
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
            f.name: _parse(raw, f.type) for f in fields(cls) if (raw := os.environ.get(_variable(f.name)))
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
        env = {_variable(f.name): str(getattr(self, f.name)) for f in fields(self)}
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
