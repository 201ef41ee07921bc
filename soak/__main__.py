"""`python -m soak`: a chaos soak of the whole local stack, accounting for every delivery."""

import argparse
import contextlib
import random
import signal
import sys

from soak.report import render, write_json
from soak.run import Options, SoakError, soak

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m soak",
        description=(
            "Start the whole stack (its shipped defaults; free ports, a temporary data folder, "
            "token auth), send through the original and the v1 API for SECONDS while SIGKILLing "
            "a random part (worker, scheduler, API, Redis, MongoDB; never the fake gateway) every "
            "3-6 s, then stop killing and account for every accepted delivery. Exit status: 0 if "
            "none is missing or early and every duplicate was in flight at a worker kill, 1 if "
            "not, 2 if the soak itself could not run."
        ),
    )
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to send (default 600)")
    parser.add_argument("--contacts", type=int, default=80, help="contacts to spread sends over (default 80)")
    parser.add_argument("--rate", type=float, default=4.0, help="sends per second in all (default 4)")
    parser.add_argument("--max-recipients", type=int, default=5,
                        help="each send goes to 1 to this many contacts (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="for a repeatable choice of sends and kills")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data folder and logs even when the soak passes")
    args = parser.parse_args(argv)
    if args.max_recipients > args.contacts:
        parser.error("--max-recipients may not exceed --contacts")
    return args


def exit_status(ledger):
    """0 when the ledger shows no problem, 1 otherwise."""
    return 1 if ledger.problems() else 0


def main(argv=None):
    """Run a soak, print its figures; the exit status."""
    args = parse_args(argv)
    options = Options(seconds=args.seconds, contacts=args.contacts, rate=args.rate,
                      max_recipients=args.max_recipients, keep=args.keep,
                      seed=random.randrange(10**6) if args.seed is None else args.seed)
    # SIGTERM, and SIGHUP from a closed terminal, end the run as Ctrl-C does,
    # so that the stack's processes (in sessions of their own) are stopped.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    try:
        ledger, facts = soak(options, say)
    except KeyboardInterrupt:
        say("interrupted; everything started was stopped")
        return 130
    except SoakError as error:
        say(f"the soak could not run: {error}")
        return 2
    print(render(ledger, facts), flush=True)
    if args.json:
        write_json(args.json, ledger, facts)
        say(f"figures written to {args.json}")
    return exit_status(ledger)


def say(text):
    """Print a progress line of the soak's own."""
    with contextlib.suppress(OSError):
        print(f"[soak] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
