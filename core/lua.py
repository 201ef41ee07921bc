"""Lua scripts run on Redis by EVALSHA, one command each.

redis-py's `register_script` does the same, but its `Script.__call__`
imports, type-checks and copies its arguments on every call: a few percent
of a worker's CPU on the two scripts each delivery runs (BENCHMARKS.md,
issue 15).
"""

import hashlib

from redis.exceptions import NoScriptError


class Script:
    """A script on one client: call it with keys and args; loaded again if the server forgot it."""

    def __init__(self, client, source: str):
        self._client = client
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys=(), args=()):
        """Run the script; what it returns."""
        try:
            return self._client.execute_command("EVALSHA", self._sha, len(keys), *keys, *args)
        except NoScriptError:
            self._sha = self._client.script_load(self._source)
            return self._client.execute_command("EVALSHA", self._sha, len(keys), *keys, *args)
