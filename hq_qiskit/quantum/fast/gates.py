"""Gate matrices as exact trigonometric polynomials, fitted from Qiskit's own gate objects.

Every standard gate with k angle parameters is, in each angle t_i, of the form
``A + C cos(f_i t_i) + S sin(f_i t_i)`` with a frequency f_i of 1/2 (rotations: RX, CRY, RZZ,
U's theta) or 1 (phases: P, U's phi and lambda). So the matrix is a sum over the 3^k products
of ``{1, cos(f_i t_i), sin(f_i t_i)}`` with constant complex coefficients. We read those
coefficients off ``gate.to_matrix()`` at 3^k angles and check the fit at random angles, so no
gate matrix is written here by hand: whatever Qiskit says a gate is, the engine uses.

Matrices keep Qiskit's little-endian convention: for qargs (q0, q1, ...) the row index is
``sum_i bit(q_i) * 2**i``, i.e. the *last* qarg is the most significant bit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from qiskit.circuit import Gate, Instruction
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
    return np.asarray(gate.to_matrix(), dtype=complex)


def _fit(op: Instruction, freqs: tuple[float, ...]) -> np.ndarray:
    """Coefficients (3**k, d, d) from the gate's matrices on a 3**k grid of angles."""
    k = len(freqs)
    points = [[0.0, math.pi / (2 * f), math.pi / f] for f in freqs]
    grid = np.stack([_matrix_at(op, vals) for vals in itertools.product(*points)])
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


def gate_model(op: Instruction) -> GateModel:
    """The trigonometric model of ``op``; raises CircuitError if Qiskit's matrix does not fit.

    Raises:
        CircuitError: ``op`` has no matrix (measure, reset, ...) or is not a trigonometric
            polynomial of degree one in each angle with frequency 1/2 or 1.
    """
    key = (op.base_class, op.name, op.num_qubits, len(op.params), getattr(op, "ctrl_state", None))
    if key in _CACHE:
        return _CACHE[key]
    if not isinstance(op, Gate) or op.num_clbits:
        raise CircuitError(
            f"unsupported instruction {op.name!r}: the fast engine executes unitary gates only; "
            "remove measurements, resets and classical control (observables are given separately)"
        )
    k = len(op.params)
    rng = np.random.default_rng(1234)
    try:
        for freqs in itertools.product(FREQUENCIES, repeat=k):
            coef = _fit(op, freqs)
            checks = [rng.uniform(-7, 7, size=k) for _ in range(3)]
            if all(
                np.allclose(_evaluate(coef, freqs, v), _matrix_at(op, tuple(v)), atol=1e-10)
                for v in checks
            ):
                model = GateModel(op.name, op.num_qubits, freqs, coef)
                _CACHE[key] = model
                return model
    except CircuitError:
        raise
    except Exception as err:  # Qiskit could not build a matrix for this gate
        raise CircuitError(
            f"unsupported instruction {op.name!r}: Qiskit gives no matrix for it ({err}); "
            "decompose it into standard gates first (circuit.decompose())"
        ) from err
    raise CircuitError(
        f"unsupported instruction {op.name!r}: its matrix is not a first-order trigonometric "
        "polynomial of its angles; decompose it into standard gates first (circuit.decompose())"
    )
