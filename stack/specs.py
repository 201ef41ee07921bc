"""What each part of the local stack runs, built from the settings."""

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stack import probes

# Dependency order: a part starts only after the ones before it are ready.
ORDER = ("redis", "mongo", "gateway", "api", "worker", "scheduler", "flower")

REPO_ROOT = Path(__file__).resolve().parent.parent
# The venv's own console scripts sit beside its interpreter (not resolved:
# resolving the symlink would leave the venv).
SCRIPTS = Path(sys.executable).parent

_WORKER_NAME = re.compile(r"worker(\d*)$")


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


def spec_for(config, name, memory_mongo=False):
    """The spec of the process called name ('redis', 'worker2', ...) for these settings."""
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
            **common,
        )
    if name == "api":
        url = f"http://127.0.0.1:{config.api_port}"
        return ProcessSpec(
            argv=[
                str(SCRIPTS / "gunicorn"),
                # Its hooks check the settings before a worker boots.
                "--config", "python:api.gunicorn_conf",
                "--bind", f"127.0.0.1:{config.api_port}",
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
    if name == "scheduler":
        return ProcessSpec(
            argv=[sys.executable, "-m", "workers.scheduler"],
            ready=probes.running_for(1.0),
            **common,
        )
    if name == "flower":
        url = f"http://127.0.0.1:{config.flower_port}"
        return ProcessSpec(
            argv=[*celery, "flower", "--address=127.0.0.1", f"--port={config.flower_port}"],
            ready=probes.http_answers(f"{url}/", ok_only=False),
            url=url,
            **common,
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
