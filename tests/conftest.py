"""Fixtures that run the real stack: redis-server, the MongoDB-protocol server,
the fake gateway, the API under gunicorn, a Celery worker and the scheduler."""

from contextlib import contextmanager

import pymongo
import pytest
import redis
import requests

from core.config import MESSENGERS, Config
from core.users import UserStore
from helpers import free_ports
from stack import ORDER, Stack

# Fixtures shared by several test modules, kept out of the modules that test with them.
pytest_plugins = ["fixtures_browser", "fixtures_cli", "fixtures_receiver"]

SERVICES = tuple(name for name in ORDER if name != "flower")
# Retries, timeouts and restore loops short enough for a test to wait them out.
FAST = {"retry_backoff": 0.2, "retry_backoff_max": 2.0, "http_read_timeout": 3.0, "restore_interval": 1.0}
# No messenger rate limits unless a test asks for them (tests/test_ratelimit.py).
# Nor a limit on API requests (tests/test_quotas.py has it as shipped).
UNLIMITED = {**{f"{m}_{scope}": 0.0 for m in MESSENGERS for scope in ("rate", "chat_rate")},
             "api_rate": 0.0}
# Many test stacks share this host's cores: a worker's lower priority would
# yield to other modules' stacks rather than to its own API. Tests of the
# priority itself (test_worker_processes.py) start stacks as shipped.
SHARED_HOST = {"worker_nice": 0}
RESET_TIMEOUT = 5


def stack_config(data_dir, shipped=False, **overrides):
    """Test settings: free ports, data under data_dir, fast retries, then overrides.

    `shipped` keeps every delivery setting (timeouts, retries, rate limits,
    the workers' priority) as the service ships it. Built from defaults, not the environment: a
    developer's REDIS_URL must never point a test (and its FLUSHALL) at
    their own server.
    """
    api, gateway, flower, redis_port, mongo = free_ports(5)
    settings = {
        "api_port": api,
        "gateway_port": gateway,
        "flower_port": flower,
        "redis_port": redis_port,
        "mongo_port": mongo,
        "data_dir": str(data_dir),
        # The original API's tests send no token; token mode is asked for where tested.
        "auth_mode": "none",
        # One worker process unless a test starts more: the tests share 2 cores.
        "worker_processes": 1,
        **({} if shipped else {**FAST, **UNLIMITED, **SHARED_HOST}),
        **overrides,
    }
    return Config(**settings)


@contextmanager
def running_stack(tmp_path_factory, label, **overrides):
    """A separate stack of SERVICES with these settings, started and then stopped."""
    config = stack_config(tmp_path_factory.mktemp(label), **overrides)
    with Stack(config, SERVICES, memory_mongo=True) as running:
        yield running


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    """The session's stack: every part but Flower, started once."""
    config = stack_config(tmp_path_factory.mktemp("stack"))
    with Stack(config, SERVICES, memory_mongo=True) as running:
        yield running


@pytest.fixture
def stack(services):
    """The session's stack, every part running, with empty stores and a reset gateway."""
    # Undo what an earlier test did to the shared processes: stopped or
    # killed parts run again, added workers are gone.
    for process in services.processes:
        if process.name not in services.names:
            services.stop(process.name)
    services.start()
    reset(services)
    return services


@pytest.fixture
def make_stack(tmp_path_factory):
    """A factory for a separate stack with its own ports, data and settings; stopped at teardown."""
    started = []

    def make(names=SERVICES, memory_mongo=True, shipped=False, **overrides):
        """Start a stack of the parts named, with these settings changed."""
        config = stack_config(tmp_path_factory.mktemp("stack"), shipped, **overrides)
        own = Stack(config, names, memory_mongo=memory_mongo)
        started.append(own)
        own.start()
        return own

    yield make
    for own in reversed(started):
        own.stop()


@pytest.fixture(scope="module")
def real_services(tmp_path_factory):
    """A stack of the module's own whose workers speak the messengers' real APIs to the fake
    gateway, which calls the API back with receipts."""
    with running_stack(tmp_path_factory, "real", messenger_api="real") as running:
        yield running


@pytest.fixture
def real(real_services):
    """The real-API stack with empty stores, a reset gateway and its usual credentials.

    Its people all agreed to hear from the bot: these tests are about the
    APIs' answers, retries and receipts. What the strict gateway refuses
    for want of consent is tested with simulated people (tests/people.py).
    """
    reset(real_services)
    consenting(real_services)
    yield real_services
    requests.delete(real_services.gateway_url + "/credentials", timeout=RESET_TIMEOUT).raise_for_status()


def consenting(running):
    """Let the gateway's real APIs write to anyone, as if everyone had started the bot, subscribed or written."""
    requests.put(running.gateway_url + "/faults", json={"strict": False},
                 timeout=RESET_TIMEOUT).raise_for_status()
    return running


def token_for(running, name="alice"):
    """A new user on a running stack; their API token."""
    mongo = pymongo.MongoClient(running.config.mongo_url, serverSelectionTimeoutMS=RESET_TIMEOUT * 1000)
    try:
        return UserStore(mongo[running.config.mongo_db]).create_user(name)
    finally:
        mongo.close()


@pytest.fixture
def user_token(stack):
    """A factory: make a user on the session stack (after its reset); its API token."""
    mongo = pymongo.MongoClient(stack.config.mongo_url, serverSelectionTimeoutMS=RESET_TIMEOUT * 1000)
    yield UserStore(mongo[stack.config.mongo_db]).create_user
    mongo.close()


def reset(running):
    """Empty Redis and the service's Mongo database, and clear the gateway's records and faults."""
    config = running.config
    if "redis" in running.names:
        client = redis.Redis.from_url(config.redis_url, socket_timeout=RESET_TIMEOUT)
        try:
            client.flushall()
        finally:
            client.close()
    if "mongo" in running.names:
        mongo = pymongo.MongoClient(config.mongo_url, serverSelectionTimeoutMS=RESET_TIMEOUT * 1000)
        try:
            # Emptied, not dropped: the API makes its indexes once per process.
            db = mongo[config.mongo_db]
            for name in db.list_collection_names():
                db[name].delete_many({})
        finally:
            mongo.close()
    if "gateway" in running.names:
        for path in ("/received", "/faults"):
            requests.delete(running.gateway_url + path, timeout=RESET_TIMEOUT).raise_for_status()
