"""Target 7: what watching the workers with Flower costs (report only).

Target 1's trial (1,000 sends of 20 deliveries; 200 when quick) against the
project with task events off and no Flower (the shipped default), and with
Flower running and consuming every worker's task events, as under
`make run`. There the workers send events from their first task
(WORKER_EVENTS on), not from Flower's first enable_events broadcast a few
seconds in, so the whole trial pays for them. Interleaved; medians, and the
ratio with Flower / without. Flower's own CPU is counted apart, and a trial
checks that Flower saw a task succeed for every delivery.
"""

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench import t1_throughput
from bench.runner import medians
from bench.stats import ratio
from bench.systems import Project
from stack.specs import spec_for

NAME = "flower"
TITLE = "deliveries/s and worker CPU with Flower watching (task events on) vs without"
OFF, ON = "without Flower", "with Flower"
FIGURES = ("deliveries_per_s", "worker_cpu_s_per_1000", "flower_cpu_s_per_1000",
           "worker_rss_peak_mb", "flower_rss_peak_mb")


class WithFlower(Project):
    """The project with Flower watching its workers, which send task events."""

    def __init__(self, infra, label, **overrides):
        super().__init__(infra, label, **{**overrides, "worker_events": True})

    def specs(self):
        """The project's parts, then Flower."""
        return [*super().specs(), spec_for(self.config, "flower")]

    def roots(self):
        """The project's process trees and Flower's."""
        return {**super().roots(), "flower": self.pid("flower")}

    def tasks_seen(self):
        """How many task-succeeded events Flower has counted (its Prometheus /metrics)."""
        url = f"{spec_for(self.config, 'flower').url}/metrics"
        text = requests.get(url, timeout=10).text
        return int(sum(s.value for family in text_string_to_metric_families(text)
                       for s in family.samples
                       if s.name == "flower_events_total" and s.labels.get("type") == "task-succeeded"))


def trial(bench, system):
    """Target 1's trial, with the worker and Flower figures summed per part."""
    result = t1_throughput.trial(bench, system)
    usage = result["usage"]
    result["worker_cpu_s_per_1000"] = usage["worker"]["cpu_s_per_1000"]
    result["worker_rss_peak_mb"] = usage["worker"]["rss_peak_mb"]
    if "flower" in usage:
        result["flower_cpu_s_per_1000"] = usage["flower"]["cpu_s_per_1000"]
        result["flower_rss_peak_mb"] = usage["flower"]["rss_peak_mb"]
        result["flower_tasks_seen"] = system.tasks_seen()
    return result


def run(bench):
    """Interleaved trials without and with Flower; medians and ratios."""
    overrides = {**bench.project_settings}
    if bench.project_env:
        overrides["extra_env"] = bench.project_env
    systems = [bench.project(label=OFF), WithFlower(bench.infra, ON, **overrides)]
    runs = bench.interleaved(trial, systems=systems)
    off, on = medians(runs[OFF], FIGURES), medians(runs[ON], FIGURES)
    figures = {k: {"off": off[k], "on": on[k], "ratio": ratio(on[k], off[k])} for k in FIGURES}
    # Every delivery of the trial and its warm-up (2 sends of 20) succeeded once.
    seen = all(r["flower_tasks_seen"] >= r["unique"] for r in runs[ON])
    complete = all(r["unique"] == r["expected"] and r["duplicates"] == 0
                   for rs in runs.values() for r in rs)
    return {"deliveries": t1_throughput.sends(bench) * 20, "figures": figures,
            "flower_saw_every_task": seen, "complete": complete, "runs": runs}
