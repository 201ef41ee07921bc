"""`python -m stack`: run the whole local stack in the foreground until Ctrl-C."""

import argparse
import contextlib
import os
import signal
import sys

from core.config import Config
from stack.group import Stack
from stack.process import StartError
from stack.specs import ORDER
from stack.supervisor import supervise

# A store or gateway whose URL the user set is theirs (another host's, as
# when this host joins a deployment): the stack does not start one.
EXTERNAL_STORES = {"redis": "REDIS_URL", "mongo": "MONGO_URL", "gateway": "GATEWAY_URL"}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def parse_args(argv):
    """The command line, with STACK_SERVICES as the default part list."""
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description=(
            "Start redis-server, the MongoDB-protocol server, the fake gateway, the API, "
            "nginx in front of it, the Celery workers (deliveries, and webhook posts apart), the scheduler "
            "(and the Telegram poller with TELEGRAM_UPDATES=poll) and Flower as local processes; "
            "restart any that crashes; stop them all on Ctrl-C or SIGTERM. Settings (ports, "
            "DATA_DIR, REDIS_URL, MONGO_URL, GATEWAY_URL, ...) come from the environment; a store "
            "or gateway whose URL is set is used as it is, not started. "
            "`--services api,worker,scheduler` with those three URLs set joins an existing "
            "deployment as one more host."
        ),
    )
    parser.add_argument(
        "--services",
        default=os.environ.get("STACK_SERVICES") or ",".join(ORDER),
        help=f"comma-separated parts to run, from: {', '.join(ORDER)} (default: $STACK_SERVICES, else all)",
    )
    parser.add_argument(
        "--memory-mongo",
        action="store_true",
        help="keep MongoDB data in memory only (lost on exit; a crashed mongo then stops the stack)",
    )
    args = parser.parse_args(argv)
    args.services = [name.strip() for name in args.services.split(",") if name.strip()]
    unknown = sorted(set(args.services) - set(ORDER))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(ORDER)})")
    return args


def main(argv=None):
    """Run the stack until interrupted; the exit status."""
    args = parse_args(argv)
    # Before anything starts: every part would refuse these settings anyway.
    config = Config.from_env_or_exit()
    external = {n: v for n, v in EXTERNAL_STORES.items() if os.environ.get(v) and n in args.services}
    names = [name for name in args.services if name not in external]
    stack = Stack(config, names, memory_mongo=args.memory_mongo, echo=True)
    # SIGTERM, and SIGHUP from a closed terminal, end the run the way Ctrl-C
    # does: the children, in sessions of their own, would outlive us otherwise.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    try:
        say(f"data in {config.data_path}, logs in {config.data_path / 'logs'}")
        stack.start()
        for process in stack.processes:
            say(f"{process.name:<10} pid {process.pid:<8} {process.spec.url}".rstrip())
        for name, variable in external.items():
            say(f"{name:<10} {getattr(config, variable.lower())} (from {variable}, not started here)")
        say("all up; Ctrl-C stops everything")
        return supervise(stack, say=say)
    except KeyboardInterrupt:
        return 0
    except StartError as error:
        say(f"start-up failed: {error}")
        return 1
    finally:
        # Stopping must finish: a second Ctrl-C may not leave processes behind.
        for sig in (signal.SIGINT, *STOP_SIGNALS):
            signal.signal(sig, signal.SIG_IGN)
        say("stopping")
        stack.stop()
        say("stopped")


def say(text):
    """Print a line of the stack's own, told apart from the processes' output."""
    # A closed terminal or pipe (`make run | tee` on Ctrl-C) must not stop the shutdown.
    with contextlib.suppress(OSError):
        print(f"[stack] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
