"""The Celery app, built from the service's settings."""

import gc
import logging
import os
from urllib.parse import quote

from celery import Celery
from celery.signals import setup_logging, worker_init, worker_ready
from kombu import Exchange, Queue

from core import sentinel
from core.config import Config
from core.logs import setup_logging as setup_json_logging


def create_celery(config: Config) -> Celery:
    """A Celery app on the Redis broker, with delivery-safe acknowledgement."""
    app = Celery("dispatcher", set_as_current=False)
    app.conf.update(
        broker_url=_broker_url(config.redis_url),
        broker_transport=_transport_for(config.redis_url),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=config.store_timeout,
        broker_transport_options={
            "visibility_timeout": config.visibility_timeout,
            "unacked_restore_interval": config.restore_interval,
            "unacked_restore_throttle": 1,
            "socket_timeout": config.store_timeout,
            "socket_connect_timeout": config.store_timeout,
            **_sentinel_options(config),
        },
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task that ends as FAILURE (a delivery failed for good) or RETRY
        # (its next attempt already queued) is acknowledged, never handed out
        # again: only a worker's death puts a message back.
        task_acks_on_failure=True,
        task_default_queue=config.delivery_queue,
        # Both lanes, which the transport takes from in turn (round robin).
        # Not the webhooks' queue: its own worker process consumes it
        # (`worker -Q webhooks`, stack part "webhooks"), so a slow
        # receiver's posts never hold a delivery's thread.
        # And what people send the bot: a queue of its own, so an update is
        # handled while a fan-out fills the others.
        task_queues=[Queue(queue, Exchange(queue), routing_key=queue)
                     for queue in (*config.delivery_queues.values(), config.inbound_queue)],
        task_create_missing_queues=True,
        worker_pool=config.worker_pool,
        worker_concurrency=config.worker_concurrency,
        # Task events cost a worker a tenth of its CPU per delivery; Flower
        # turns them on in every worker while it watches.
        worker_send_task_events=config.worker_events,
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
        include=["workers.tasks"],
    )
    app.dispatcher_config = config
    return app


def _broker_url(redis_url):
    """kombu's URL for REDIS_URL: itself, or for Sentinel the first sentinel's, the master's credentials and db."""
    if not sentinel.is_sentinel(redis_url):
        return redis_url
    where = sentinel.parse(redis_url)
    host, port = where.sentinels[0]
    host = f"[{host}]" if ":" in host else host
    credentials = ""
    if where.username or where.password:
        credentials = f"{quote(where.username or '', safe='')}:{quote(where.password or '', safe='')}@"
    # One URL, not kombu's `;`-separated list: the other sentinels go in the
    # transport options (workers.broker.SentinelChannel says why).
    return f"sentinel://{credentials}{host}:{port}/{where.db}"


def _sentinel_options(config):
    """The transport options that find a sentinel:// REDIS_URL's master; none for other URLs."""
    if not sentinel.is_sentinel(config.redis_url):
        return {}
    where = sentinel.parse(config.redis_url)
    return {
        "master_name": where.master_name,
        "sentinels": [list(address) for address in where.sentinels],
        "sentinel_kwargs": where.sentinel_options(config.store_timeout),
    }


def _transport_for(redis_url):
    """Our client-reusing Redis transport for redis:// and sentinel:// URLs; kombu's own otherwise."""
    if sentinel.is_sentinel(redis_url):
        return "workers.broker:SentinelTransport"
    return "workers.broker:Transport" if redis_url.startswith("redis://") else None


app = create_celery(Config.from_env_or_exit())


@setup_logging.connect
def _json_logs(**_):
    setup_json_logging(app.dispatcher_config.log_level)
    # Celery's own "received"/"succeeded" lines cost CPU on every task and say
    # less than the delivery.* events each attempt logs.
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)


@worker_init.connect
def _yield_cpu_to_the_api(**_):
    # Before the pool starts: its threads and processes inherit the priority.
    # Where API and workers share cores, requests answer first and
    # deliveries take the cycles left over.
    _nice_own_session(os.nice(app.dispatcher_config.worker_nice))


def _nice_own_session(niceness):
    """Give the worker's session the worker's nice value, where the session is the worker's own.

    With autogrouping (Linux's default where the kernel has it) the CPU is
    shared between sessions first, whatever their processes' nice values:
    a process's nice counts only against the others of its session. A worker
    in a session of its own, as `make run` starts every part, took as much
    CPU as the whole API, and Telegram's webhook waited behind a fan-out
    (BENCHMARKS.md, issue 29). A session the worker shares, such as a
    terminal's, is left as it is.
    """
    if os.getsid(0) != os.getpid():
        return
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(niceness))
    except OSError:
        return  # a kernel without autogrouping


@worker_ready.connect
def _keep_collections_short(**_):
    # What start-up made (Celery, kombu, the libraries) lives as long as the
    # worker: out of the collector's sight, a full collection scans only what
    # came since, a few ms instead of 60-190 ms with every thread stopped,
    # which bunched paced sends enough to pass a messenger's limit
    # (BENCHMARKS.md, issue 15).
    gc.freeze()
