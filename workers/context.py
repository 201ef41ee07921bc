"""What a worker or scheduler process needs, made once per process after fork."""

import os
from functools import cached_property

from core.services import Services
from workers.gateways import build_gateways
from workers.ratelimit import RateLimiter

_contexts: dict = {}
os.register_at_fork(after_in_child=_contexts.clear)


class WorkerContext(Services):
    """The process's stores and dispatcher (core/services.py), with the gateways it sends through."""

    @cached_property
    def gateways(self) -> dict:
        """One gateway per messenger, sharing one transport."""
        return build_gateways(self.config)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Paces each messenger's sends overall and per chat, across all workers."""
        return RateLimiter.from_config(self.redis, self.keys, self.config)


def worker_context(config) -> WorkerContext:
    """This process's context for a set of settings (built on first use)."""
    context = _contexts.get(id(config))
    if context is None:
        context = _contexts[id(config)] = WorkerContext(config)
    return context
