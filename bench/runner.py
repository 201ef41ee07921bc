"""The common runner: shared infrastructure, interleaved trials, medians, ratios."""

import dataclasses
import json
import os
import sys
import time

from bench import gateway, machine
from core.config import MESSENGERS, Config
from bench.stats import median, ratio
from bench.systems import Baseline, Infra, Project, contact_names

# Every bench user and the size of their contact book (each contact: Telegram + WhatsApp).
USERS = {"bench10": 10, "bench100": 100, "bench10k": 10_000}
# The baseline paces nothing, and the fake gateway does not limit: the
# project's per-messenger send rates (Telegram's 30/s per bot and 1/s per
# chat...) are set to 0 (unlimited) so both move as fast as they can.
# `--set telegram_rate=30` puts a limit back.
UNLIMITED = {f.name: 0.0 for f in dataclasses.fields(Config)
             if f.name.endswith("_rate") and f.name.split("_")[0] in MESSENGERS}
# The original document's example time: in the past, so "send on receipt".
PAST = [2019, 11, 30, 14, 0, 6]


def log(text):
    """Print a progress line with the time."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Bench:
    """What every target gets: the infrastructure, the systems, the run's size."""

    def __init__(self, infra, quick=False, runs=3, project_settings=None, project_env=None):
        self.infra = infra
        self.quick = quick
        self.runs = runs
        self.project_settings = {**UNLIMITED, **(project_settings or {})}
        self.project_env = project_env or {}
        self.gateway_url = infra.gateway_url
        self.results = {}
        self._seeded = set()

    def project(self, label=None, **overrides):
        """The project, with the run's settings and these overrides; contacts seeded."""
        if self.project_env:
            overrides.setdefault("extra_env", self.project_env)
        system = Project(self.infra, label, **{**self.project_settings, **overrides})
        self._seed(system)
        return system

    def baseline(self, label=None, **kwargs):
        """The baseline; contacts seeded."""
        system = Baseline(self.infra, label, **kwargs)
        self._seed(system)
        return system

    def _seed(self, system):
        if system.name in self._seeded:
            return
        for user, count in USERS.items():
            system.seed(user, count)
        self._seeded.add(system.name)

    @staticmethod
    def names(user):
        """The contact names of a bench user."""
        return contact_names(USERS[user])

    def interleaved(self, trial, runs=None, systems=None):
        """Run `trial(bench, system)` `runs` times per system, alternating the order; {label: [results]}."""
        systems = systems or [self.project(), self.baseline()]
        runs = runs or self.runs
        out = {s.label: [] for s in systems}
        for r in range(runs):
            order = systems if r % 2 == 0 else list(reversed(systems))
            for system in order:
                gateway.clear(self.gateway_url)
                log(f"  run {r + 1}/{runs}: {system.label}")
                with system.start():
                    result = trial(self, system)
                log(f"    {summary(result)}")
                out[system.label].append(result)
        gateway.clear(self.gateway_url)
        return out


def summary(result, limit=6):
    """A short line of a trial's scalar figures."""
    items = [(k, v) for k, v in result.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return ", ".join(f"{k}={v}" for k, v in items[:limit])


def medians(results, keys):
    """{key: median over runs} for the figures named."""
    return {k: median([r.get(k) for r in results]) for k in keys}


def compare(runs_by_label, keys, project="project", baseline="baseline", higher_is_better=()):
    """Per metric: project median, baseline median, ratio project/baseline."""
    p = medians(runs_by_label.get(project, []), keys)
    b = medians(runs_by_label.get(baseline, []), keys)
    return {k: {"project": p[k], "baseline": b[k], "ratio": ratio(p[k], b[k])} for k in keys}


def save(results, path):
    """Write results as JSON."""
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)


def run(targets, quick, runs, project_settings=None, project_env=None):
    """Start the infrastructure, run each target module, return everything measured."""
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine.describe(),
        "command": command_line(quick, runs, targets),
        "quick": quick,
        "runs": runs,
        "project_settings": {**UNLIMITED, **(project_settings or {})},
        "project_env": project_env or {},
    }
    log(f"machine: {meta['machine']}")
    results = {"meta": meta}
    with Infra() as infra:
        bench = Bench(infra, quick=quick, runs=runs, project_settings=project_settings,
                      project_env=project_env)
        for module in targets:
            log(f"{module.NAME}: {module.TITLE}")
            started = time.time()
            results[module.NAME] = module.run(bench)
            results[module.NAME]["seconds"] = round(time.time() - started)
            bench.results[module.NAME] = results[module.NAME]
            log(f"{module.NAME} done in {results[module.NAME]['seconds']} s")
    return results


def command_line(quick, runs, targets):
    """The command that produced these figures, as typed."""
    if os.environ.get("MAKELEVEL") is None:
        env = ["BENCH_QUICK=1"] if os.environ.get("BENCH_QUICK") else []
        return " ".join(env + [".venv/bin/python -m bench", *sys.argv[1:]])
    env = ["BENCH_QUICK=1"] if quick else []
    if os.environ.get("BENCH_ARGS"):
        env.append(f"BENCH_ARGS='{os.environ['BENCH_ARGS']}'")
    return " ".join(["make bench", *env])
