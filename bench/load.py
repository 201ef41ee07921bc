"""Load generators: a closed loop of concurrent senders and open-loop paced ones."""

import asyncio
import concurrent.futures
import threading
import time

import aiohttp
import requests


def send_body(user, names, text, when=None):
    """The original API's send request (PUT /api/contacts)."""
    body = {"user_name": user, "contact": names, "message": text}
    if when is not None:
        body["time"] = when
    return body


def wallclock(ts):
    """[Y, M, D, h, m, s] in UTC (both systems run in UTC)."""
    t = time.gmtime(ts)
    return [t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec]


_local = threading.local()


def _session():
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
    return session


def put(url, body, timeout=300):
    """One PUT /api/contacts: (status, seconds, json or text)."""
    start = time.perf_counter()
    reply = _session().put(f"{url}/api/contacts", json=body, timeout=timeout)
    elapsed = time.perf_counter() - start
    try:
        data = reply.json()
    except ValueError:
        data = reply.text[:200]
    return reply.status_code, elapsed, data


def closed_loop(url, bodies, concurrency):
    """Send every body with `concurrency` requests in flight; [(status, seconds)] in order."""
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return [(s, e) for s, e, _ in pool.map(lambda b: put(url, b, timeout=120), bodies)]


async def _paced(method, url, bodies, rate, headers, timeout, connections):
    results = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, trust_env=False, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async def one(body, intended):
            try:
                async with session.request(method, url, json=body) as reply:
                    await reply.read()
                    status = reply.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = type(exc).__name__
            # Latency from the intended start: a stalled server delays later
            # requests too, and that wait is counted (no coordinated omission).
            results.append((status, time.perf_counter() - intended))

        loop_start = time.perf_counter() + 0.05
        tasks = []
        for i, body in enumerate(bodies):
            intended = loop_start + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, intended)))
        await asyncio.gather(*tasks)
    return results


def open_loop(url, body, rate, duration, timeout=10):
    """Send `body` at a steady `rate` per second for `duration` s; [(status, seconds from intended start)]."""
    bodies = [body] * int(rate * duration)
    return asyncio.run(_paced("PUT", f"{url}/api/contacts", bodies, rate, {}, timeout, 0))


def paced_posts(url, bodies, rate, headers=None, timeout=10, connections=0):
    """POST each body to url at a steady `rate` per second over at most `connections` (0: any), as in open_loop.

    [(status, seconds from intended start)]: a request waiting for a free connection counts that wait.
    """
    return asyncio.run(_paced("POST", url, bodies, rate, headers or {}, timeout, connections))
