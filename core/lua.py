"""Lua scripts run on Redis by EVALSHA, one command each, and their sources in core/scripts/.

redis-py's `register_script` does the same, but its `Script.__call__`
imports, type-checks and copies its arguments on every call: a few percent
of a worker's CPU on the two scripts each delivery runs (BENCHMARKS.md,
issue 15).
"""

import hashlib
import re
from functools import cache
from pathlib import Path

from redis.exceptions import NoScriptError

from core.statuses import lua_names

SCRIPTS = Path(__file__).resolve().parent / "scripts"
# A script's first line may name the files it uses: `-- needs: recount, finish`.
NEEDS = re.compile(r"-- needs: ([a-z_, ]+)\n")


@cache
def _file(name: str) -> str:
    return (SCRIPTS / f"{name}.lua").read_text(encoding="utf-8")


def _needed(name: str) -> list:
    """A file's name after those of every file it needs, each once, the needed first."""
    found = NEEDS.match(_file(name))
    order = []
    for need in (found.group(1).replace(",", " ").split() if found else ()):
        order += [n for n in _needed(need) if n not in order]
    return order + [name]


def lua_source(name: str, before: str = "") -> str:
    """The whole source of core/scripts/NAME.lua: the statuses' names (core/statuses.py), `before`, then each
    file it needs and itself."""
    return lua_names() + before + "".join(_file(n) for n in _needed(name))


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
