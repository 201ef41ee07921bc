"""Target 3: one send to 10,000 contacts (20,000 deliveries), answered and queued.

The answer time of the one request, and how many of the 20,000 tasks are in
the broker at the moment it answers: waiting in the queue + held by a
worker unacknowledged + already received by the gateway (the worker runs
meanwhile; the sum may be off by the tasks in flight, at most the worker's
concurrency). For the project, the schedule's size at that moment tells
what was recorded but not yet handed to the broker (0 means all published).
"""


from bench import gateway
from bench.load import put, send_body
from bench.runner import PAST, compare
from bench.t1_throughput import warm_up

NAME = "fanout"
TITLE = "one send to 10,000 contacts: answer time, all 20,000 queued by then"
EXPECTED = 20_000


def trial(bench, system):
    """One send to 10,000 contacts; what is queued when it answers."""
    warm_up(bench, system)
    body = send_body("bench10k", bench.names("bench10k"), "t3", PAST)
    status, seconds, reply = put(system.api_url, body, timeout=300)
    broker = system.published()
    received = gateway.stats(bench.gateway_url)["attempts"]
    unpublished = system.unpublished()
    queued = broker["queued"] + broker["unacked"] + received
    system.purge()
    return {"answer_s": round(seconds, 3), "status": status,
            "deliveries": reply.get("deliveries") if isinstance(reply, dict) else None,
            "queued_at_answer": queued, "in_queue": broker["queued"], "unacked": broker["unacked"],
            "at_gateway": received, "unpublished": unpublished}


def run(bench):
    """Interleaved trials; medians, ratios and the verdict."""
    runs = bench.interleaved(trial)
    figures = compare(runs, ["answer_s", "queued_at_answer", "unpublished"])
    project = runs.get("project", [])
    all_queued = all(r["status"] == 200 and r["unpublished"] == 0
                     and r["queued_at_answer"] >= EXPECTED - 64 for r in project)
    answer = figures["answer_s"]["project"]
    return {"figures": figures, "all_queued": all_queued,
            "met": bool(all_queued and answer is not None and answer <= 2.0), "runs": runs}
