"""The execute stage of a device run: every block on its target's executor, wave by wave.

A wave's blocks go out as ONE job, one PUB per block with its parameter values broadcast over
the patches (every record written first), before any is waited on; all jobs of a run share one
Batch or Session, opened at the first submission (locally over the region of all the run's
blocks, ``jobs.open_mode``). A finished wave's values replay from then on, so a later block
sees the hardware values of the blocks that feed it. Each block's row (``record.block_row``,
naming its job id and PUB index) is written with its values as soon as it has them; the exact
noisy engine adds its Aer check, ``--compare-mitigation`` its table.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.executors import BlockJob, finish
from hq_qiskit.hardware.jobs import BlockResult, open_mode
from hq_qiskit.hardware.kinds import execute
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.local_sim import (
    AER_CHECK_TOL,
    ENGINE,
    aer_reference,
    block_noise,
    exact_noisy_values,
    mean_abs,
)
from hq_qiskit.hardware.runtime import RuntimeTarget
from hq_qiskit.inference.mitigation_report import mitigation_table as measured_mitigation
from hq_qiskit.inference.options import RunOptions, shots_per_circuit
from hq_qiskit.inference.passes import ModelPasses
from hq_qiskit.inference.patches import Patches
from hq_qiskit.inference.record import block_row, save_values

Echo = Callable[[str], None]


class WaveExecutor:
    """Runs the waves of one device run and keeps each block's row.

    Attributes:
        passes: the model passes (taps, inputs, PUBs); mapped: ISA circuits by tap index.
        groups, plan: measurement groups and cost-plan row by tap index.
        target, backend: where the blocks run and the entry (mitigation requested).
        rows: the block rows written so far, in execution order.
    """

    def __init__(
        self,
        passes: ModelPasses,
        mapped: list[MappedCircuit],
        groups: dict[int, int],
        plan: dict[int, dict[str, Any]],
        target: RuntimeTarget,
        backend: Backend,
        opts: RunOptions,
        patches: Patches,
        out: Path,
        echo: Echo,
    ) -> None:
        self.passes, self.mapped, self.groups, self.plan = passes, mapped, groups, plan
        self.target, self.backend, self.opts = target, backend, opts
        self.patches, self.out, self.echo = patches, Path(out), echo
        self.tags: dict[int, str] = {}
        self.rows: list[dict[str, Any]] = []

    def run(self, waves: list[list[int]], order: list[int]) -> list[dict[str, Any]]:
        """Execute every wave in order; the block rows. ``order``: the blocks in call order
        (their job tags count in it)."""
        self.tags = {i: f"{k:02d}-{self.passes.taps[i].block.name}" for k, i in enumerate(order)}
        with contextlib.ExitStack() as stack:
            opened: list[Any] = []

            def run_mode():  # one Batch / Session for the run, opened at the first submission
                if not opened:
                    blocks = [self.mapped[i] for i in order]
                    opened.append(stack.enter_context(open_mode(self.target, blocks)))
                return opened[0]

            for wave in waves:
                self.wave(wave, run_mode)
        return self.rows

    def job(self, i: int) -> BlockJob:
        """Block ``i``'s job from its recorded inputs (after its inputs pass)."""
        m, opts = self.mapped[i], self.opts
        return BlockJob(
            block=self.passes.taps[i].block,
            mapped=m,
            weights=self.passes.weights(i),
            inputs=self.passes.inputs(i),
            values=self.passes.pub(i, m)[2],
            tag=self.tags[i],
            run_dir=self.out,
            shots=opts.shots,
            precision=opts.precision,
            resume=opts.resume,
            seed=opts.seed,
            sample_ids=self.patches.ids,
            mitigation_requested=self.backend.mitigation,
            max_execution_time=opts.max_execution_time,
            result_timeout_s=opts.result_timeout_s,
            expected_s=self.plan[i]["local_seconds"] if self.target.local else 0.0,
        )

    def wave(self, wave: list[int], run_mode: Callable[[], Any]) -> None:
        """Record the wave's inputs (earlier waves replay), start the whole wave as one job
        (one PUB per block), then finish each block, set its replay and write its row."""
        self.passes.run([self.passes.taps[i] for i in wave], f"inputs of {len(wave)} block(s)")
        jobs = [self.job(i) for i in wave]
        started = execute(self.backend, self.target, jobs, mode=run_mode, echo=self.echo)
        for i, job, pending in zip(wave, jobs, started, strict=True):
            exact = self.passes.exact(i)
            result = finish(pending, job)
            self.passes.taps[i].replay = torch.from_numpy(result.evs)  # (N, n_obs)
            self.rows.append(self.row(i, job, exact, result))

    def row(self, i: int, job: BlockJob, exact: np.ndarray, result: BlockResult) -> dict:
        """Block ``i``'s row of run.json with its checks; its values saved beside it."""
        opts, shots = self.opts, shots_per_circuit(self.opts)
        row = block_row(
            job.block.name, job.tag, job.mapped, result, job.inputs, exact, self.groups[i]
        )
        row["cost_plan"] = self.plan[i]
        if self.target.executor == ENGINE:
            row["aer_check"] = aer_check(job, exact, result, self.backend, opts, self.echo)
        if opts.compare_mitigation:
            row["mitigation_comparison"] = measured_mitigation(
                job.block,
                job.mapped,
                self.target.backend,
                job.values[: opts.compare_samples],
                exact[: opts.compare_samples],
                shots=shots,
                seed=opts.seed,
            )
            for line in row["mitigation_comparison"].get("markdown", []):
                self.echo(line)
        row["shots"] = row["shots"] or shots
        row["mitigation_requested"] = row["mitigation_requested"] or list(self.backend.mitigation)
        arrays = {"inputs": job.inputs, "exact": exact, "hardware": result.evs}
        arrays.update(stds=result.stds, samples=np.asarray(self.patches.ids))
        save_values(self.out / "values", row, arrays)
        return row


def aer_check(
    job: BlockJob,
    exact: np.ndarray,
    result: BlockResult,
    backend: Backend,
    opts: RunOptions,
    echo: Echo,
) -> dict[str, Any]:
    """The exact noisy engine's exact mean against Aer's exact density matrix of the same
    circuit and noise (``local_sim.aer_reference``) on the first ``opts.aer_check_samples``
    samples, where the block is narrow enough; else the reason. Exact against exact: they must
    agree to ``AER_CHECK_TOL``, far below the noise signal |ideal - noisy|, so an engine that
    leaves noise out fails it (a sampled check at 4096 shots had a standard error of 0.014,
    above the whole noise effect)."""
    block, x = job.block, job.inputs
    k = min(opts.aer_check_samples, len(x))
    if k == 0:
        return {"skipped": "--aer-check-samples 0"}
    start = time.perf_counter()
    ref = aer_reference(block, job.weights, x[:k], block_noise(block, backend).noise_model)
    if ref is None:
        why = (
            f"not run: {block.circuit.num_qubits} qubits (Aer's density matrix holds 4**n "
            "numbers; narrow blocks only)"
        )
        return {"skipped": why}
    engine, _, _ = exact_noisy_values(block, job.weights, x[:k], backend, shots=0, seed=opts.seed)
    gap = float(np.abs(engine - ref).max())
    out = {
        "samples": k,
        "method": "exact vs exact: engine's noisy mean, Aer density matrix of the same circuit "
        "with each occurrence's channel, readout folded into the observables",
        "max_abs_engine_vs_aer": gap,
        "tolerance": AER_CHECK_TOL,
        "agrees": gap <= AER_CHECK_TOL,
        "noise_signal": mean_abs(ref, exact[:k]),  # mean |ideal - noisy|
        "mae_run_vs_aer": mean_abs(result.evs[:k], ref),  # the run's shot noise
        "seconds": time.perf_counter() - start,
    }
    echo(
        f"block {block.name}: exact noisy engine vs Aer (density matrix, exact, {k} samples): "
        f"max |difference| {gap:.1e} ({'agrees' if out['agrees'] else 'DISAGREES'}, tolerance "
        f"{AER_CHECK_TOL:.0e}) against a noise signal |ideal - noisy| of "
        f"{out['noise_signal']:.4f}"
    )
    return out
