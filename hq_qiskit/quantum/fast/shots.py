"""Shot noise on exact Pauli-term values, per measurement basis, for the ideal and noisy engine.

A device measures all qubit-wise commuting Pauli terms in one basis from the same N shots, so
terms read together (Z0, Z1 and Z0Z1) are correlated as the state says. ``plan_measurements``
groups the terms into such bases (``SparsePauliOp.group_commuting(qubit_wise=True)``). For a
basis on k <= ``JOINT_QUBITS`` qubits it adds, as coefficient-0 terms the engine computes by its
own route, every product of the basis' letters on a subset of those k qubits (the 2^k - 1
moments); ``sample_measurements`` turns the moments into the exact distribution of the k
measured bits (a Walsh-Hadamard transform), draws N bitstrings per sample and reads every term
of the basis off the same bitstrings. A basis on more than ``JOINT_QUBITS`` qubits is not drawn
jointly: each of its Pauli strings is drawn on its own, ``2 * k / N - 1`` with
k ~ Binomial(N, (1 + v) / 2) (right means and variances, no covariance between its terms).

Either way each term's estimate is unbiased, terms with the same Pauli string (in several
observables) share one estimate, the draws come from the module's seeded generator, and the
gradient is that of the exact values (straight-through), the gradient of the estimator's mean.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from qiskit.quantum_info import SparsePauliOp
from torch import Tensor

from hq_qiskit.quantum.fast.program import PauliTerm, Program

JOINT_QUBITS = 10  # widest basis drawn jointly: 2^k - 1 moments computed per basis


@dataclass(frozen=True)
class Basis:
    """One measurement setting read from shared shots.

    Attributes:
        moments: (2^k,) the term index of the basis' Pauli on each subset of its k qubits (bit
            j of the subset's index is its j-th qubit, ascending); entry 0, the identity, is -1.
        members: (term index, subset) of every term measured in this basis.
    """

    moments: tuple[int, ...]
    members: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Measurements:
    """How shots are drawn: ``bases`` jointly, ``independent`` (term indices of one Pauli
    string each) on their own."""

    bases: tuple[Basis, ...]
    independent: tuple[tuple[int, ...], ...]


def plan_measurements(
    program: Program, joint_qubits: int = JOINT_QUBITS
) -> tuple[Program, Measurements]:
    """Group the program's terms into measurement bases and add the moments they need.

    Args:
        program: the circuit as read; its identity terms are constants and not measured.
        joint_qubits: the widest basis drawn jointly, qubits; 0 draws every Pauli string on
            its own and adds no moment.

    Returns:
        The program with the moment terms appended (coefficient 0, observable 0: they change
        no output), and the measurement plan over its term indices.
    """
    n = program.num_qubits
    terms = list(program.terms)
    index: dict[tuple[tuple[int, ...], str], list[int]] = {}
    for t, term in enumerate(terms):
        if term.support:
            index.setdefault((term.support, term.letters), []).append(t)
    if joint_qubits < 1 or not index:  # nothing drawn jointly: no grouping needed
        return program, Measurements((), tuple(tuple(same) for same in index.values()))

    def label(key: tuple[tuple[int, ...], str]) -> str:
        chars = ["I"] * n
        for q, letter in zip(*key, strict=True):
            chars[n - 1 - q] = letter
        return "".join(chars)

    by_label = {label(key): key for key in index}
    bases, independent = [], []
    for group in SparsePauliOp(list(by_label)).group_commuting(qubit_wise=True):
        keys = [by_label[lab] for lab in group.paulis.to_labels()]
        letters = {q: c for support, word in keys for q, c in zip(support, word, strict=True)}
        qubits = sorted(letters)
        if len(qubits) > joint_qubits:
            independent += [tuple(index[key]) for key in keys]
            continue
        moments = [-1]
        for subset in range(1, 2 ** len(qubits)):
            support = tuple(q for j, q in enumerate(qubits) if subset >> j & 1)
            key = (support, "".join(letters[q] for q in support))
            if key not in index:
                index[key] = [len(terms)]
                terms.append(PauliTerm(support, key[1], 0.0, 0))
            moments.append(index[key][0])
        members = [
            (t, sum(1 << qubits.index(q) for q in key[0])) for key in keys for t in index[key]
        ]
        bases.append(Basis(tuple(moments), tuple(members)))
    return replace(program, terms=tuple(terms)), Measurements(tuple(bases), tuple(independent))


def _walsh_hadamard(a: Tensor) -> Tensor:
    """(B, 2^k) -> (B, 2^k): out[:, s] = sum_b (-1)^popcount(s & b) a[:, b]."""
    rows, size = a.shape
    h = 1
    while h < size:
        a = a.reshape(rows, size // (2 * h), 2, h)
        a = torch.stack((a[:, :, 0] + a[:, :, 1], a[:, :, 0] - a[:, :, 1]), dim=2)
        h *= 2
    return a.reshape(rows, size)


def sample_measurements(
    values: Tensor, shots: int, generator: torch.Generator, plan: Measurements
) -> Tensor:
    """Shot estimates of the measured terms with straight-through gradients.

    Args:
        values: (B, T) exact expectation values in [-1, 1], every term of the plan's program.
        shots: measurements per basis, >= 1.
        generator: a CPU generator; the draws advance it (bases in plan order).
        plan: from ``plan_measurements``.

    Returns:
        (B, T): each measured term's mean over ``shots`` bitstrings of its basis (terms of
        other columns, identity and moments alone, keep their exact values), carrying the
        gradient of ``values``.
    """
    exact = values.detach().double().cpu()
    out = exact.clone()
    for basis in plan.bases:
        moments = torch.ones(exact.shape[0], len(basis.moments), dtype=torch.float64)
        moments[:, 1:] = exact[:, list(basis.moments[1:])]
        p = (_walsh_hadamard(moments) / len(basis.moments)).clamp(min=0.0)  # (B, 2^k)
        p = p / p.sum(dim=1, keepdim=True)
        draws = torch.multinomial(p, shots, replacement=True, generator=generator)  # (B, N)
        counts = torch.zeros_like(p).scatter_add_(1, draws, torch.ones_like(draws, dtype=p.dtype))
        estimates = _walsh_hadamard(counts / shots)  # (B, 2^k): each subset's mean parity
        for t, subset in basis.members:
            out[:, t] = estimates[:, subset]
    for same in plan.independent:
        out[:, list(same)] = sample_terms(exact[:, same[0] : same[0] + 1], shots, generator)
    sampled = out.to(dtype=values.dtype, device=values.device)
    return sampled + (values - values.detach())  # exactly the draws, the gradient of values


def sample_terms(values: Tensor, shots: int, generator: torch.Generator) -> Tensor:
    """Shot estimates of Pauli terms each drawn on its own, straight-through gradients.

    Args:
        values: (B, T) exact expectation values in [-1, 1].
        shots: measurements per term, >= 1.
        generator: a CPU generator; the draws advance it.

    Returns:
        (B, T): ``2 * k / shots - 1`` with k ~ Binomial(shots, (1 + v) / 2), carrying the
        gradient of ``values``.
    """
    p = ((1 + values.detach().double().cpu()) / 2).clamp(0.0, 1.0)
    k = torch.binomial(torch.full_like(p, float(shots)), p, generator=generator)
    sampled = (2 * k / shots - 1).to(dtype=values.dtype, device=values.device)
    return sampled + (values - values.detach())  # exactly the draws, the gradient of values


def shots_line(shots: int, plan: Measurements, n_terms: int) -> str:
    """How a module draws its shots, for ``describe``.

    Args:
        shots: the module's shots; 0 for exact values.
        plan: the module's measurement plan.
        n_terms: the observables' own terms; those after them are moments.
    """
    if not shots:
        return "shots exact"
    moments = {t for b in plan.bases for t in b.moments if t >= n_terms}
    return (
        f"shots {shots} per measurement basis: {len(plan.bases)} bases drawn jointly "
        f"({len(moments)} moment terms added), {len(plan.independent)} Pauli strings drawn on "
        "their own"
    )
