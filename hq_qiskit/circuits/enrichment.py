"""The enrichment QCNN shared by HQ-UNet and HQF-Net (16 qubits, 48 inputs, 32 outputs).

Layout: qubit ``q = C * row + col`` on an R x C grid (4 x 4 in both papers; any grid with
``rows=R, cols=C``, n = R * C qubits). Input ``x[c * n + q]`` is channel ``c`` of grid cell
``q`` (the flattening of a (3, R, C) feature map). Encoding ("spectral-aware"):
RX(s * x[q]), RY(s * x[n + q]), RZ(s * x[2n + q]) on qubit q, s = ``angle_scale`` (pi).

The two-qubit filter F(theta, phi) on a pair (a, b) is RY(theta1) x RY(theta2), then CNOT,
then RY(phi1) x RY(phi2). A horizontal pass applies F_R to the pairs (c, c + 1) of every row,
then a vertical pass applies F_C to the pairs (r, r + 1) of every column; each pass shares its
four angles. Weights per layer: w[0:4] for F_R (theta1, theta2, phi1, phi2), w[4:8] for F_C.

Observables, in output order: Z0..Z(n-1) then X0..X(n-1).

Rows are independent during the horizontal pass, and every column's observables need only the
reduced state of that column after it, so the fast engine simulates R row states of 2^C
amplitudes and C density matrices of 2^R x 2^R: an 8x8 grid (64 qubits) is exact and cheap.
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
    rows: int = GRID,
    cols: int = GRID,
    layers: int = 1,
    angle_scale: float = math.pi,
    pair_order: Literal["forward", "reverse"] = "forward",
    cnot: Literal["first", "second"] = "first",
) -> QuantumBlock:
    """Build the enrichment QCNN.

    Args:
        rows, cols: the qubit grid, R x C (4 x 4 in the papers); the feature map is pooled to it.
        layers: how many times the (horizontal, vertical) pass pair is repeated; 8 weights each.
        angle_scale: multiplies every input before encoding, radians per unit input.
        pair_order: "forward" visits pairs (0, 1), (1, 2), (2, 3) along a row (or column);
            "reverse" visits them from the far end.
        cnot: "first" puts the control on the pair's first qubit (left or upper), "second"
            on the other.

    Returns:
        A block with 3n inputs ``x``, ``8 * layers`` weights ``w`` and 2n observables, n = R * C
        (48, 8 and 32 on the default 4 x 4 grid).
    """
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    if rows < 1 or cols < 1:
        raise ValueError(f"the qubit grid must be at least 1x1, got {rows}x{cols}")
    n = rows * cols
    x = ParameterVector("x", 3 * n)
    w = ParameterVector("w", 8 * layers)
    qc = QuantumCircuit(n, name="enrichment_qcnn")
    for q in range(n):
        qc.rx(angle_scale * x[q], q)
        qc.ry(angle_scale * x[n + q], q)
        qc.rz(angle_scale * x[2 * n + q], q)
    along_row, along_col = list(range(cols - 1)), list(range(rows - 1))
    if pair_order == "reverse":
        along_row.reverse()
        along_col.reverse()
    for layer in range(layers):
        base = 8 * layer
        for row in range(rows):
            for c in along_row:
                _apply_filter(qc, cols * row + c, cols * row + c + 1, w, base, cnot)
        for col in range(cols):
            for r in along_col:
                _apply_filter(qc, cols * r + col, cols * (r + 1) + col, w, base + 4, cnot)
    observables, names = single_qubit_observables(n, "ZX")
    return QuantumBlock("enrichment_qcnn", qc, x, w, observables, names)
