"""Run the fake gateway: python -m fake_gateway [--host HOST] [--port PORT]."""

import argparse
import asyncio
import os
import signal

from aiohttp import web

from core.config import Config
from fake_gateway import create_app
from fake_gateway.credentials import from_config
from fake_gateway.faults import FaultError, from_env


def parse_args(environ):
    """Read the command line, with defaults from GATEWAY_HOST and GATEWAY_PORT."""
    parser = argparse.ArgumentParser(prog="python -m fake_gateway", description=__doc__)
    parser.add_argument("--host", default=environ.get("GATEWAY_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=environ.get("GATEWAY_PORT") or "8081")
    return parser.parse_args()


async def serve(app, host, port):
    """Serve the app until SIGTERM or SIGINT, then shut down cleanly."""
    # Hung requests (script step -1) must not hold up shutdown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_port = runner.addresses[0][1]
    print(f"fake gateway listening on http://{host}:{bound_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main():
    """Start the gateway from the command line and environment."""
    # First, so that a bad GATEWAY_PORT is named as the setting it is.
    config = Config.from_env_or_exit()
    args = parse_args(os.environ)
    try:
        initial = from_env(os.environ)
        # A stack on the messengers' real APIs meets their refusals, unless told otherwise.
        initial.setdefault("strict", config.messenger_api == "real")
        app = create_app(initial, from_config(config), config.gateway_receipts_url)
    except FaultError as exc:
        raise SystemExit(f"fake gateway: {exc}") from None
    asyncio.run(serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
