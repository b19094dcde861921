"""The resolved settings of one device run (``RunOptions``) and the request they come from.

``RunRequest`` holds the command's flags as typed (None where left out); ``request.prepare``
turns it into ``RunOptions`` with the entry's defaults and laptop sizing applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunOptions:
    """Settings of one hardware inference run (the command's flags, resolved).

    Attributes:
        shots: shots per circuit (0: use ``precision``); precision: target standard error.
        tiles, patches: first ``tiles`` tiles of the split, ``patches`` per tile (None: all).
        resume: reuse saved values or finished device jobs in ``out/jobs``.
        seed: simulator seed in local testing mode.
        batch_size: patches per classical forward call.
        max_qpu_seconds: refuse a device run whose estimated QPU time is above this.
        yes: submit to a device without asking.
        max_execution_time: each job's QPU time limit, seconds (None: IBM's default).
        result_timeout_s: stop waiting for a job after this many seconds (None: wait).
        simulator: None (the runtime target) or "exact-noisy": every block on the exact noisy
            engine with its device noise (``hardware/local_sim.py``), labelled as such.
        aer_check_samples: exact-noisy only: samples of a narrow block also run on Aer.
        compare_mitigation: measure TREX/ZNE/twirling/DD against exact values on a local
            noisy simulation of each narrow block (``hardware/mitigation.py``).
        compare_samples: samples per block in that comparison.
    """

    shots: int
    precision: float
    tiles: int = 1
    patches: int | None = None
    split: str = "val"
    data: str | None = None
    resume: bool = False
    seed: int = 0
    batch_size: int = 16
    max_qpu_seconds: float | None = None
    yes: bool = False
    max_execution_time: int | None = None
    result_timeout_s: float | None = None
    simulator: str | None = None
    aer_check_samples: int = 2
    compare_mitigation: bool = False
    compare_samples: int = 4


def shots_per_circuit(opts: RunOptions) -> int:
    """Shots of one circuit: ``shots``, else ceil(1 / precision**2)."""
    return opts.shots if opts.shots else math.ceil(1.0 / opts.precision**2)


@dataclass(frozen=True)
class RunRequest:
    """The flags of ``hq-qiskit run`` as typed (None: left out, the entry's or a default).

    Attributes:
        backend: the backends.toml entry name; checkpoint: a run folder or ``.pt`` (None: the
            latest run under ``runs_dir``); out: output folder (None: beside the checkpoint).
        shots, precision, patches: None takes the entry's (or laptop sizing locally).
        mitigation: "none" or a comma list (None: the entry's).
        ideal_simulator, simulator, fractional_gates, device_only: where the blocks run.
        The other fields are ``RunOptions``'s.
    """

    backend: str
    checkpoint: Path | None = None
    runs_dir: Path = Path("runs")
    out: Path | None = None
    data: Path | None = None
    split: str = "val"
    tiles: int = 1
    patches: int | None = None
    shots: int | None = None
    precision: float | None = None
    mitigation: str | None = None
    ideal_simulator: bool = False
    simulator: str | None = None
    aer_check_samples: int = 2
    compare_mitigation: bool = False
    compare_samples: int = 4
    fractional_gates: bool = False
    device_only: bool = False
    resume: bool = False
    max_qpu_seconds: float | None = None
    yes: bool = False
    max_execution_time: int | None = None
    result_timeout: float | None = None
    seed: int = 0
    batch_size: int = 16
