"""How many CPUs this process may use: its affinity mask (taskset, container CPU sets), not the machine's count."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on; os.cpu_count() counts the machine's even under `taskset` or a cgroup CPU set."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1
