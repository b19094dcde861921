"""Gate matrices as exact trigonometric polynomials, fitted from Qiskit's own gate objects.

Every standard gate with k angle parameters is, in each angle t_i, of the form
``A + C cos(f_i t_i) + S sin(f_i t_i)`` with a frequency f_i of 1/2 (rotations: RX, CRY, RZZ,
U's theta) or 1 (phases: P, U's phi and lambda). So the matrix is a sum over the 3^k products
of ``{1, cos(f_i t_i), sin(f_i t_i)}`` with constant complex coefficients. We read those
coefficients off ``gate.to_matrix()`` at 3^k angles and check the fit at random angles, so no
gate matrix is written here by hand: whatever Qiskit says a gate is, the engine uses.

Matrices keep Qiskit's little-endian convention: for qargs (q0, q1, ...) the row index is
``sum_i bit(q_i) * 2**i``, i.e. the *last* qarg is the most significant bit.

Models are cached for the process under a key that determines the matrix: a gate of Qiskit's
standard library is determined by its class, its number of angles and its control state; any
other gate (``PauliEvolutionGate``, a ``circuit.to_gate()``, a user's subclass) by a hash of
its matrices at every angle the fit reads. Before, every gate was keyed by its class and name
alone, so exp(-itZY) and exp(-itXX) on two qubits shared one model and one of them was
silently wrong (tests/quantum/test_gate_models.py).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from qiskit.circuit import Gate, Instruction
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator
from torch import Tensor

from hq_qiskit.errors import CircuitError

FREQUENCIES = (0.5, 1.0)
_BASIS_AT_POINTS = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
_BASIS_INV = np.linalg.inv(_BASIS_AT_POINTS)


@dataclass(frozen=True)
class GateModel:
    """A gate's matrix as a function of its k angles.

    Attributes:
        name: the Qiskit instruction name.
        num_qubits: qubits the gate acts on.
        freqs: the frequency f_i of each angle.
        coef: (3**k, 2**n, 2**n) complex128; row m pairs with the product of basis functions
            picked by m's base-3 digits (0: 1, 1: cos, 2: sin), first angle most significant.
    """

    name: str
    num_qubits: int
    freqs: tuple[float, ...]
    coef: np.ndarray

    @property
    def num_params(self) -> int:
        return len(self.freqs)

    def matrix(self, angles: Tensor, coef: Tensor) -> Tensor:
        """Matrices at ``angles`` (..., k) radians; ``coef`` is ``self.coef`` as a tensor.

        Returns:
            (..., 2**n, 2**n) complex tensor in ``coef``'s dtype.
        """
        d = 2**self.num_qubits
        if not self.freqs:
            return coef[0]
        basis = None
        for i, f in enumerate(self.freqs):
            t = angles[..., i] * f
            b = torch.stack([torch.ones_like(t), torch.cos(t), torch.sin(t)], dim=-1)  # (..., 3)
            basis = b if basis is None else (basis[..., :, None] * b[..., None, :]).flatten(-2)
        basis = basis.to(coef.dtype)  # (..., 3**k)
        return (basis @ coef.reshape(coef.shape[0], d * d)).reshape(*basis.shape[:-1], d, d)


def _matrix_at(op: Instruction, values: tuple[float, ...]) -> np.ndarray:
    gate = op.to_mutable() if hasattr(op, "to_mutable") else op.copy()
    gate.params = list(values)
    try:
        return np.asarray(gate.to_matrix(), dtype=complex)
    except Exception:  # a gate with a definition but no to_matrix (circuit.to_gate())
        if gate.definition is None:
            raise
        return np.asarray(Operator(gate).data, dtype=complex)


def _grid(freqs: tuple[float, ...]) -> list[tuple[float, ...]]:
    """The 3**k angles the fit for ``freqs`` reads: 0, pi/(2f) and pi/f for each angle."""
    return list(itertools.product(*[[0.0, math.pi / (2 * f), math.pi / f] for f in freqs]))


def _checks(k: int) -> list[tuple[float, ...]]:
    """Three random angle vectors (fixed seed) at which every fit is checked."""
    rng = np.random.default_rng(1234)
    return [tuple(rng.uniform(-7, 7, size=k)) for _ in range(3)]


def _fit(matrices: dict, freqs: tuple[float, ...]) -> np.ndarray:
    """Coefficients (3**k, d, d) from the gate's matrices on a 3**k grid of angles."""
    k = len(freqs)
    grid = np.stack([matrices[v] for v in _grid(freqs)])
    d = grid.shape[-1]
    coef = grid.reshape((3,) * k + (d, d))
    for axis in range(k):  # undo the basis evaluation along each angle axis
        coef = np.moveaxis(np.tensordot(_BASIS_INV, coef, axes=([1], [axis])), 0, axis)
    return coef.reshape(3**k, d, d)


def _evaluate(coef: np.ndarray, freqs: tuple[float, ...], values: np.ndarray) -> np.ndarray:
    basis = np.ones(1)
    for f, t in zip(freqs, values, strict=True):
        basis = np.outer(basis, [1.0, math.cos(f * t), math.sin(f * t)]).ravel()
    return np.tensordot(basis, coef, axes=1)


_CACHE: dict[tuple, GateModel] = {}
_STANDARD = get_standard_gate_name_mapping()


def _is_standard(op: Instruction) -> bool:
    """Whether ``op`` is a gate of Qiskit's standard library: its class fixes its matrix."""
    std = _STANDARD.get(op.name.split("_o")[0])
    return (
        std is not None
        and getattr(std, "base_class", type(std)) is op.base_class
        and len(std.params) == len(op.params)
    )


def _unsupported(op: Instruction) -> CircuitError | None:
    """The error for an instruction that is not a unitary gate, or None."""
    if isinstance(op, Gate) and not op.num_clbits:
        return None
    return CircuitError(
        f"unsupported instruction {op.name!r}: the fast engine executes unitary gates only; "
        "remove measurements, resets and classical control (observables are given separately)"
    )


def _matrices(op: Instruction) -> dict[tuple[float, ...], np.ndarray]:
    """The gate's matrices at every angle any fit reads (all grids and the checks)."""
    k = len(op.params)
    points = {v for freqs in itertools.product(FREQUENCIES, repeat=k) for v in _grid(freqs)}
    points.update(_checks(k))
    try:
        return {v: _matrix_at(op, v) for v in sorted(points)}
    except Exception as err:  # Qiskit could not build a matrix for this gate
        raise CircuitError(
            f"unsupported instruction {op.name!r}: Qiskit gives no matrix for it ({err}); "
            "decompose it into standard gates first (circuit.decompose())"
        ) from err


def _fingerprint(matrices: dict[tuple[float, ...], np.ndarray]) -> str:
    """A hash of the matrices a fit reads: two gates with one fingerprint have one model."""
    digest = hashlib.sha256()
    for v in sorted(matrices):
        digest.update(np.round(matrices[v], 12).tobytes())
    return digest.hexdigest()


def gate_model(op: Instruction) -> GateModel:
    """The trigonometric model of ``op``; raises CircuitError if Qiskit's matrix does not fit.

    Raises:
        CircuitError: ``op`` has no matrix (measure, reset, ...) or is not a trigonometric
            polynomial of degree one in each angle with frequency 1/2 or 1.
    """
    key: tuple = (op.base_class, op.name, op.num_qubits, len(op.params))
    key += (getattr(op, "ctrl_state", None),)
    standard = _is_standard(op)
    if standard and key in _CACHE:
        return _CACHE[key]
    error = _unsupported(op)
    if error is not None:
        raise error
    matrices = _matrices(op)
    if not standard:  # PauliEvolutionGate, to_gate(), ...: the matrices define the gate
        key += (_fingerprint(matrices),)
        if key in _CACHE:
            return _CACHE[key]
    k = len(op.params)
    for freqs in itertools.product(FREQUENCIES, repeat=k):
        coef = _fit(matrices, freqs)
        if all(
            np.allclose(_evaluate(coef, freqs, np.array(v)), matrices[v], atol=1e-10)
            for v in _checks(k)
        ):
            model = GateModel(op.name, op.num_qubits, freqs, coef)
            _CACHE[key] = model
            return model
    raise CircuitError(
        f"unsupported instruction {op.name!r}: its matrix is not a first-order trigonometric "
        "polynomial of its angles; decompose it into standard gates first (circuit.decompose())"
    )
