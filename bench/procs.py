"""CPU and memory of process trees, read from /proc (Linux only)."""

import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    return fields  # fields[0] is state (field 3), fields[1] ppid (field 4) ...


def tree(root):
    """The pids of a process (or of a list of processes) and all their descendants."""
    if not root:
        return []
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat(entry)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(root) if isinstance(root, list) else [root]
    while todo:
        pid = todo.pop()
        if not os.path.exists(f"/proc/{pid}"):
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids):
    """user + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK_TCK


def rss_bytes(pids):
    """Sum of resident set sizes (shared pages of forked children counted again)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError):
            continue
    return total


def pss_bytes(pids):
    """Sum of proportional set sizes: shared pages split between their sharers."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class Usage:
    """CPU and memory of named process trees, sampled in a thread while a load runs.

    `roots` maps a name ('api', 'worker', 'redis', ...) to a root pid or a
    list of them (several worker processes count as one 'worker').
    """

    def __init__(self, roots, interval=0.5):
        self.roots = {name: pid for name, pid in roots.items() if pid}
        self.interval = interval
        self.peak_rss = {name: 0 for name in self.roots}
        self.peak_pss = {name: 0 for name in self.roots}
        self.samples = []
        self._stop = threading.Event()
        self._thread = None
        self._trees = {}

    def _refresh_trees(self):
        self._trees = {name: tree(pid) for name, pid in self.roots.items()}

    def snapshot(self):
        """{name: {cpu, rss, pss}} now."""
        self._refresh_trees()
        return {
            name: {"cpu": cpu_seconds(pids), "rss": rss_bytes(pids), "pss": pss_bytes(pids)}
            for name, pids in self._trees.items()
        }

    def __enter__(self):
        self.before = self.snapshot()
        self.started = time.time()
        self._thread = threading.Thread(target=self._run, name="usage-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.after = self.snapshot()
        self.ended = time.time()
        self._note(self.after)

    def _note(self, snap):
        for name, values in snap.items():
            self.peak_rss[name] = max(self.peak_rss[name], values["rss"])
            self.peak_pss[name] = max(self.peak_pss[name], values["pss"])
        self.samples.append((time.time(), {n: v["rss"] for n, v in snap.items()}))

    def _run(self):
        ticks = 0
        while not self._stop.wait(self.interval):
            ticks += 1
            if ticks % 10 == 1:  # new children (gunicorn, prefork) appear rarely
                self._refresh_trees()
            snap = {
                name: {"rss": rss_bytes(pids), "pss": pss_bytes(pids)}
                for name, pids in self._trees.items()
            }
            self._note(snap)

    def report(self, per=None):
        """{name: {cpu_s, rss_before_mb, rss_peak_mb, rss_delta_mb, pss_peak_mb}}; per-1000 figures when `per` deliveries."""
        out = {}
        for name in self.roots:
            cpu = self.after[name]["cpu"] - self.before[name]["cpu"]
            entry = {
                "cpu_s": round(cpu, 2),
                "rss_before_mb": mb(self.before[name]["rss"]),
                "rss_peak_mb": mb(self.peak_rss[name]),
                "rss_after_mb": mb(self.after[name]["rss"]),
                "rss_delta_mb": mb(self.peak_rss[name] - self.before[name]["rss"]),
                "pss_peak_mb": mb(self.peak_pss[name]),
            }
            if per:
                entry["cpu_s_per_1000"] = round(cpu * 1000 / per, 3)
                entry["rss_delta_mb_per_1000"] = round(
                    (self.peak_rss[name] - self.before[name]["rss"]) / 2**20 * 1000 / per, 3)
            out[name] = entry
        return out


def mb(value):
    """Bytes as MiB, one decimal."""
    return round(value / 2**20, 1)
