"""One soak: start the stack, send under chaos, stop the chaos, drain, account."""

import contextlib
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from soak.chaos import Chaos
from soak.ledger import account
from soak.load import Load, Plan
from soak.observe import Observer, Unavailable, drain
from soak.system import System, make_contacts
from stack.specs import worker_names

# The gateway holds the record the soak accounts from: it is never killed.
SPARED = ("gateway",)
# Senders finish their last request well within this.
STOP_TIMEOUT = 30.0


class SoakError(RuntimeError):
    """The soak itself could not go on (not a finding about the service)."""


@dataclass(frozen=True)
class Options:
    """What one soak does."""

    seconds: float = 600.0
    contacts: int = 80
    rate: float = 4.0
    max_recipients: int = 5
    seed: int = 0
    keep: bool = False


def soak(options, say):
    """Run one soak; (ledger, facts). Everything started is stopped, also on Ctrl-C."""
    data_dir = tempfile.mkdtemp(prefix="soak-")
    system = System(data_dir)
    load = ledger = None
    try:
        say(f"data and logs in {data_dir}")
        system.start()
        contacts = make_contacts(options.contacts)
        system.add_contacts(contacts)
        plan = Plan(seconds=options.seconds, rate=options.rate, max_recipients=options.max_recipients)
        load = Load(system, contacts, plan, options.seed)
        chaos = Chaos(system.stack, [p for p in system.parts if p not in SPARED], options.seed, say)
        say(f"sending for {options.seconds:g} s, killing one of {', '.join(chaos.parts)} every 3-6 s")
        load.start()
        chaos.run(_while_sending(load, system, options.seconds))
        say("load done; chaos stopped")
        chaos.revive()
        say(f"every part runs; waiting for {len(load.accepted)} deliveries")
        observer = Observer(system.client())
        horizon = load.started + plan.seconds + plan.near[1]
        try:
            look = drain(observer, load.accepted, horizon, say, tend=chaos.revive)
        except (requests.RequestException, Unavailable) as exc:
            raise SoakError(f"the API did not answer the last look: {exc}") from exc
        finally:
            observer.client.close()
        ledger = account(load.accepted, look, chaos.kills, worker_names(system.config))
        return ledger, _facts(options, system, load, chaos, look, data_dir)
    finally:
        with _uninterrupted():
            if load is not None:
                load.stop(STOP_TIMEOUT)
            system.stop()
        if ledger is not None and not ledger.problems() and not options.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            say(f"kept {data_dir} (logs in {data_dir}/logs)")


@contextlib.contextmanager
def _uninterrupted():
    """Ignore Ctrl-C and SIGTERM meanwhile: stopping must finish, leaving no process behind."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _while_sending(load, system, seconds):
    """A check for the chaos: true while the senders send; raises if the soak's own machinery broke."""
    deadline = time.monotonic() + seconds + STOP_TIMEOUT

    def going():
        if any(system.stack.pid(part) is None for part in SPARED):
            raise SoakError("the fake gateway exited: its record of what arrived is gone")
        if load.errors:
            raise SoakError(f"a sender failed: {load.errors[0]}") from load.errors[0]
        if time.monotonic() > deadline:
            raise SoakError("the senders did not finish")
        return load.running()

    return going


def _facts(options, system, load, chaos, look, data_dir):
    """What the run was and what happened besides the deliveries."""
    config = system.config
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": options.seconds,
        "contacts": options.contacts,
        "rate": options.rate,
        "max_recipients": options.max_recipients,
        "seed": options.seed,
        "worker_processes": len(worker_names(config)),
        "settings": {name: getattr(config, name) for name in (
            "visibility_timeout", "schedule_horizon", "max_attempts", "retry_backoff",
            "retry_backoff_max", "telegram_rate", "telegram_chat_rate", "whatsapp_rate",
            "viber_rate", "worker_concurrency")},
        "sends": dict(sorted(load.sends.items())),
        "accepted_sends": sum(load.sends.values()) - sum(load.unanswered.values()),
        "unanswered": dict(load.unanswered.most_common()),
        "kills": chaos.by_part(),
        "kill_times": [{"part": k.part, "time": round(k.time, 3)} for k in chaos.kills],
        "exits": {part: n for part, n in chaos.exits.items() if n},
        "load_started": round(load.started, 3),
        "checked_at": round(look.at, 3),
        "data_dir": data_dir,
    }
