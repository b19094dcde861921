"""One line naming the machine a benchmark ran on, shared by the bench/ scripts."""

from __future__ import annotations

import os
import platform

import torch


def describe_machine() -> str:
    """CPU model, visible cores, torch threads and the load average when the run started."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, "
        f"load average {load:.1f} at start"
    )
