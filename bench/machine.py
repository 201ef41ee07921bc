"""What machine the figures come from."""

import os
import platform
import subprocess


def describe():
    """nproc, CPU model, memory, kernel, Python, load at start."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        redis_version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                       text=True, timeout=5).stdout.split()[2]
    except (OSError, IndexError, subprocess.SubprocessError):
        redis_version = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis": redis_version.replace("v=", ""),
        "load_at_start": os.getloadavg()[0],
    }
