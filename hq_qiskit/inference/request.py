"""The resolve stage of a device run: the command's flags -> entry, target and options.

``prepare`` checks the flags, looks the entry up, asks its kind (``hardware/kinds.py``) where
its blocks run, sizes a local run for a laptop, and fills what was left out from the entry.
Nothing runs and nothing is submitted here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import MITIGATIONS, Backend, get_backend
from hq_qiskit.hardware.kinds import resolve_run, run_kind
from hq_qiskit.hardware.runtime import RuntimeTarget
from hq_qiskit.inference.options import RunOptions, RunRequest
from hq_qiskit.inference.plan import laptop_sizes
from hq_qiskit.training.run_dir import latest_run

Echo = Callable[[str], None]
# RunOptions fields ``prepare`` resolves; every other one is the request's field as typed
RESOLVED = ("shots", "precision", "patches", "data", "result_timeout_s")


@dataclass(frozen=True)
class PreparedRun:
    """A device run ready to plan: the checkpoint, the entry (mitigation and fractional gates
    as asked), where its blocks run, the output folder and the resolved options."""

    checkpoint: Path
    entry: Backend
    target: RuntimeTarget
    out: Path
    opts: RunOptions


def parse_mitigation(text: str | None) -> tuple[str, ...] | None:
    """--mitigation "trex,twirling" -> ("trex", "twirling"); "none" -> (); None: the entry's."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    names = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in MITIGATIONS]
    if unknown:
        raise ConfigError(
            f"--mitigation {text!r}: unknown {', '.join(unknown)}; accepted: none "
            f"or a comma list of {', '.join(MITIGATIONS)}"
        )
    return names


def with_mitigation(backend: Backend, mitigation: Sequence[str] | None) -> Backend:
    """The entry with its requested mitigation replaced (None keeps the entry's)."""
    if mitigation is None:
        return backend
    return dataclasses.replace(backend, mitigation=tuple(mitigation))


def _entry(req: RunRequest) -> Backend:
    """The backends.toml entry of ``--backend``, checked to run device inference, with the
    mitigation and fractional gates asked for."""
    try:
        entry = get_backend(req.backend)
    except ConfigError as err:
        raise ConfigError(f"--backend: {err}") from None
    run_kind(entry)  # before --shots: an Aer entry's budget is not it
    entry = with_mitigation(entry, parse_mitigation(req.mitigation))
    if req.fractional_gates:
        entry = dataclasses.replace(entry, fractional_gates=True)
    return entry


def _check_flags(req: RunRequest) -> None:
    """Refuse flags that contradict each other, each with one line and its fix."""
    if (req.shots is not None and req.shots < 0) or (
        req.precision is not None and req.precision < 0
    ):
        raise ConfigError("--shots and --precision must be >= 0")
    if req.simulator and (req.ideal_simulator or req.device_only):
        raise ConfigError(
            f"--simulator {req.simulator} runs locally with device noise; drop "
            f"{'--ideal-simulator' if req.ideal_simulator else '--device-only'}"
        )


def ignored_flags(req: RunRequest, target: RuntimeTarget) -> list[str]:
    """One line per flag given that does nothing where the blocks run (local modes)."""
    if not target.local:
        return []
    where = "the exact noisy engine" if target.executor != "local" else "local testing mode"
    lines = []
    if req.max_qpu_seconds is not None:
        lines.append(
            f"--max-qpu-seconds {req.max_qpu_seconds:g}: not applied, {where} spends no QPU "
            "time (the full-size device run is priced beside the plan)"
        )
    if req.mitigation is not None and parse_mitigation(req.mitigation):
        lines.append(
            f"--mitigation {req.mitigation}: not applied, {where} applies no mitigation "
            "(run.json records none; --compare-mitigation measures them locally)"
        )
    if req.max_execution_time is not None:
        lines.append(
            f"--max-execution-time {req.max_execution_time}: not applied, {where} has no QPU "
            "time limit"
        )
    return lines


def prepare(req: RunRequest, echo: Echo) -> PreparedRun:
    """Resolve a request: entry, target, shots and precision, checkpoint and output folder.

    Raises:
        ConfigError: an unknown or Aer ``--backend``, contradicting flags, no credentials with
            ``--device-only``, a device the account cannot use, --shots 0 without precision.
    """
    entry = _entry(req)
    _check_flags(req)
    target = resolve_run(
        entry, ideal=req.ideal_simulator, device_only=req.device_only, simulator=req.simulator
    )
    for line in ignored_flags(req, target):
        echo(line)
    shots, precision, patches, sized = req.shots, req.precision, req.patches, ""
    if req.simulator is None:  # the exact noisy engine needs no laptop sizing
        shots, precision, patches, sized = laptop_sizes(target, shots, precision, patches)
    shots = entry.shots if shots is None else shots
    precision = entry.precision if precision is None else precision
    if shots == 0 and precision == 0:
        raise ConfigError("--shots 0 needs --precision > 0 (hardware values are never exact)")
    checkpoint = req.checkpoint
    if checkpoint is None:
        checkpoint = latest_run(req.runs_dir)
        echo(f"no run folder given: using the latest run under {req.runs_dir}/, {checkpoint}")
    if sized:
        echo(sized)
    out = req.out
    if out is None:
        run_dir = checkpoint if checkpoint.is_dir() else checkpoint.parent
        out = run_dir / f"hardware-{entry.name}"
    as_typed = {
        f.name: getattr(req, f.name)
        for f in dataclasses.fields(RunOptions)
        if f.name not in RESOLVED
    }
    opts = RunOptions(
        **as_typed,
        shots=shots,
        precision=precision,
        patches=patches,
        data=str(req.data) if req.data is not None else None,
        result_timeout_s=req.result_timeout,
    )
    return PreparedRun(checkpoint, entry, target, out, opts)
