"""What runs: one builder per quantum block, each returning a ``QuantumBlock``.

    enrichment_qcnn   16 qubits, 48 inputs, 8 weights per layer, 32 outputs (both papers)
    expert_local, expert_global, expert_diagonal   HQF-Net's QMoE experts, 32 in, 32 out

    ring.ring_block             a register-wide test circuit for the engine (not a model block,
                                not in BLOCKS)
    brickwork.brickwork_block   a deep brickwork test circuit for the engine's adjoint gradients
                                (not a model block, not in BLOCKS)

``BLOCKS`` maps each block's name (the stem of its files in ``circuits/``) to its builder.
This package never imports torch.
"""

from collections.abc import Callable

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables
from hq_qiskit.circuits.enrichment import enrichment_qcnn
from hq_qiskit.circuits.experts import (
    expert_circuit,
    expert_diagonal,
    expert_global,
    expert_local,
)

BLOCKS: dict[str, Callable[..., QuantumBlock]] = {
    "enrichment_qcnn": enrichment_qcnn,
    "expert_local": expert_local,
    "expert_global": expert_global,
    "expert_diagonal": expert_diagonal,
}


def build_block(name: str, **options) -> QuantumBlock:
    """Build a registered block by name; an unknown name lists the valid ones."""
    if name not in BLOCKS:
        raise KeyError(f"unknown quantum block {name!r}; choose one of {sorted(BLOCKS)}")
    return BLOCKS[name](**options)


__all__ = [
    "BLOCKS",
    "QuantumBlock",
    "build_block",
    "enrichment_qcnn",
    "expert_circuit",
    "expert_diagonal",
    "expert_global",
    "expert_local",
    "single_qubit_observables",
]
