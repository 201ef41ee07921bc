"""Per-process MongoDB and Redis clients, made on first use, never at import."""

import os
import threading

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

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


def redis_client(config) -> redis.Redis:
    """This process's Redis client for the service's state (str replies)."""
    return _cached(
        ("redis", config.redis_url, config.store_timeout),
        lambda: redis.Redis.from_url(
            config.redis_url,
            decode_responses=True,
            socket_timeout=config.store_timeout,
            socket_connect_timeout=config.store_timeout,
            health_check_interval=30,
            # One quick retry: a request must fail fast when Redis is away.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        ),
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
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms * 4,
            tz_aware=True,
        ),
    )
    return client[config.mongo_db]
