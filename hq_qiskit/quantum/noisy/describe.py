"""What a ``NoisyEngine`` compiled, in a few lines (``NoisyEngine.describe``).

The first line is the circuit under noise (gates, error channels, readout, shots); the rest is
the route its values come from: the density-matrix plan (contractions, block reads, memory per
sample), or, when no density plan fits, the Pauli-string plan alone. A route the engine does not
run is named as refused, never described as if it ran.
"""

from __future__ import annotations

from typing import Any

import torch

from hq_qiskit.quantum.fast.shots import shots_line
from hq_qiskit.quantum.noisy import pauli as strings


def describe(engine: Any) -> str:
    """A few lines of a ``NoisyEngine`` (typed loosely, as in ``pauli.py``: the engine imports
    this module): noisy gates, readout and shots; then the route the values come from."""
    table = engine.table
    noisy = sum(c is not None for c in table.channels)
    head = (
        f"{len(engine.program.ops)} gates ({noisy} with an error channel) fused into "
        f"{len(engine.fused)} channels; readout error on {len(table.readout)} qubits, "
        f"correlated on {[list(q) for q, _ in table.correlated]}; "
        + shots_line(engine.shots, engine.measurements, engine.n_terms)
    )
    if engine.pauli is not None:
        refused = f"{len(engine.program.terms)} Pauli terms; density plan not used: "
        return "\n".join([head, refused + engine.density_refusal, strings.pauli_line(engine.pauli)])
    return "\n".join([head, *_density_lines(engine)])


def _density_lines(engine: Any) -> list[str]:
    """The density plan's contractions and reads at ``plan_batch``, and its memory per sample."""
    plan = engine.plan
    sizes = sorted({len(c.qubits) for c in plan.contractions})
    reads = engine.trace_plan(engine.plan_batch)
    pieces = [p for row in reads.pieces for p in row]
    backward = [p for p in pieces if p.trace is not None]
    itemsize = 16 if engine.real_dtype == torch.float64 else 8
    return [
        f"{len(engine.program.terms)} Pauli terms in {len(plan.contractions)} contractions, "
        f"cuts {list(plan.cuts)}, cone widths {sizes}; at B={engine.plan_batch}: "
        f"{len(reads.block_ops)} block ops forward, {len(pieces)} block reads of which "
        f"{len(backward)} backward ({len({p.trace for p in backward})} maps)",
        f"~{reads.entries_per_sample * itemsize / 2**20:.2f} MiB of density matrices per sample "
        f"at B={engine.plan_batch}",
    ]
