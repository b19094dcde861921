"""The enrichment QCNN shared by HQ-UNet and HQF-Net (16 qubits, 48 inputs, 32 outputs).

Layout: qubit ``q = 4 * row + col`` on a 4x4 grid. Input ``x[c * 16 + q]`` is channel ``c`` of
grid cell ``q`` (the flattening of a (3, 4, 4) feature map). Encoding ("spectral-aware"):
RX(s * x[q]), RY(s * x[16 + q]), RZ(s * x[32 + q]) on qubit q, s = ``angle_scale`` (pi).

The two-qubit filter F(theta, phi) on a pair (a, b) is RY(theta1) x RY(theta2), then CNOT,
then RY(phi1) x RY(phi2). A horizontal pass applies F_R to the pairs (c, c + 1) of every row,
then a vertical pass applies F_C to the pairs (r, r + 1) of every column; each pass shares its
four angles. Weights per layer: w[0:4] for F_R (theta1, theta2, phi1, phi2), w[4:8] for F_C.

Observables, in output order: Z0..Z15 then X0..X15.
"""

from __future__ import annotations

import math
from typing import Literal

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables

GRID = 4
N_QUBITS = GRID * GRID


def _apply_filter(
    qc: QuantumCircuit, a: int, b: int, w: ParameterVector, offset: int, cnot: str
) -> None:
    """Append F(theta, phi) = [RY(phi1) x RY(phi2)] . CNOT . [RY(theta1) x RY(theta2)]."""
    qc.ry(w[offset], a)
    qc.ry(w[offset + 1], b)
    if cnot == "first":
        qc.cx(a, b)
    else:
        qc.cx(b, a)
    qc.ry(w[offset + 2], a)
    qc.ry(w[offset + 3], b)


def enrichment_qcnn(
    *,
    layers: int = 1,
    angle_scale: float = math.pi,
    pair_order: Literal["forward", "reverse"] = "forward",
    cnot: Literal["first", "second"] = "first",
) -> QuantumBlock:
    """Build the enrichment QCNN.

    Args:
        layers: how many times the (horizontal, vertical) pass pair is repeated; 8 weights each.
        angle_scale: multiplies every input before encoding, radians per unit input.
        pair_order: "forward" visits pairs (0, 1), (1, 2), (2, 3) along a row (or column);
            "reverse" visits them from the far end.
        cnot: "first" puts the control on the pair's first qubit (left or upper), "second"
            on the other.

    Returns:
        A block with 48 inputs ``x``, ``8 * layers`` weights ``w`` and 32 observables.
    """
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    x = ParameterVector("x", 3 * N_QUBITS)
    w = ParameterVector("w", 8 * layers)
    qc = QuantumCircuit(N_QUBITS, name="enrichment_qcnn")
    for q in range(N_QUBITS):
        qc.rx(angle_scale * x[q], q)
        qc.ry(angle_scale * x[N_QUBITS + q], q)
        qc.rz(angle_scale * x[2 * N_QUBITS + q], q)
    steps = list(range(GRID - 1))
    if pair_order == "reverse":
        steps.reverse()
    for layer in range(layers):
        base = 8 * layer
        for row in range(GRID):
            for c in steps:
                _apply_filter(qc, GRID * row + c, GRID * row + c + 1, w, base, cnot)
        for col in range(GRID):
            for r in steps:
                _apply_filter(qc, GRID * r + col, GRID * (r + 1) + col, w, base + 4, cnot)
    observables, names = single_qubit_observables(N_QUBITS, "ZX")
    return QuantumBlock("enrichment_qcnn", qc, x, w, observables, names)
