"""Random parametrised circuits of standard gates with affine angles, for engine tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

# name -> (qubits, angles)
GATES = {
    "rx": (1, 1), "ry": (1, 1), "rz": (1, 1), "p": (1, 1), "u": (1, 3),
    "h": (1, 0), "x": (1, 0), "y": (1, 0), "z": (1, 0), "s": (1, 0), "sdg": (1, 0),
    "t": (1, 0), "sx": (1, 0),
    "cx": (2, 0), "cy": (2, 0), "cz": (2, 0), "swap": (2, 0),
    "crx": (2, 1), "cry": (2, 1), "crz": (2, 1), "cp": (2, 1),
    "rxx": (2, 1), "ryy": (2, 1), "rzz": (2, 1), "rzx": (2, 1),
    "cu": (2, 4), "ecr": (2, 0), "iswap": (2, 0), "cs": (2, 0), "csx": (2, 0),
    "ccx": (3, 0), "cswap": (3, 0), "ccz": (3, 0),
}  # fmt: skip


def random_circuit(
    n_qubits: int,
    n_gates: int,
    seed: int,
    n_in: int = 4,
    n_w: int = 4,
    max_weight: int = 3,
):
    """A circuit with inputs x (n_in) and weights w (n_w) and 3 random Pauli observables.

    Angles are affine: a constant, a scaled input or weight, or a sum of both. Two-qubit gates
    favour neighbours so that light cones stay interesting, with some long-range pairs; a
    three-qubit gate takes a neighbouring pair and one more qubit. Each observable is a sum of
    one or two Pauli strings on up to ``max_weight`` qubits.
    """
    rng = np.random.default_rng(seed)
    x, w = ParameterVector("x", n_in), ParameterVector("w", n_w)
    qc = QuantumCircuit(n_qubits)
    for q in range(n_qubits):  # an encoding layer, as the real blocks have
        qc.ry(1.3 * x[q % n_in], q)
    names = [g for g in GATES if GATES[g][0] <= n_qubits]
    for i in range(n_gates):
        name = names[rng.integers(len(names))]
        arity, n_angles = GATES[name]
        if arity == 1:
            qubits = [int(rng.integers(n_qubits))]
        else:
            a = int(rng.integers(n_qubits))
            b = (a + 1) % n_qubits if rng.random() < 0.7 else int(rng.integers(n_qubits))
            if b == a:
                b = (a + 1) % n_qubits
            qubits = [a, b]
            if arity == 3:
                rest = [q for q in range(n_qubits) if q not in qubits]
                qubits.append(int(rng.choice(rest)))
        angles = []
        for _ in range(n_angles):
            kind = rng.integers(4)
            if kind == 0:
                angles.append(float(rng.uniform(-3, 3)))
            elif kind == 1:
                angles.append(float(rng.uniform(-2, 2)) * x[int(rng.integers(n_in))])
            elif kind == 2:
                angles.append(w[int(rng.integers(n_w))])
            else:
                angles.append(0.5 * x[int(rng.integers(n_in))] - w[int(rng.integers(n_w))] + 0.25)
        getattr(qc, name)(*angles, *qubits)
        if i % 17 == 16:
            qc.barrier()
    observables = []
    for _ in range(3):
        terms = []
        for _ in range(int(rng.integers(1, 3))):
            weight = int(rng.integers(1, min(max_weight, n_qubits) + 1))
            support = rng.choice(n_qubits, size=weight, replace=False).tolist()
            letters = "".join(rng.choice(list("XYZ"), size=weight))
            terms.append((letters, support, float(rng.uniform(-1, 1))))
        observables.append(SparsePauliOp.from_sparse_list(terms, num_qubits=n_qubits))
    return qc, x, w, observables


@pytest.fixture(name="make_random_circuit")
def _make_random_circuit():
    """The ``random_circuit`` builder, as a fixture (conftest modules are not importable)."""
    return random_circuit


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run the engine's tests on one thread: their ops are small, and on a shared machine a
    second intra-op thread mostly waits (measured: a 5-qubit forward 13 ms on one thread,
    490 ms on two under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
