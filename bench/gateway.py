"""Talking to the fake gateway: counts, records, and its own capacity (wrk)."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import requests

WRK_SCRIPT = Path(__file__).parent / "wrk" / "post.lua"
_http = requests.Session()
_http.trust_env = False  # loopback only: no proxy from the environment


def stats(url):
    """{'received': n, 'attempts': n}."""
    return _http.get(f"{url}/stats", timeout=10).json()


def received(url):
    """Every accepted message: {messenger, to, text, key, time}."""
    return _http.get(f"{url}/received", timeout=60).json()["received"]


def received_by(url, messenger, to):
    """The accepted messages of one messenger to one recipient."""
    params = {"messenger": messenger, "to": to}
    return _http.get(f"{url}/received", params=params, timeout=30).json()["received"]


def set_faults(url, **faults):
    """Change how the gateway behaves (until the next clear)."""
    _http.put(f"{url}/faults", json=faults, timeout=10).raise_for_status()


def clear(url):
    """Forget received messages and reset faults."""
    _http.delete(f"{url}/received", timeout=30).raise_for_status()
    _http.delete(f"{url}/faults", timeout=10).raise_for_status()


def wait_received(url, count, deadline, poll=0.25):
    """Poll until `count` messages were received or time.time() passes deadline; the last count."""
    while True:
        got = stats(url)["received"]
        if got >= count or time.time() > deadline:
            return got
        time.sleep(poll)


def wait_quiet(url, quiet=1.0, limit=20.0):
    """Wait until the attempt count stays still for `quiet` seconds (at most `limit`)."""
    end = time.time() + limit
    last, since = None, time.time()
    while time.time() < end:
        now = stats(url)["attempts"]
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return
        time.sleep(0.2)


def wrk_rate(url, seconds, connections=32, threads=2, close=False):
    """Requests per second wrk gets from POST {url}/telegram (keep-alive unless close)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK_SCRIPT)]
    if close:
        argv += ["-H", "Connection: close"]
    out = subprocess.run(argv + [f"{url}/telegram"], capture_output=True, text=True,
                         timeout=seconds + 30, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rate, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}
