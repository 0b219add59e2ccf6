"""What the benchmarks ran on, for their reports: figures from different CPUs are not comparable."""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_line() -> str:
    """E.g. "Intel(R) Xeon(R) Processor, 2 logical CPUs"."""
    return f"{cpu_model()}, {os.cpu_count()} logical CPUs"
