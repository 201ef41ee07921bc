"""Target 11: one send of a template to 1,000 contacts (issue 14), against the same send of plain text.

Each contact has two fields; the template uses both and the messenger, so
each of the 2,000 deliveries (Telegram and WhatsApp) is rendered on its
own. The answer time of the one request, median over the trials, beside
the same send without the template in the same started project; the
budget is the fan-out's of target 3 (a send answered within 2 s).
"""

import time

from bench.runner import log
from bench.stats import median, ratio
from bench.systems import contact_ids
from bench.t8_contacts import Client
from core.users import UserStore

NAME = "templates"
TITLE = "a template over 1,000 contacts rendered in one send, against plain text"
CONTACTS = 1_000
BUDGET_S = 2.0
TEMPLATE = "Hi {{ fields.first_name }}, your code is {{ fields.code }} ({{ messenger }})"


def _book():
    return [{"name": f"p{i:05d}", **contact_ids(i),
             "fields": {"first_name": f"N{i}", "code": f"K{i}"}} for i in range(CONTACTS)]


def _answer_s(client, body):
    started = time.perf_counter()
    reply = client.call("POST", "/api/v1/messages", body, ok=202)
    seconds = time.perf_counter() - started
    if len(reply["deliveries"]) != 2 * CONTACTS:
        raise RuntimeError(f"{len(reply['deliveries'])} deliveries, not {2 * CONTACTS}")
    return seconds


def run(bench):
    """Trials alternating plain and template sends on one project; medians and the ratio."""
    system = bench.project()
    trials = 3 if bench.quick else 7
    plain, rendered = [], []
    with system.start():
        users = UserStore(bench.infra.mongo[system.config.mongo_db])
        if not users.exists("t11"):
            users.create_user("t11")
        client = Client(system.api_url, "t11", users.issue_token("t11")[1])
        book = _book()
        client.call("POST", "/api/v1/contacts/import", book)
        names = [c["name"] for c in book]
        for n in range(trials):
            log(f"  trial {n + 1}/{trials}")
            plain.append(_answer_s(client, {"to": names, "text": "Hi, your code is on its way"}))
            system.purge()
            rendered.append(_answer_s(client, {"to": names, "text": TEMPLATE, "template": True}))
            system.purge()
    figures = {"plain_s": round(median(plain), 3), "template_s": round(median(rendered), 3)}
    return {"figures": figures, "runs": {"plain_s": plain, "template_s": rendered},
            "template_over_plain": ratio(figures["template_s"], figures["plain_s"]),
            "met": figures["template_s"] <= BUDGET_S}
