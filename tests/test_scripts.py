"""The delivery scripts' sources (core/scripts/): statuses by name only, every file used, every need there.

Read as text, as core/lua.py assembles them; each assembled script is also
compiled by a real Redis (SCRIPT LOAD), which refuses Lua it cannot parse.
"""

import re
import subprocess

import pytest
import redis

from core import awaiting, deliveries
from core.lua import NEEDS, SCRIPTS, lua_source
from core.statuses import LUA_NAMES, STATUSES
from helpers import free_ports

FILES = sorted(path.stem for path in SCRIPTS.glob("*.lua"))
RUN = {"deliveries": ("claim", "sent", "retry", "fail", "suppress", "opted_out", "activate", "receipt",
                      "resend", "defer", "cancel"), "awaiting": ("await", "release")}


def needs(name):
    found = NEEDS.match((SCRIPTS / f"{name}.lua").read_text(encoding="utf-8"))
    return found.group(1).replace(",", " ").split() if found else []


@pytest.mark.parametrize("name", FILES)
def test_a_script_names_statuses_and_answers_as_core_statuses_does_never_by_their_text(name):
    text = (SCRIPTS / f"{name}.lua").read_text(encoding="utf-8")
    quoted = set(re.findall(r"'([a-z_]+)'", text))
    assert not quoted & set(STATUSES), f"{name}.lua writes a status as text: {quoted & set(STATUSES)}"
    answers = re.findall(r"^return [12]\b", text, re.MULTILINE)
    assert not answers, f"{name}.lua answers a bare 1 or 2: DONE or NEXT_STEP_STARTED"
    assert all(need in FILES for need in needs(name))


def test_every_file_is_a_script_run_or_a_part_another_needs():
    used = {need for name in FILES for need in needs(name)} | {n for names in RUN.values() for n in names}
    assert set(FILES) == used


def test_the_stores_run_the_scripts_of_these_files():
    for module, names in ((deliveries, RUN["deliveries"]), (awaiting, RUN["awaiting"])):
        sources = {value for value in vars(module).values() if isinstance(value, str)}
        assert {name for name in names if any(lua_source(name, b) in sources for b in ("", _claim_before()))} \
            == set(names)


def _claim_before():
    from core.pacing import PACED_KEYS, TAKE_TURN
    return TAKE_TURN + PACED_KEYS


def test_each_assembled_script_compiles_in_a_real_redis(tmp_path):
    [port] = free_ports(1)
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                subprocess.run(["sleep", "0.05"], check=True)
        for names in RUN.values():
            for name in names:
                client.script_load(lua_source(name, _claim_before() if name == "claim" else ""))
        # Each name the scripts use is defined once, first, in every script.
        assert all(f"local {name} = " in lua_source("defer") for name in LUA_NAMES)
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
