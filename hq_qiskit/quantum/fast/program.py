"""Read a Qiskit circuit into a flat program: gates, qubits and affine angle maps.

Each gate angle must be affine in the circuit's parameters:
``angle = const + sum_j a_j * input_j + sum_k b_k * weight_k``. All angles of the circuit are
stacked in one table so that a forward pass computes every angle with two small matrix
products: ``x @ A_in.T`` (batched) and ``A_w @ w`` (shared).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterExpression
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.fast.gates import GateModel, gate_model

IGNORED = frozenset({"barrier", "delay", "global_phase"})


@dataclass(frozen=True)
class Op:
    """One gate of the program.

    Attributes:
        qubits: the qargs in Qiskit order (the first is the least significant bit of the matrix).
        model: the gate's matrix as a function of its angles.
        slots: index of each of its angles in the program's angle table.
        batched: some angle depends on the inputs, so the matrix differs per sample.
        constant: no angle depends on any parameter, so the matrix is fixed.
    """

    qubits: tuple[int, ...]
    model: GateModel
    slots: tuple[int, ...]
    batched: bool
    constant: bool


@dataclass(frozen=True)
class PauliTerm:
    """``coeff * P`` with P a Pauli string: letters[i] in "XYZ" acts on support[i]."""

    support: tuple[int, ...]
    letters: str
    coeff: float
    observable: int


@dataclass(frozen=True)
class Program:
    """A circuit read for the fast engine.

    Attributes:
        num_qubits: qubits of the circuit.
        ops: gates in circuit order (barriers and delays dropped).
        angle_const: (P,) constant part of every angle, radians.
        angle_in: (P, n_in) coefficient of each input in each angle.
        angle_w: (P, n_w) coefficient of each weight in each angle.
        terms: the Pauli terms of all observables.
        num_observables: how many observables the terms belong to.
    """

    num_qubits: int
    ops: tuple[Op, ...]
    angle_const: np.ndarray
    angle_in: np.ndarray
    angle_w: np.ndarray
    terms: tuple[PauliTerm, ...]
    num_observables: int


def _affine(
    value,
    where: str,
    index_in: dict[Parameter, int],
    index_w: dict[Parameter, int],
    row_in: np.ndarray,
    row_w: np.ndarray,
) -> float:
    """Fill the coefficient rows of one angle; return its constant part."""
    if not isinstance(value, ParameterExpression):
        return float(value)
    params = value.parameters
    for p in params:
        grad = value.gradient(p)
        if isinstance(grad, ParameterExpression) and grad.parameters:
            raise CircuitError(
                f"{where}: angle {value} is not affine in {p}; the fast engine needs angles of the "
                "form const + sum(coefficient * parameter)"
            )
        coef = complex(grad)
        if p in index_in:
            row_in[index_in[p]] += coef.real
        elif p in index_w:
            row_w[index_w[p]] += coef.real
        else:
            raise CircuitError(
                f"{where}: parameter {p} is neither an input nor a weight; pass it in "
                "input_params or weight_params"
            )
    return float(complex(value.bind({p: 0.0 for p in params}).numeric()).real)


def _pauli_terms(observables: Sequence[SparsePauliOp], num_qubits: int) -> list[PauliTerm]:
    terms = []
    for k, obs in enumerate(observables):
        if not isinstance(obs, SparsePauliOp):
            obs = SparsePauliOp(obs)
        if obs.num_qubits != num_qubits:
            raise CircuitError(
                f"observable {k} acts on {obs.num_qubits} qubits but the circuit has {num_qubits}"
            )
        obs = obs.simplify()
        for pauli, coeff in zip(obs.paulis, obs.coeffs, strict=True):
            label = pauli.to_label()
            stripped = label.lstrip("-i")
            phase = {"": 1, "-": -1, "i": 1j, "-i": -1j}[label[: len(label) - len(stripped)]]
            c = complex(coeff) * phase
            if abs(c.imag) > 1e-12:
                raise CircuitError(
                    f"observable {k} is not Hermitian (term {stripped} has coefficient {c}); "
                    "expectation values need Hermitian observables"
                )
            support = tuple(q for q in range(num_qubits) if stripped[num_qubits - 1 - q] != "I")
            letters = "".join(stripped[num_qubits - 1 - q] for q in support)
            terms.append(PauliTerm(support, letters, c.real, k))
    return terms


def read_circuit(
    circuit: QuantumCircuit,
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    observables: Sequence[SparsePauliOp],
) -> Program:
    """Read ``circuit`` into a Program; errors name the instruction and its position.

    Raises:
        CircuitError: an unsupported instruction, a non-affine angle, a parameter that is neither
            input nor weight, or a non-Hermitian observable.
    """
    index_in = {p: i for i, p in enumerate(input_params)}
    index_w = {p: i for i, p in enumerate(weight_params)}
    if len(index_in) != len(input_params) or len(index_w) != len(weight_params):
        raise CircuitError("input_params and weight_params must not repeat a parameter")
    if set(index_in) & set(index_w):
        raise CircuitError("a parameter cannot be both an input and a weight")
    consts, rows_in, rows_w, ops = [], [], [], []
    for position, inst in enumerate(circuit.data):
        op = inst.operation
        if op.name in IGNORED:
            continue
        where = f"instruction {position} ({op.name!r} on qubits "
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        where += f"{list(qubits)})"
        if inst.clbits or getattr(op, "condition", None) is not None:
            raise CircuitError(
                f"unsupported {where}: classical bits and conditions are not allowed"
            )
        try:
            model = gate_model(op)
        except CircuitError as err:
            raise CircuitError(f"{where}: {err}") from None
        slots = []
        batched, constant_all = False, True
        for value in op.params:
            row_in, row_w = np.zeros(len(index_in)), np.zeros(len(index_w))
            consts.append(_affine(value, where, index_in, index_w, row_in, row_w))
            rows_in.append(row_in)
            rows_w.append(row_w)
            slots.append(len(consts) - 1)
            batched |= bool(np.any(row_in))
            constant_all &= not (np.any(row_in) or np.any(row_w))
        ops.append(Op(qubits, model, tuple(slots), batched, constant_all))
    n_slots = len(consts)
    return Program(
        num_qubits=circuit.num_qubits,
        ops=tuple(ops),
        angle_const=np.asarray(consts, dtype=float),
        angle_in=np.asarray(rows_in, dtype=float).reshape(n_slots, len(index_in)),
        angle_w=np.asarray(rows_w, dtype=float).reshape(n_slots, len(index_w)),
        terms=tuple(_pauli_terms(observables, circuit.num_qubits)),
        num_observables=len(observables),
    )
