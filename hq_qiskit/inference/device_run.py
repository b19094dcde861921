"""A trained model's inference with every quantum block executed on a device-run target.

The pipeline, each stage a module of this package (the design note in docs/design.md shows
the calls from ``hq-qiskit run`` down):

1. resolve (``request.py``): the flags -> the entry, where its blocks run (its kind's row of
   ``hardware/kinds.py`` resolves the target) and the run's options.
2. pass 0 (``passes.py``): the exact model everywhere: the ideal prediction, the call order
   and every block's inputs.
3. plan (``plan.py``): the cost (samples, circuits, shots, QPU seconds per block and in all,
   local wall time) is printed; a device run over ``--max-qpu-seconds`` is refused, and one
   not confirmed (unless ``--yes``) is not submitted. Nothing is submitted before this point.
4. waves (``passes.dependency_waves``): which blocks read others' outputs, found by
   perturbing each block's values on one patch (HQF-Net's experts wait for their gate).
5. execute (``execute.py``): wave by wave, every block on its target's executor
   (``hardware/executors.py``: IBM device, runtime local mode, exact noisy engine); a
   wave's values replay from then on. A last pass with every block replaying gives the
   hardware prediction.
6. record (``record.py``): each block's row from its job's own record; ``run.json``/``run.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.fleet import rzz_out_of_range
from hq_qiskit.hardware.layout import MappedCircuit, isa_block
from hq_qiskit.hardware.resume import mark_stale
from hq_qiskit.hardware.runtime import RuntimeTarget
from hq_qiskit.inference.execute import WaveExecutor
from hq_qiskit.inference.options import RunOptions, RunRequest, shots_per_circuit
from hq_qiskit.inference.passes import ModelPasses, load_exact_model
from hq_qiskit.inference.patches import Patches, select_patches
from hq_qiskit.inference.plan import (
    check_budget,
    cost_rows,
    full_size_line,
    jobs_opened,
    local_time_line,
    measurement_groups,
    plan_cost,
    plan_lines,
)
from hq_qiskit.inference.record import run_result, write_result
from hq_qiskit.inference.request import prepare

Echo = Callable[[str], None]
Confirm = Callable[[str], bool]
__all__ = ["RunOptions", "RunRequest", "run_device", "run_inference"]


def run_device(
    req: RunRequest, *, echo: Echo = tqdm.write, confirm: Confirm = lambda q: False
) -> tuple[dict[str, Any], Path]:
    """``hq-qiskit run`` as a library call: resolve the request, then ``run_inference``.

    Returns:
        (the result written to ``run.json``, the output folder).
    """
    run = prepare(req, echo)
    result = run_inference(
        run.checkpoint, run.entry, run.target, run.out, run.opts, echo=echo, confirm=confirm
    )
    return result, run.out


def _check_out(out: Path, opts: RunOptions, echo: Echo) -> None:
    """Mark the local jobs a stopped run left SUBMITTED as stale; refuse an output folder
    holding an earlier run's jobs unless resuming."""
    jobs = Path(out) / "jobs"
    for tag in mark_stale(jobs):
        echo(f"{jobs / tag}.json: a local job left SUBMITTED by a run that stopped before its "
             "result; marked STALE (--resume runs it again)")  # fmt: skip
    if not opts.resume and jobs.is_dir() and any(jobs.iterdir()):
        raise ConfigError(
            f"--out {out} already holds jobs of an earlier run; pass --resume to "
            "reuse their values (and resubmit failed jobs), or choose another --out"
        )


def _announce(target: RuntimeTarget, path: Path, n_blocks: int, patches: Patches, shots: int):
    """Where the blocks run and what the run covers, as two lines."""
    return [
        target.note,
        f"checkpoint {path}: {n_blocks} quantum block(s); {len(patches.ids)} patches of "
        f"{len(patches.tiles)} tile(s) ({', '.join(patches.tiles)}), {shots} shots per circuit",
    ]


def _plan_pass(
    passes: ModelPasses,
    order: list[int],
    mapped: list[MappedCircuit],
    groups: dict[int, int],
    target: RuntimeTarget,
    opts: RunOptions,
    jobs: list[int],
    echo: Echo,
    confirm: Confirm,
) -> list[dict[str, Any]]:
    """The cost plan of the called blocks, printed; the budget and the question applied."""
    plan = plan_cost(
        target,
        [passes.taps[i].block.name for i in order],
        [mapped[i] for i in order],
        [passes.pub(i, mapped[i]) for i in order],
        [groups[i] for i in order],
        shots_per_circuit(opts),
        opts.precision,
        jobs,
    )
    for line in plan_lines(plan, target):
        echo(line)
    if (line := local_time_line(plan, target)) is not None:
        echo(line)
    check_budget(plan, target, opts, confirm)
    return plan


def _full_size(
    mapped: list[MappedCircuit],
    groups: list[int],
    target: RuntimeTarget,
    backend: Backend,
    patches: Patches,
    jobs: list[int],
) -> str:
    """Offline: the line pricing the full-size device run (the entry's shots, every patch of
    the chosen tiles, the entry's mitigation) beside the rehearsal's table."""
    shots = backend.shots or math.ceil(1.0 / backend.precision**2)
    samples = patches.per_tile * len(patches.tiles)
    what = f"{samples} patches of {len(patches.tiles)} tile(s), {shots} shots (the entry's)"
    return full_size_line(target, mapped, groups, samples, shots, backend.mitigation, what, jobs)


def check_rzz_angles(passes: ModelPasses, order: list[int], mapped: list[MappedCircuit]) -> None:
    """Refuse, before anything is submitted, a block whose fractional RZZ angles leave IBM's
    (0, pi/2] for some sample: IBM rejects them at submission, and the transpiler cannot fold
    an angle that is still a parameter (qiskit-ibm-runtime's FoldRzzAngle skips those)."""
    for i in order:
        bad = rzz_out_of_range(mapped[i], passes.pub(i, mapped[i])[2])
        if bad is not None:
            angle, k = bad
            raise ConfigError(
                f"block {passes.taps[i].block.name}: fractional RZZ angle {angle:.4f} rad "
                f"(sample {k}) is outside (0, pi/2], which IBM refuses at submission; nothing "
                "was submitted: drop --fractional-gates (or fractional_gates in backends.toml)"
            )


def _waves_pass(passes: ModelPasses, order: list[int], echo: Echo) -> list[list[int]]:
    """The dependency waves, said when blocks go together."""
    waves = passes.waves(order)
    if len(waves) < len(order):
        echo(
            "independent blocks are submitted together: "
            + " | ".join(", ".join(passes.taps[i].block.name for i in wave) for wave in waves)
        )
    return waves


def _cost_scopes(patches: Patches, split: str) -> dict[str, int]:
    """Samples of this run, one tile and the whole split, for ``plan.cost_rows``."""
    return {
        "this run": len(patches.ids),
        "per tile": patches.per_tile,
        f"full input ({patches.split_tiles} tiles of split {split})": patches.per_tile
        * patches.split_tiles,
    }


def run_inference(
    checkpoint: Path,
    backend: Backend,
    target: RuntimeTarget,
    out: Path,
    opts: RunOptions,
    *,
    echo: Echo = tqdm.write,
    confirm: Confirm = lambda question: False,
) -> dict[str, Any]:
    """Run a checkpoint's inference with its quantum blocks on ``target``; write run.json/.md.

    Nothing is submitted before the cost plan is printed and the budget checked (``plan.py``).

    Args:
        checkpoint: a ``.pt`` file or a run folder (best.pt, else last.pt).
        backend: the backends.toml entry (transpile settings; its mitigation as requested).
        target: where the blocks run (``kinds.resolve_run``).
        out: output folder; job records go to ``out/jobs``, values to ``out/values``.
        opts: shots, data selection, resume, budget.
        confirm: asked a yes/no question before a device run spends QPU time.

    Returns:
        The result written to ``out/run.json`` (see ``report.markdown`` for its fields).
    """
    start = time.perf_counter()
    model, path, config = load_exact_model(checkpoint)
    patches = select_patches(config, opts.data, opts.split, opts.tiles, opts.patches)
    _check_out(out, opts, echo)
    passes = ModelPasses(model, patches.dataset, opts.batch_size)
    taps = passes.taps
    mapped = [isa_block(t.block, backend, target.backend) for t in taps]  # CircuitError if wide
    shots = shots_per_circuit(opts)
    for line in _announce(target, path, len(taps), patches, shots):
        echo(line)
    ideal, masks, order = passes.exact_pass()
    groups = {i: measurement_groups(taps[i].block.observables) for i in order}
    check_rzz_angles(passes, order, mapped)
    waves = _waves_pass(passes, order, echo)
    jobs = jobs_opened(order, waves)  # the 2 s per job of the lower bound, once per job
    plan = _plan_pass(passes, order, mapped, groups, target, opts, jobs, echo, confirm)
    if target.local and (backend.shots or backend.precision):  # after the rehearsal's table
        echo(_full_size([mapped[i] for i in order], [groups[i] for i in order], target, backend,
                        patches, jobs))  # fmt: skip
    executor = WaveExecutor(
        passes, mapped, groups, dict(zip(order, plan, strict=True)), target, backend, opts,
        patches, out, echo,
    )  # fmt: skip
    rows = executor.run(waves, order)
    hardware, _ = passes.run([], "hardware")
    cost = cost_rows(rows, [mapped[i] for i in order], target, _cost_scopes(patches, opts.split),
                     shots, jobs)  # fmt: skip
    result = run_result(
        checkpoint=path, backend=backend, config=config, opts=opts, shots=shots,
        patches=patches, predictions={"ideal": ideal, "hardware": hardware, "masks": masks},
        block_rows=rows, plan=plan, cost=cost, seconds=time.perf_counter() - start,
    )  # fmt: skip
    write_result(out, result)
    return result
