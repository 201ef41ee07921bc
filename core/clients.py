"""Per-process MongoDB and Redis clients, made on first use, never at import."""

import os
import threading

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from core import sentinel

_lock = threading.Lock()
_clients: dict = {}


def _forget_clients():
    _clients.clear()


os.register_at_fork(after_in_child=_forget_clients)


def _cached(key, factory):
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = factory()
    return client


# Seconds after a reply within which a ping_first client sends its next
# command unpinged: next to none, but 0 would turn redis-py's check off.
PING_AFTER = 0.001


def redis_client(config, ping_first=False) -> redis.Redis:
    """This process's Redis client for the service's state (str replies)."""
    # ping_first (the API's): a command sent on a connection that has been
    # quiet goes out only once a PING on it is answered. A stopped server's
    # kernel still takes in what is sent on a connection it accepted, and the
    # server runs it when resumed: a send that answered 503 would be recorded
    # and delivered after all. (A new connection's handshake stops it as well.)
    return _cached(
        ("redis", config.redis_url, config.store_timeout, ping_first),
        lambda: _connect(
            config.redis_url,
            config.store_timeout,
            decode_responses=True,
            socket_timeout=config.store_timeout,
            socket_connect_timeout=config.store_timeout,
            health_check_interval=PING_AFTER if ping_first else 30,
            # One quick retry of a dropped connection, none after a timeout: a
            # hung server would keep the caller waiting again (a request must
            # answer 503 within store_timeout), and the command may have run.
            # A master demoted by a failover answers writes with READONLY,
            # which redis-py's Sentinel connections turn into a dropped
            # connection: the retry asks the sentinels for the master again.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1,
                        supported_errors=(redis.ConnectionError,)),
        ),
    )


def _connect(url, timeout, **options) -> redis.Redis:
    """A client of the server a redis:// or rediss:// URL names, or of a sentinel:// URL's master."""
    if not sentinel.is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    where = sentinel.parse(url)
    # Each new connection first asks the sentinels, in turn until one names
    # the master: one that refuses costs nothing, one that hangs or cannot be
    # reached up to `timeout` more. Unretried: the next sentinel is the retry.
    sentinels = Sentinel(
        where.sentinels,
        sentinel_kwargs={**where.sentinel_options(timeout), "retry": Retry(NoBackoff(), retries=0)},
    )
    return sentinels.master_for(
        where.master_name, db=where.db, username=where.username, password=where.password, **options,
    )


def mongo_database(config):
    """This process's handle on the service's MongoDB database."""
    # Imported here: workers never use MongoDB, and pymongo would cost each
    # worker process 6 MiB.
    import pymongo

    timeout_ms = int(config.store_timeout * 1000)
    client = _cached(
        ("mongo", config.mongo_url, timeout_ms),
        lambda: pymongo.MongoClient(
            config.mongo_url,
            # The whole operation, server selection and retries included:
            # socket timeouts alone add up to several on a hung server. (Once
            # pymongo has marked a hung server unknown, its selection, which
            # waits in half-second steps, may overrun this by up to one.)
            timeoutMS=timeout_ms,
            # Bounds the monitor's checks too, which timeoutMS does not.
            connectTimeoutMS=timeout_ms,
            tz_aware=True,
        ),
    )
    return client[config.mongo_db]
