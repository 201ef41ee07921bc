"""The processes under test: shared stores and gateway, the project, the baseline.

One MongoDB-protocol server and one fake gateway serve both systems; each
system has its own redis-server (same settings: AOF everysec, noeviction), so
Redis memory and CPU are measured per system. The application processes
(API, worker, scheduler) are started fresh for every trial and stopped after.
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pymongo
import redis

from core.config import Config
from core.contacts import ContactBook
from stack import Stack
from stack import probes
from stack.ports import free_ports
from stack.process import Process
from stack.specs import SCRIPTS, ProcessSpec, spec_for, worker_names

READY_TIMEOUT = 60.0


def contact_ids(i):
    """Messenger IDs of the i-th bench contact: Telegram and WhatsApp, no Viber."""
    return {"telegram": f"@bench{i}", "whatsapp": f"+7900{i:07d}", "viber": ""}


def contact_names(count):
    """Names of the first `count` bench contacts."""
    return [f"c{i:05d}" for i in range(count)]


class Infra:
    """Stores and gateway shared by both systems, started once for a bench run."""

    def __init__(self, workdir=None):
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="bench-"))
        api, gateway, flower, redis_p, mongo, bapi, bredis = free_ports(7)
        self.config = Config(
            api_port=api, gateway_port=gateway, flower_port=flower, redis_port=redis_p,
            mongo_port=mongo, data_dir=str(self.workdir / "project"), auth_mode="none",
            log_level="INFO",
            # One bench user drives the whole service, and trials drop their
            # tasks unfinished: the per-user limits would measure themselves.
            api_rate=0.0, max_open_deliveries=10**9,
        )
        self.baseline_config = Config(
            api_port=bapi, gateway_port=gateway, redis_port=bredis, mongo_port=mongo,
            data_dir=str(self.workdir / "baseline"),
        )
        self.stores = Stack(self.config, ["redis", "mongo", "gateway"], memory_mongo=True)
        self.baseline_redis = Stack(self.baseline_config, ["redis"])

    @property
    def gateway_url(self):
        """Base URL of the shared fake gateway."""
        return self.config.gateway_url

    def start(self):
        """Start the shared processes."""
        self.stores.start()
        self.baseline_redis.start()
        self.mongo = pymongo.MongoClient(self.config.mongo_url, serverSelectionTimeoutMS=5000)
        return self

    def stop(self):
        """Stop what start() started."""
        with contextlib.suppress(Exception):
            self.mongo.close()
        self.baseline_redis.stop()
        self.stores.stop()
        if self._own_dir and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class System:
    """Common parts: start and stop application processes, look into Redis."""

    name = "?"
    queue = "?"

    def __init__(self, infra, label=None):
        self.infra = infra
        self.label = label or self.name
        self.processes = []

    def specs(self):
        """Process specs of this system's application parts, in start order."""
        raise NotImplementedError

    def start(self):
        """Empty this system's Redis, then start its application processes fresh."""
        self.redis.flushall()
        self.processes = [Process(spec) for spec in self.specs()]
        try:
            for process in self.processes:
                process.start()
                process.wait_ready(READY_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop what start() started."""
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self):
        # `with system.start():` - started already; the block's end stops it.
        return self

    def __exit__(self, *exc):
        self.stop()

    def pid(self, name):
        """The pid of the running application process whose name ends with name."""
        for process in self.processes:
            if process.name.endswith(name):
                return process.pid
        return None

    def roots(self):
        """Root pids of the process trees to account for."""
        return {"api": self.pid("api"), "worker": self.pid("worker"),
                "scheduler": self.pid("scheduler"), "redis": self.redis_pid,
                "mongo": self.infra.stores.pid("mongo"), "gateway": self.infra.stores.pid("gateway")}

    def queue_keys(self):
        """The Redis lists holding this system's queued tasks (priority variants and bulk lane too)."""
        queue = self.queue.encode()
        return [k for k in self.redis.scan_iter(match=f"{self.queue}*", count=1000)
                if k in (queue, queue + b".bulk") or k.startswith(queue + b"\x06\x16")]

    def published(self):
        """Tasks in the broker: waiting in the queue plus delivered to a worker but not acknowledged."""
        keys = self.queue_keys()
        with self.redis.pipeline(transaction=True) as pipe:
            for k in keys:
                pipe.llen(k)
            pipe.hlen("unacked")
            counts = pipe.execute()
        return {"queued": sum(counts[:-1]), "unacked": counts[-1]}

    def purge(self):
        """Drop the tasks still waiting in the queue."""
        keys = self.queue_keys()
        if keys:
            self.redis.delete(*keys)

    def command_calls(self):
        """{command: calls so far} from INFO commandstats."""
        stats = self.redis.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    def used_memory(self):
        """INFO memory used_memory of this system's Redis, bytes."""
        return int(self.redis.info("memory")["used_memory"])

    def unpublished(self):
        """Deliveries recorded but not handed to the broker (the project's schedule)."""
        return 0


class Project(System):
    """The dispatcher as built: gunicorn API, Celery worker, scheduler."""

    name = "project"

    def __init__(self, infra, label=None, worker_argv=None, extra_env=None, **overrides):
        super().__init__(infra, label)
        self.extra_env = extra_env or {}
        self.config = infra.config.with_changes(**overrides)
        self.overrides = overrides
        self.worker_argv = worker_argv
        self.queue = self.config.delivery_queue
        self.redis = redis.Redis.from_url(self.config.redis_url)
        self.redis_pid = infra.stores.pid("redis")
        self.api_url = f"http://127.0.0.1:{self.config.api_port}"

    def specs(self):
        """Process specs of this system's application parts, in start order."""
        names = ["api", *worker_names(self.config), "scheduler"]
        specs = [spec_for(self.config, n) for n in names]
        if self.worker_argv is not None:
            specs = [dataclasses.replace(s, argv=self.worker_argv(s.argv)) if "worker" in s.name else s
                     for s in specs]
        if self.extra_env:
            specs = [dataclasses.replace(s, env={**s.env, **self.extra_env}) for s in specs]
        if self.config.log_level.upper() not in ("INFO", "DEBUG"):
            # Celery says " ready." at INFO only: give a quiet worker time to connect.
            specs = [dataclasses.replace(s, ready=probes.running_for(6.0)) if "worker" in s.name else s
                     for s in specs]
        return specs

    def seed(self, user, count):
        """Give `user` a contact book of `count` contacts (as ContactBook stores them)."""
        book = ContactBook(self.infra.mongo[self.config.mongo_db])
        book.ensure_indexes()
        contacts = [{"name": n, **contact_ids(i)} for i, n in enumerate(contact_names(count))]
        book.import_book(user, contacts, len(contacts), replace=True)

    def roots(self):
        """Root pids of the process trees to account for; every worker process as 'worker'."""
        roots = super().roots()
        roots["worker"] = [self.pid(name) for name in worker_names(self.config)]
        return roots

    def unpublished(self):
        """Deliveries recorded but not handed to the broker: schedule entries set for publishing."""
        # An unpublished delivery's moment is the horizon before its due time;
        # a published one's is its due time (plus grace) or its claim's lease.
        prefix = self.config.redis_prefix
        entries = self.redis.zrange(f"{prefix}schedule", 0, -1, withscores=True)
        with self.redis.pipeline(transaction=False) as pipe:
            for member, _ in entries:
                pipe.hget(f"{prefix}dlv:{member.decode().rsplit('|', 1)[0]}", "due")
            dues = pipe.execute()
        horizon = self.config.schedule_horizon
        return sum(1 for (_, score), due in zip(entries, dues)
                   if due is not None and score <= float(due) - horizon + 0.5)


class Baseline(System):
    """bench/baseline: the straightforward Celery design."""

    name = "baseline"
    queue = "celery"

    def __init__(self, infra, label=None, concurrency=None):
        super().__init__(infra, label)
        self.config = infra.baseline_config
        self.concurrency = concurrency
        self.redis = redis.Redis.from_url(self.config.redis_url)
        self.redis_pid = infra.baseline_redis.pid("redis")
        self.api_url = f"http://127.0.0.1:{self.config.api_port}"

    def specs(self):
        """Process specs of this system's application parts, in start order."""
        data = self.config.data_path
        env = {
            **os.environ, "PYTHONUNBUFFERED": "1",
            "BASELINE_BROKER_URL": self.config.redis_url,
            "BASELINE_GATEWAY_URL": self.infra.gateway_url,
            "BASELINE_MONGO_URL": self.infra.config.mongo_url,
            "BASELINE_MONGO_DB": "baseline",
        }
        # The same gunicorn command line as the project's API, serving the baseline app.
        api_argv = list(spec_for(self.config, "api").argv)
        api_argv[-1] = "bench.baseline.api:create_app()"
        worker_argv = [str(SCRIPTS / "celery"), "-A", "bench.baseline.tasks", "worker",
                       "--loglevel", "INFO", "--hostname", "baseline@%h"]
        if self.concurrency:
            worker_argv += ["--concurrency", str(self.concurrency)]
        return [
            ProcessSpec(name="baseline-api", argv=api_argv, env=env,
                        ready=probes.http_answers(f"{self.api_url}/healthz"),
                        log_path=data / "logs" / "baseline-api.log", url=self.api_url),
            ProcessSpec(name="baseline-worker", argv=worker_argv, env=env,
                        ready=probes.log_says(" ready."),
                        log_path=data / "logs" / "baseline-worker.log"),
        ]

    def seed(self, user, count):
        """Give `user` a contact book of `count` contacts (the baseline's document shape)."""
        db = self.infra.mongo["baseline"]
        contacts = {n: contact_ids(i) for i, n in enumerate(contact_names(count))}
        db["books"].replace_one({"_id": user}, {"_id": user, "contacts": contacts}, upsert=True)

