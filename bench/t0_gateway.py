"""Target 0: the fake gateway's own capacity, so it is never the bottleneck."""

from bench import gateway
from bench.runner import log
from bench.stats import median

NAME = "gateway"
TITLE = "fake gateway capacity (wrk, POST /telegram)"


def run(bench):
    """wrk against POST /telegram, keep-alive and a new connection per request."""
    seconds = 5 if bench.quick else 10
    runs = 1 if bench.quick else bench.runs
    out = {}
    for mode, close in (("keepalive", False), ("close", True)):
        rates = []
        for r in range(runs):
            gateway.clear(bench.gateway_url)
            result = gateway.wrk_rate(bench.gateway_url, seconds, close=close)
            log(f"  {mode} run {r + 1}: {result}")
            rates.append(result["rps"])
        out[f"{mode}_rps"] = round(median(rates))
        out[f"{mode}_runs"] = rates
    gateway.clear(bench.gateway_url)
    out["command"] = (f"wrk -t2 -c32 -d{seconds}s -s bench/wrk/post.lua URL/telegram "
                      "(and -H 'Connection: close' for new connections per request)")
    return out
