"""What each part of the local stack runs, built from the settings."""

import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.webhook_posts import WEBHOOK_QUEUE
from stack import probes, proxy

# Dependency order: a part starts only after the ones before it are ready.
# "poller" runs only with TELEGRAM_UPDATES=poll (stack.group drops it otherwise).
ORDER = ("redis", "mongo", "gateway", "api", "proxy", "worker", "webhooks", "scheduler", "poller", "flower")
# Flower serves under this path, as behind the proxy in docker-compose.yml.
FLOWER_PREFIX = "flower"

REPO_ROOT = Path(__file__).resolve().parent.parent
# The venv's own console scripts sit beside its interpreter (not resolved:
# resolving the symlink would leave the venv).
SCRIPTS = Path(sys.executable).parent

_WORKER_NAME = re.compile(r"worker(\d*)$")
_SCHEDULER_NAME = re.compile(r"scheduler(\d*)$")


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one part of the stack and how to tell it is ready."""

    name: str
    argv: list
    env: dict
    ready: Callable
    log_path: Path
    restartable: bool = True
    url: str = ""
    dirs: tuple = ()


def worker_names(config):
    """The worker processes these settings ask for: 'worker', 'worker2', ..."""
    return ["worker", *(f"worker{n}" for n in range(2, config.worker_process_count + 1))]


def receipts_url(config):
    """Where the fake gateway sends receipts: with the real APIs, the API as clients reach it."""
    if config.gateway_receipts_url or config.messenger_api != "real":
        return config.gateway_receipts_url
    return f"http://127.0.0.1:{config.api_port}"


def spec_for(config, name, memory_mongo=False, api_backend_port=None):
    """The spec of the process called name ('redis', 'worker2', ...) for these settings.

    With api_backend_port, gunicorn listens there and the proxy, on API_PORT,
    passes requests to it; without, gunicorn listens on API_PORT itself.
    """
    data = config.data_path
    env = {**os.environ, **config.to_env(), "PYTHONUNBUFFERED": "1"}
    log_path = data / "logs" / f"{name}.log"
    common = {"name": name, "env": env, "log_path": log_path}
    celery = [str(SCRIPTS / "celery"), "-A", "workers.celery_app"]

    if name == "redis":
        return ProcessSpec(
            argv=[
                "redis-server",
                "--bind", "127.0.0.1",
                "--port", str(config.redis_port),
                "--dir", str(data / "redis"),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--maxmemory-policy", "noeviction",
                "--save", "",
                "--daemonize", "no",
                "--logfile", str(log_path),
            ],
            ready=probes.redis_answers(config.redis_port),
            url=config.redis_url,
            dirs=(data / "redis",),
            **common,
        )
    if name == "mongo":
        storage = ":memory:" if memory_mongo else str(data / "mongo")
        return ProcessSpec(
            argv=[
                str(SCRIPTS / "secantusd-py"),
                "--host", "127.0.0.1",
                "--port", str(config.mongo_port),
                "--storage-path", storage,
                "--sync-on-commit",
            ],
            ready=probes.mongo_answers(config.mongo_port),
            # Restarting an in-memory server would bring it back empty.
            restartable=not memory_mongo,
            url=config.mongo_url,
            **common,
        )
    if name == "gateway":
        return ProcessSpec(
            argv=[sys.executable, "-m", "fake_gateway", "--port", str(config.gateway_port)],
            ready=probes.http_answers(f"{config.gateway_url}/healthz"),
            url=config.gateway_url,
            **{**common, "env": {**env, "GATEWAY_RECEIPTS_URL": receipts_url(config)}},
        )
    if name == "api":
        url = f"http://127.0.0.1:{api_backend_port or config.api_port}"
        return ProcessSpec(
            argv=[
                str(SCRIPTS / "gunicorn"),
                # Its hooks check the settings before a worker boots.
                "--config", "python:api.gunicorn_conf",
                "--bind", url.removeprefix("http://"),
                "--workers", "2",
                "--threads", "8",
                "--worker-class", "gthread",
                "--access-logfile", "-",
                # Its default control socket is one path shared by every gunicorn.
                "--no-control-socket",
                "api:create_app()",
            ],
            ready=probes.http_answers(f"{url}/healthz"),
            url=url,
            **common,
        )
    if name == "proxy":
        if api_backend_port is None:
            raise ValueError("the proxy needs the API's backend port")
        folder = data / "proxy"
        conf = proxy.write_config(folder, {
            "PROXY_LISTEN": f"127.0.0.1:{config.api_port}",
            "API_UPSTREAM": f"127.0.0.1:{api_backend_port}",
            "FLOWER_UPSTREAM": f"127.0.0.1:{config.flower_port}",
            "MAX_BODY_BYTES": config.max_body_bytes,
            "MAX_IMPORT_BYTES": config.max_import_bytes,
            "PUBLIC_OPS_ENDPOINTS": str(config.public_ops_endpoints).lower(),
        })
        url = f"http://127.0.0.1:{config.api_port}"
        return ProcessSpec(
            argv=[shutil.which("nginx") or "/usr/sbin/nginx", "-e", "stderr", "-p", str(folder), "-c", str(conf)],
            # nginx itself answers, even with the API down (a JSON 502).
            ready=probes.http_answers(f"{url}/healthz", ok_only=False),
            url=url,
            **common,
        )
    if name == "webhooks":
        return ProcessSpec(
            # The webhook posts' own worker: a slow receiver holds its
            # threads, never a delivery's.
            argv=[*celery, "worker", "--loglevel", "INFO", "--without-mingle", "--without-gossip",
                  "--queues", WEBHOOK_QUEUE, "--concurrency", str(config.webhook_concurrency),
                  "--hostname", "webhooks@%h"],
            ready=probes.log_says(" ready."),
            **common,
        )
    if _SCHEDULER_NAME.match(name):
        return ProcessSpec(
            argv=[sys.executable, "-m", "workers.scheduler"],
            ready=probes.running_for(1.0),
            **common,
        )
    if name == "poller":
        return ProcessSpec(
            # Telegram's getUpdates for hosts without a public URL; one at a time holds the lease.
            argv=[sys.executable, "-m", "workers.telegram_poller"],
            ready=probes.running_for(1.0),
            **common,
        )
    if name == "flower":
        url = f"http://127.0.0.1:{config.flower_port}/{FLOWER_PREFIX}"
        return ProcessSpec(
            argv=[*celery, "flower", "--address=127.0.0.1", f"--port={config.flower_port}",
                  f"--url_prefix={FLOWER_PREFIX}",
                  # The task list says whom each attempt is for and how it ended.
                  "--tasks_columns=uuid,state,kwargs,result,exception,retries,received,runtime,worker"],
            ready=probes.http_answers(f"{url}/", ok_only=False),
            url=url,
            # Flower reads FLOWER_BASIC_AUTH itself, an empty one as a login
            # nobody has. Unset, it asks for no login, and its JSON API and
            # control buttons answer 401: open without a login, any web page
            # the user visits could post to them.
            **{**common, "env": {k: v for k, v in env.items()
                                 if k != "FLOWER_BASIC_AUTH" or config.flower_basic_auth}},
        )
    match = _WORKER_NAME.match(name)
    if match:
        number = match.group(1) or "1"
        return ProcessSpec(
            # No mingle or gossip: workers need nothing from each other, and
            # gossip's consumer fails noisily each time the broker restarts.
            argv=[*celery, "worker", "--loglevel", "INFO", "--without-mingle", "--without-gossip",
                  "--hostname", f"worker{number}@%h"],
            # Celery logs "<hostname> ready." once it consumes.
            ready=probes.log_says(" ready."),
            **common,
        )
    raise ValueError(f"unknown stack process {name!r}; known: {', '.join(ORDER)}")
