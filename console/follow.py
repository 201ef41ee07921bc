"""`send --wait`: poll a message until every delivery is final, with a progress bar on a terminal."""

import contextlib
import sys
import time
from datetime import datetime

import click

from console.client import ApiClient, path_of
from console.when import duration
from core.statuses import FINAL, STATUSES

POLL_INTERVAL = 0.5


def counts(deliveries) -> dict:
    """How many deliveries are in each status, in the lifecycle's order."""
    found = [d.get("status") for d in deliveries]
    order = [*STATUSES, *sorted({s for s in found if s not in STATUSES}, key=str)]
    return {status: found.count(status) for status in order if status in found}


def summary(by_status: dict) -> str:
    """'sent 2, failed 1' from a status → count mapping."""
    return ", ".join(f"{status} {count}" for status, count in by_status.items() if count) or "-"


def settled(message: dict) -> bool:
    """Whether every delivery of the message is sent, failed or cancelled."""
    return all(d.get("status") in FINAL for d in message.get("deliveries", []))


def follow(api: ApiClient, message: dict, wait_timeout: float, progress: bool) -> dict:
    """Poll the message until it is settled; its final state. Gives up wait_timeout after it is due."""
    deadline = time.monotonic() + _seconds_until(message.get("not_before")) + wait_timeout
    total = len(message.get("deliveries", []))
    shown = 0
    with _bar(total, progress) as bar:
        while True:
            deliveries = message.get("deliveries", [])
            done = sum(1 for d in deliveries if d.get("status") in FINAL)
            if bar is not None:
                bar.update(done - shown, summary(counts(deliveries)))
                shown = done
            if settled(message):
                return message
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"Gave up waiting after {duration(round(wait_timeout))} past the send time "
                    f"({summary(counts(deliveries))}). "
                    f"Follow it with: python cli.py messages show {message['id']}"
                )
            time.sleep(POLL_INTERVAL)
            message = api.call("GET", path_of("messages", message["id"]))


def on_terminal() -> bool:
    """Whether stderr is a terminal, where progress bars belong."""
    return sys.stderr.isatty()


def _bar(total, progress):
    if not progress or not total:
        return contextlib.nullcontext()
    return click.progressbar(
        length=total, label="Delivering", show_pos=True, show_eta=False,
        item_show_func=lambda text: text, file=sys.stderr, update_min_steps=0,
    )


def _seconds_until(iso) -> float:
    if not iso:
        return 0.0
    try:
        due = datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    if due.tzinfo is None:
        return 0.0
    return max(0.0, (due - datetime.now(due.tzinfo)).total_seconds())
