"""Where the classical network runs: ``--device`` checked against this machine's torch.

``check_device`` refuses a device this torch cannot use (a CPU-only build asked for CUDA, a
CUDA index past the last GPU, a name torch does not know), so a command fails before it
writes anything; ``resolve_device`` turns a checked name into a ``torch.device``.
"""

from __future__ import annotations

import re

from hq_qiskit.errors import ConfigError

DEVICE_HELP = "auto (CUDA when available, else CPU), cpu, cuda, cuda:N or mps"


def _available() -> str:
    """The devices this machine offers, for messages: ``cpu``, ``cuda:0..N-1``, ``mps``."""
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        names.append("cuda" if n == 1 else f"cuda:0..{n - 1}")
    if torch.backends.mps.is_available():
        names.append("mps")
    return ", ".join(names)


def device_problem(name: str) -> str | None:
    """Why this machine's torch cannot run on device ``name`` (and what can), or None."""
    import torch

    text = str(name).strip().lower()
    if text in ("auto", "cpu"):
        return None
    match = re.fullmatch(r"(cuda|mps)(?::(\d+))?", text)
    if match is None:
        return f"not a device hq-qiskit can use; choose {DEVICE_HELP} (here: {_available()})"
    kind, index = match.group(1), match.group(2)
    if kind == "mps":
        if not torch.backends.mps.is_available():
            return "Apple MPS is not available to this torch; use --device cpu (or auto)"
        return None
    if not torch.cuda.is_available():
        return f"this torch ({torch.__version__}) sees no CUDA GPU; use --device cpu (or auto)"
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        return (
            f"this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}; "
            "choose one of those or --device auto"
        )
    return None


def check_device(name: str) -> str:
    """Return ``name`` (lower case, stripped) when this machine can run torch there.

    Raises:
        ConfigError: one line naming the device, why it cannot be used and what can.
    """
    problem = device_problem(name)
    if problem is not None:
        raise ConfigError(f"--device {name}: {problem}")
    return str(name).strip().lower()


def resolve_device(name: str):
    """``"auto"`` -> CUDA when available, else CPU; any other name checked, as ``torch.device``."""
    import torch

    text = check_device(name)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(text)
