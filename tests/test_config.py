"""Settings are checked when built: the messages, and every entry point refusing to start."""

import logging
import subprocess
import sys
import time
from dataclasses import fields

import pytest
from celery.concurrency import ALIASES

from conftest import stack_config
from core.config import AUTH_MODES, LOG_LEVELS, MESSENGER_APIS, WORKER_POOLS, Config, ConfigError
from stack.specs import REPO_ROOT, SCRIPTS, spec_for
from workers.gateways import REGISTRY

EX_CONFIG = 78
BAD_SETTINGS = "Not starting, bad settings:\n"
# Every process tested here fails long before this; one that does not is
# starting up instead.
EXIT_WITHIN = 10


@pytest.fixture
def env(monkeypatch):
    """An environment without any setting, and a function to set some."""
    for f in fields(Config):
        monkeypatch.delenv(f.name.upper(), raising=False)
    monkeypatch.delenv("DISPATCHER_URL", raising=False)

    def set_env(**variables):
        """Set environment variables for this test."""
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
    return set_env


def problems_from_env(env, **variables):
    """The problems Config.from_env() reports with these environment variables."""
    env(**variables)
    with pytest.raises(ConfigError) as caught:
        Config.from_env()
    return str(caught.value).splitlines()


# Messages


@pytest.mark.parametrize("variable, value, problem", [
    ("MESSENGER_API", "fancy", "'fancy' is not one of: simple, real"),
    ("AUTH_MODE", "tokens", "'tokens' is not one of: token, none"),
    ("WORKER_POOL", "gevent", "'gevent' is not one of: threads, prefork, solo"),
    ("LOG_LEVEL", "info", "'info' is not one of: DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("TIMEZONE", "Mars/Olympus", "'Mars/Olympus' is not an IANA time zone (e.g. UTC, Europe/Moscow)"),
    ("WORKER_CONCURRENCY", "ten", "'ten' is not an integer"),
    ("MAX_ATTEMPTS", "2.5", "'2.5' is not an integer"),
    ("WORKER_EVENTS", "maybe", "'maybe' is not a boolean (true/false/1/0/yes/no/on/off)"),
    ("HTTP_READ_TIMEOUT", "10s", "'10s' is not a number"),
    ("RETRY_BACKOFF", "inf", "inf is not a finite number"),
    ("TELEGRAM_RATE", "-1", "-1.0 must be at least 0"),
    ("VIBER_CHAT_RATE", "-0.5", "-0.5 must be at least 0"),
    ("HTTP_CONNECT_TIMEOUT", "0", "0.0 must be above 0"),
    ("SCHEDULER_INTERVAL", "-1", "-1.0 must be above 0"),
    ("RETENTION_DAYS", "0", "0.0 must be above 0"),
    ("MAX_ATTEMPTS", "0", "0 must be at least 1"),
    ("WORKER_PROCESSES", "-1", "-1 must be at least 0"),
    ("WORKER_NICE", "20", "20 must be at least 0 and at most 19"),
    ("RATE_LIMIT_HEADROOM", "1", "1.0 must be at least 0 and below 1"),
    ("API_PORT", "70000", "70000 must be at least 1 and at most 65535"),
    ("REDIS_PORT", "0", "0 must be at least 1 and at most 65535"),
    ("SCHEDULE_HORIZON", "900", "900.0 must be below VISIBILITY_TIMEOUT (900.0)"),
])
def test_a_bad_setting_is_named_with_what_it_accepts(env, variable, value, problem):
    assert problems_from_env(env, **{variable: value}) == [f"{variable}: {problem}"]


def test_every_problem_is_reported_together_one_per_line(env):
    assert problems_from_env(env, MESSENGER_API="fancy", WORKER_CONCURRENCY="ten", TELEGRAM_RATE="-1") == [
        "WORKER_CONCURRENCY: 'ten' is not an integer",
        "MESSENGER_API: 'fancy' is not one of: simple, real",
        "TELEGRAM_RATE: -1.0 must be at least 0",
    ]


def test_a_cross_check_waits_for_both_settings_to_be_valid(env):
    assert problems_from_env(env, VISIBILITY_TIMEOUT="-5") == ["VISIBILITY_TIMEOUT: -5.0 must be above 0"]
    assert problems_from_env(env, SCHEDULE_HORIZON="1000", VISIBILITY_TIMEOUT="600") == [
        "SCHEDULE_HORIZON: 1000.0 must be below VISIBILITY_TIMEOUT (600.0)",
    ]


@pytest.mark.parametrize("word, value", [
    ("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False),
    ("on", True), ("off", False), ("TRUE", True), (" Off ", False),
])
def test_booleans_accept_the_eight_words_in_any_case(env, word, value):
    env(WORKER_EVENTS=word)
    assert Config.from_env().worker_events is value


def test_zero_means_unlimited_or_one_per_core_and_empty_means_the_default(env):
    env(TELEGRAM_RATE="0", WORKER_PROCESSES="0", RATE_LIMIT_HEADROOM="0", MAX_ATTEMPTS="",
        TIMEZONE="Europe/Moscow")
    config = Config.from_env()
    assert (config.telegram_rate, config.worker_processes, config.rate_limit_headroom) == (0.0, 0, 0.0)
    assert (config.max_attempts, config.timezone) == (5, "Europe/Moscow")


def test_settings_built_in_code_are_checked_too():
    with pytest.raises(ConfigError) as caught:
        Config(worker_concurrency="16", worker_events=1, max_attempts=True, telegram_rate=-2)
    assert str(caught.value).splitlines() == [
        "MAX_ATTEMPTS: True is not an integer",
        "WORKER_CONCURRENCY: '16' is not an integer",
        "WORKER_EVENTS: 1 is not a boolean (true/false/1/0/yes/no/on/off)",
        "TELEGRAM_RATE: -2 must be at least 0",
    ]
    with pytest.raises(ConfigError, match=r"^RATE_LIMIT_HEADROOM: -0.1 must be at least 0 and below 1$"):
        Config().with_changes(rate_limit_headroom=-0.1)


def test_the_test_settings_pass_and_survive_the_trip_through_child_environments(env, tmp_path):
    config = stack_config(tmp_path, worker_events=True, rate_limit_headroom=0.5, timezone="Asia/Tokyo")
    env(**config.to_env())
    assert Config.from_env() == config


def test_the_accepted_choices_are_the_ones_the_code_knows():
    assert tuple(REGISTRY) == MESSENGER_APIS
    assert "token" in AUTH_MODES
    assert set(WORKER_POOLS) <= set(ALIASES)
    assert all(isinstance(logging.getLevelName(level), int) for level in LOG_LEVELS)


# Entry points


def run(argv, env, timeout=EXIT_WITHIN):
    """Run a command to its end; its result and how long it took."""
    started = time.monotonic()
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    return done, time.monotonic() - started


@pytest.fixture
def settings(tmp_path):
    """Valid settings on free ports where nothing listens: a process past its check cannot connect."""
    return stack_config(tmp_path / "data")


@pytest.mark.parametrize("name, variable, value, problem", [
    ("api", "MESSENGER_API", "fancy", "'fancy' is not one of: simple, real"),
    ("worker", "WORKER_POOL", "gevent", "'gevent' is not one of: threads, prefork, solo"),
    ("flower", "WORKER_EVENTS", "maybe", "'maybe' is not a boolean (true/false/1/0/yes/no/on/off)"),
    ("scheduler", "SCHEDULER_INTERVAL", "0", "0.0 must be above 0"),
    ("gateway", "GATEWAY_PORT", "8o81", "'8o81' is not an integer"),
])
def test_each_process_of_the_stack_exits_on_a_bad_setting(settings, name, variable, value, problem):
    spec = spec_for(settings, name)
    done, took = run(spec.argv, {**spec.env, variable: value})
    assert done.returncode == EX_CONFIG, done.stderr
    assert f"{BAD_SETTINGS}  {variable}: {problem}\n" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert took < EXIT_WITHIN


def test_the_stack_starts_nothing_on_a_bad_setting(settings):
    env = {**spec_for(settings, "redis").env, "RETRY_BACKOFF": "-1", "AUTH_MODE": "open"}
    done, _ = run([sys.executable, "-m", "stack", "--services", "redis,gateway"], env)
    assert done.returncode == EX_CONFIG
    assert done.stderr == (f"{BAD_SETTINGS}  AUTH_MODE: 'open' is not one of: token, none\n"
                           "  RETRY_BACKOFF: -1.0 must be above 0\n")
    assert done.stdout == ""
    assert not settings.data_path.exists()


def test_gunicorn_without_the_hooks_still_stops_rather_than_rebooting_workers(settings):
    # The factory raises, and a worker that cannot build the app halts gunicorn
    # (exit 3); a SystemExit in the worker would be rebooted forever instead.
    # One worker: two failing at once can make gunicorn's halt itself fail (exit 1).
    argv = [str(SCRIPTS / "gunicorn"), "--bind", f"127.0.0.1:{settings.api_port}", "--workers", "1",
            "--no-control-socket", "api:create_app()"]
    done, _ = run(argv, {**spec_for(settings, "api").env, "LOG_LEVEL": "loud"})
    assert done.returncode == 3
    assert "LOG_LEVEL: 'loud' is not one of: DEBUG, INFO, WARNING, ERROR, CRITICAL" in done.stderr


def test_the_cli_calls_a_bad_setting_a_usage_error(settings, tmp_path):
    env = {**spec_for(settings, "api").env, "DISPATCHER_CONFIG": str(tmp_path / "cli.json"),
           "MAX_ATTEMPTS": "many"}
    del env["DISPATCHER_URL"]
    done, _ = run([sys.executable, "cli.py", "failed", "ls"], env)
    assert done.returncode == 2
    assert done.stderr.endswith("Error: bad settings in the environment:\n"
                                "MAX_ATTEMPTS: 'many' is not an integer\n")
    assert "Traceback" not in done.stderr
