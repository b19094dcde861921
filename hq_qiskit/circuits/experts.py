"""The three QMoE expert circuits of HQF-Net: "local", "global" and "diagonal".

Every expert has 16 qubits on the 4x4 grid (``q = 4 * row + col``) and 32 inputs ``u``, the
enrichment QCNN's 32 outputs: RY(s * u[q]) then RZ(s * u[16 + q]) on qubit q, s =
``angle_scale``. Each layer is one entangling pattern of CNOTs (control on the pair's first
qubit) followed by trainable RY(w) and RZ(w) on every qubit (32 weights per layer). Outputs are
Z0..Z15 then X0..X15. The patterns (our choice; the paper names the experts only):

- local: nearest neighbours, every row pair (c, c + 1) then every column pair (r, r + 1);
- global: a ring over all 16 qubits (q, q + 1 mod 16), then long-range pairs (q, q + 8);
- diagonal: both grid diagonals, (r, c)-(r + 1, c + 1) then (r, c + 1)-(r + 1, c).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables

GRID = 4
N_QUBITS = GRID * GRID
N_INPUTS = 2 * N_QUBITS


def local_pairs() -> list[tuple[int, int]]:
    """Nearest-neighbour pairs: rows first, then columns (24 pairs)."""
    rows = [(GRID * r + c, GRID * r + c + 1) for r in range(GRID) for c in range(GRID - 1)]
    cols = [(GRID * r + c, GRID * (r + 1) + c) for c in range(GRID) for r in range(GRID - 1)]
    return rows + cols


def global_pairs() -> list[tuple[int, int]]:
    """A ring over all qubits, then the pairs half a register apart (24 pairs)."""
    ring = [(q, (q + 1) % N_QUBITS) for q in range(N_QUBITS)]
    far = [(q, q + N_QUBITS // 2) for q in range(N_QUBITS // 2)]
    return ring + far


def diagonal_pairs() -> list[tuple[int, int]]:
    """Main diagonals, then anti-diagonals of the grid (18 pairs)."""
    main = [
        (GRID * r + c, GRID * (r + 1) + c + 1) for r in range(GRID - 1) for c in range(GRID - 1)
    ]
    anti = [
        (GRID * r + c + 1, GRID * (r + 1) + c) for r in range(GRID - 1) for c in range(GRID - 1)
    ]
    return main + anti


PATTERNS: dict[str, Callable[[], list[tuple[int, int]]]] = {
    "local": local_pairs,
    "global": global_pairs,
    "diagonal": diagonal_pairs,
}


def expert_circuit(kind: str, *, layers: int = 1, angle_scale: float = math.pi) -> QuantumBlock:
    """Build one QMoE expert.

    Args:
        kind: "local", "global" or "diagonal".
        layers: entangling-plus-rotation layers; 32 weights each.
        angle_scale: multiplies every input before encoding, radians per unit input.

    Returns:
        A block named ``expert_<kind>`` with 32 inputs ``u``, ``32 * layers`` weights ``w`` and
        32 observables.
    """
    if kind not in PATTERNS:
        raise ValueError(f"unknown expert {kind!r}; choose one of {sorted(PATTERNS)}")
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    u = ParameterVector("u", N_INPUTS)
    w = ParameterVector("w", 2 * N_QUBITS * layers)
    qc = QuantumCircuit(N_QUBITS, name=f"expert_{kind}")
    for q in range(N_QUBITS):
        qc.ry(angle_scale * u[q], q)
        qc.rz(angle_scale * u[N_QUBITS + q], q)
    for layer in range(layers):
        for a, b in PATTERNS[kind]():
            qc.cx(a, b)
        base = 2 * N_QUBITS * layer
        for q in range(N_QUBITS):
            qc.ry(w[base + q], q)
            qc.rz(w[base + N_QUBITS + q], q)
    observables, names = single_qubit_observables(N_QUBITS, "ZX")
    return QuantumBlock(f"expert_{kind}", qc, u, w, observables, names)


def expert_local(**kwargs) -> QuantumBlock:
    """The "local" expert: nearest-neighbour entanglers."""
    return expert_circuit("local", **kwargs)


def expert_global(**kwargs) -> QuantumBlock:
    """The "global" expert: a ring plus long-range entanglers."""
    return expert_circuit("global", **kwargs)


def expert_diagonal(**kwargs) -> QuantumBlock:
    """The "diagonal" expert: entanglers along both grid diagonals."""
    return expert_circuit("diagonal", **kwargs)
