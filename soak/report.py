"""The soak's figures: a table for people, JSON for RELIABILITY.md."""

import json

OUTCOMES = ("sent", "failed", "pending", "missing")


def _counts(mapping):
    return ", ".join(f"{key} {value}" for key, value in mapping.items()) or "none"


def _seconds(value):
    return "-" if value is None else f"{value:.3f} s"


def render(ledger, facts):
    """The report as lines of text."""
    sends = facts["sends"]
    kills = facts["kills"]
    late = ledger.lateness
    duplicates = f"{len(ledger.duplicates)} ({len(ledger.in_flight)} in flight at a worker kill)"
    if ledger.unexplained:
        duplicates += f"; unexplained, by the nearest kill: {_counts(ledger.unexplained_near)}"
    missing = f"{len(ledger.missing)}"
    if ledger.missing:
        missing += f" (status: {_counts(ledger.missing_by_status)})"
    messengers = [f"{m}: {_counts({o: c.get(o, 0) for o in OUTCOMES})}"
                  for m, c in ledger.by_messenger.items()] or ["none"]
    rows = [
        ("run", f"{facts['seconds']:g} s of sends, {facts['contacts']} contacts, {facts['rate']:g} "
                f"sends/s, {facts['worker_processes']} worker processes, seed {facts['seed']}"),
        ("sends", f"{sum(sends.values())} ({_counts(sends)}): {facts['accepted_sends']} accepted, "
                  f"{sum(facts['unanswered'].values())} refused or unanswered "
                  f"({_counts(facts['unanswered'])})"),
        ("deliveries", f"{ledger.accepted} accepted ({_counts(ledger.by_api)})"),
        ("  sent", f"{ledger.sent}"),
        ("  failed", f"{ledger.failed}"),
        ("  pending", f"{ledger.pending} (not due yet, still waiting)"),
        ("  missing", missing),
        ("  duplicates", duplicates),
        ("  early", f"{len(ledger.early)}"),
        ("  unsettled", f"{len(ledger.unsettled)} (sent or failed, yet the status is not final)"),
        ("  sent+failed", f"{ledger.sent_and_failed} (received, yet in the failed store too)"),
        ("  unasked", f"{ledger.arrived_unasked} arrived from {ledger.unasked_messages} unanswered sends"),
        ("lateness", f"p50 {_seconds(late['p50'])}   p99 {_seconds(late['p99'])}   "
                     f"max {_seconds(late['max'])}"),
        ("by messenger", messengers[0]),
        *(("", line) for line in messengers[1:]),
        ("kills", f"{_counts(kills)} ({sum(kills.values())} in all)"),
        ("exits", f"{_counts(facts['exits'])} (died with no kill, started again)"),
        ("verdict", "FAIL: " + "; ".join(ledger.problems()) if ledger.problems() else "PASS"),
    ]
    return "\n".join(f"{label:<14} {text}" for label, text in rows)


def figures(ledger, facts):
    """The run's facts and the ledger's figures in one JSON-ready dict."""
    return {**facts, "ledger": ledger.as_dict()}


def write_json(path, ledger, facts):
    """Write the figures as JSON to path."""
    with open(path, "w", encoding="utf-8") as out:
        json.dump(figures(ledger, facts), out, indent=2, sort_keys=True)
        out.write("\n")
