"""Checking settings: the rule each setting's value must keep, and parsing an environment variable's text."""

import ipaddress
import math
from dataclasses import fields
from fnmatch import fnmatchcase
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


def variable(name):
    """The environment variable of a setting."""
    return name.upper()


def parse(raw, kind):
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


def problems_of(config):
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
            problems.append(f"{variable(f.name)}: {problem}")
        else:
            valid.add(f.name)
    for name, limit in BELOW:
        value, bound = getattr(config, name), getattr(config, limit)
        if {name, limit} <= valid and not value < bound:
            problems.append(f"{variable(name)}: {value!r} must be below {variable(limit)} ({bound!r})")
    return problems
