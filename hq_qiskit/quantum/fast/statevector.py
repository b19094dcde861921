"""The state-vector route: one batched state on a light cone's register serves all its terms.

A Pauli term wider than the cut route's density matrices (``plan.MAX_RDM_QUBITS``) used to
have only tensor networks, whose contractions on a brickwork or QCNN cone of 18-20 qubits cost
10-60x a plain state vector (issue 24, item 6). This route evolves a batched state vector
(B, 2^n) of the cone's qubits (n <= ``MAX_SV_QUBITS``) from |0...0> through the cone's fused
groups, in circuit order, and reads every term whose cone lies inside that register from the
same state: <P> = sum_i conj(psi_i) d_P(i) psi_{i xor x_P}, with x_P the X/Y bits of P and d_P
a product of per-qubit phases (Z: (1, -1), Y: (-i, i)). Only the groups of the supports' light
cones are applied; the others cancel in U^dagger P U for every term read (a light cone in the
sub-circuit is the same set of groups).

Cost model, complex multiply-adds per sample in the unit of ``plan.py``: a k-qubit group on an
n-qubit state costs 2^n (2^k + ``COPY_MACS``) (the matrix product and the axis moves around
it); groups before the first one that depends on the inputs run once per batch (divided by
``PLAN_BATCH``); the readout costs 2^n per flip pattern and per term. Memory, complex numbers
per sample: autograd keeps one state per group; adjoint differentiation (``adjoint.evolve``)
keeps about three, whatever the depth; the readout keeps two per flip pattern (measured with
``saved_tensors_hooks``: twelve Z strings keep two states; X^n, Y^n and Z^n, two patterns,
four). Adjoint is taken under ``gradient="auto"`` when autograd would keep more than
``ADJOINT_ABOVE_GB`` at ``PLAN_BATCH`` samples (complex64). The planner (``plan.make_plan``)
takes the route for terms it would otherwise give to networks when the
state vector's cost, times ``SV_OVERHEAD`` (measured), is below the sum of the networks' path
costs and it fits ``max_memory_gb`` at ``PLAN_BATCH`` samples; ``route="statevector"`` forces
it. A register pays its evolution once for all its terms, while every support needs its own
network: the route wins on deep cones and on many wide terms that share a register.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.fast.adjoint import evolve
from hq_qiskit.quantum.fast.fusion import Group
from hq_qiskit.quantum.fast.network import PLAN_BATCH
from hq_qiskit.quantum.fast.tensor_ops import apply_matrix

MAX_SV_QUBITS = 24  # 2^24 amplitudes: 134 MB per sample in complex64
COPY_MACS = 2  # per group, the axis moves around the matrix product, in multiply-adds per amplitude
# Measured time per estimated multiply-add, state vector / tensor network, forward+backward on
# one thread (bench/statevector_route.py, docs/benchmarks.md): deep_18x12 with Z^18 at B=64,
# 53.6 s at 1.57e8 against 10.2 s at 4.16e8 (13.9x); deep_18x24, 80.1 s at 2.72e8 against
# 118 s at 6.84e9 (17.0x); deep_18x12 with eight wide terms at B=16, 14.0 s at 1.59e8 against
# 16.4 s at 3.21e9 (17.2x). A network's wide pairwise steps are large complex GEMMs; a state
# vector's 2-4-qubit groups are thin products plus axis moves, and adjoint's backward does
# about twice the forward. The largest ratio is taken: the route is picked only where it wins.
SV_OVERHEAD = 17.0
ADJOINT_ABOVE_GB = 0.5  # as memory.ADJOINT_ABOVE_GB (memory.py imports the planner)
COPY_FACTOR = 2.0  # as memory.COPY_FACTOR


@dataclass(frozen=True)
class StateVector:
    """One batched state vector on a register and the Pauli terms read from it.

    Attributes:
        qubits: the register, sorted; axis 1 + i of the state holds ``qubits[i]``.
        groups: the union of the terms' light cones, group indices in circuit order.
        terms: the Pauli terms read from the state.
        cost: the cost model's estimate, complex multiply-adds per sample (forward).
        elements_per_sample: complex numbers kept for the backward pass, per sample.
        adjoint: the evolution is differentiated by the adjoint method (``adjoint.py``).
    """

    qubits: tuple[int, ...]
    groups: tuple[int, ...]
    terms: tuple[int, ...]
    cost: float
    elements_per_sample: float
    adjoint: bool


Cone = tuple[frozenset, tuple[int, ...]]  # (the cone's qubits, its groups in circuit order)


def build_statevector(
    groups: list[Group],
    qubits: frozenset,
    members: Sequence[int],
    terms: tuple[int, ...],
    patterns: int,
    gradient: str,
) -> StateVector:
    """The route's record for ``terms`` read on ``qubits`` through the groups ``members``.

    Args:
        patterns: distinct X/Y patterns of the terms (one conj(psi) * flip(psi) each).
        gradient: "autograd", "adjoint" or "auto" (adjoint above ``ADJOINT_ABOVE_GB``).
    """
    dim = 2.0 ** len(qubits)
    cost, batched = 0.0, False
    for i in sorted(members):
        batched = batched or groups[i].batched
        step = dim * (2 ** len(groups[i].qubits) + COPY_MACS)
        cost += step if batched else step / PLAN_BATCH
    scale = 1.0 if batched else 1.0 / PLAN_BATCH  # an unbatched state is shared by the batch
    readout = dim * 2 * patterns * scale  # autograd keeps conj(psi) and flip(psi) per pattern
    cost += dim * (patterns + len(terms)) * scale
    autograd = dim * (len(members) + 1) * scale + readout
    adjoint = gradient == "adjoint" or (
        gradient == "auto" and COPY_FACTOR * autograd * 8 * PLAN_BATCH / 1e9 > ADJOINT_ABOVE_GB
    )
    return StateVector(
        qubits=tuple(sorted(qubits)),
        groups=tuple(sorted(members)),
        terms=terms,
        cost=cost,
        elements_per_sample=dim * 3 * scale + readout if adjoint else autograd,
        adjoint=adjoint,
    )


def plan_statevectors(
    groups: list[Group],
    supports: Sequence[tuple[int, ...]],
    cones: dict[tuple[int, ...], Cone],
    by_support: dict[tuple[int, ...], list[int]],
    flips: Sequence[frozenset],
    gradient: str,
    strict: bool,
) -> list[tuple[StateVector, list[tuple[int, ...]]]]:
    """Registers for ``supports``: (state vector, the supports read from it), deterministic.

    Supports are taken widest cone first (then by qubits); each joins the first register whose
    union with its cone stays within ``MAX_SV_QUBITS`` and whose merged cost is at most the two
    costs apart (a cone inside the register adds only its readout), else it opens one.

    Args:
        cones: support -> (its light cone's qubits, the cone's groups).
        by_support: support -> its term indices.
        flips: per term (program order), the qubits where it has X or Y.
        gradient: as ``build_statevector``.
        strict: refuse a cone wider than ``MAX_SV_QUBITS`` (the forced route) instead of
            leaving its support out.

    Raises:
        CircuitError: ``strict`` and a cone is wider than ``MAX_SV_QUBITS``.
    """

    def record(ss: list[tuple[int, ...]]) -> StateVector:
        qubits = frozenset().union(*(cones[s][0] for s in ss))
        members = set().union(*(cones[s][1] for s in ss))
        terms = tuple(k for s in ss for k in by_support[s])
        patterns = len({flips[k] for k in terms})
        return build_statevector(groups, qubits, sorted(members), terms, patterns, gradient)

    order = sorted(supports, key=lambda s: (-len(cones[s][0]), s))
    registers: list[list[tuple[int, ...]]] = []
    records: list[StateVector] = []
    for s in order:
        if len(cones[s][0]) > MAX_SV_QUBITS and not strict:
            continue
        if len(cones[s][0]) > MAX_SV_QUBITS:
            raise CircuitError(
                f"observable term on {list(s)} has a light cone of {len(cones[s][0])} qubits: "
                f"the statevector route holds at most {MAX_SV_QUBITS}; use route='auto' or "
                "'network'"
            )
        alone = record([s])
        for k, ss in enumerate(registers):
            if len(frozenset(records[k].qubits) | cones[s][0]) > MAX_SV_QUBITS:
                continue
            merged = record([*ss, s])
            if merged.cost <= records[k].cost + alone.cost:
                ss.append(s)
                records[k] = merged
                break
        else:
            registers.append([s])
            records.append(alone)
    return list(zip(records, registers, strict=True))


def choose_statevectors(
    candidates: list[tuple[StateVector, list[tuple[int, ...]]]],
    network_cost: Callable[[tuple[int, ...], bool], float],
    max_memory_gb: float,
) -> list[tuple[StateVector, list[tuple[int, ...]]]]:
    """The registers whose state vector beats the networks of their supports and fits.

    A register wins when ``SV_OVERHEAD * cost < sum(network path costs)`` and its memory at
    ``PLAN_BATCH`` samples in complex64 is within ``max_memory_gb``. Greedy network paths
    (milliseconds) are tried first: at or below the state vector's cost the networks win (a
    refined path rarely costs more); above it the paths are refined (seconds, as a network
    would be) and compared, since greedy paths may cost hundreds of times the refined ones
    (deep_18x12's Z^18: 2.8e11 against 4.2e8).
    """
    out = []
    for sv, supports in candidates:
        if COPY_FACTOR * sv.elements_per_sample * 8 * PLAN_BATCH / 1e9 > max_memory_gb:
            continue
        mine = SV_OVERHEAD * sv.cost
        if sum(network_cost(s, False) for s in supports) <= mine:
            continue
        if mine < sum(network_cost(s, True) for s in supports):
            out.append((sv, supports))
    return out


def _expectations(state: Tensor, letters: Sequence[str]) -> Tensor:
    """Values (Bs, T) of the Pauli strings ``letters`` (one letter per state axis) on ``state``.

    Args:
        state: (Bs, 2, ..., 2), one axis per register qubit.
        letters: per term, n letters from IXYZ, letter i for axis 1 + i.
    """
    bs = state.shape[0]
    by_flip: dict[tuple[int, ...], list[int]] = {}
    for t, word in enumerate(letters):
        by_flip.setdefault(tuple(1 + i for i, c in enumerate(word) if c in "XY"), []).append(t)
    values: list[Tensor | None] = [None] * len(letters)
    for flips, ts in by_flip.items():
        phi = state.flip(flips) if flips else state
        w = (state.conj() * phi).reshape(bs, -1)  # (Bs, 2^n): conj(psi_i) psi_{i xor x}
        for t in ts:
            v = w
            for c in reversed(letters[t]):  # the least significant axis is last
                v = v.reshape(bs, -1, 2)
                if c in "IX":
                    v = v.sum(-1)
                elif c == "Z":
                    v = v[..., 0] - v[..., 1]
                else:  # Y: phases (-i, i)
                    v = 1j * (v[..., 1] - v[..., 0])
            values[t] = v.reshape(bs)
    return torch.stack([v for v in values if v is not None], dim=1).real


def statevector_values(
    sv: StateVector,
    groups: list[Group],
    matrix: Callable[[int], Tensor],
    letters: Sequence[str],
    zero: Tensor,
) -> Tensor:
    """Values (Bs, T) of the register's terms, Bs = B or 1 when no group depends on the inputs.

    Args:
        sv: from ``plan_statevectors``.
        matrix: group index -> its (d, d) or (B, d, d) complex matrix.
        letters: per term of ``sv.terms``, its Pauli letter on each register qubit.
        zero: (2,) |0> in the compute dtype and device.
    """
    n = len(sv.qubits)
    state = torch.zeros(1, 2**n, dtype=zero.dtype, device=zero.device)
    state[0, 0] = 1.0
    state = state.reshape(1, *([2] * n))  # (1, 2, ..., 2) |0...0>
    axis = {q: 1 + i for i, q in enumerate(sv.qubits)}
    mats = [matrix(i) for i in sv.groups]
    axes = [[axis[q] for q in reversed(groups[i].qubits)] for i in sv.groups]  # msb first
    if sv.adjoint:
        state = evolve(state, mats, axes)
    else:
        for u, ax in zip(mats, axes, strict=True):
            state = apply_matrix(state, u, ax)
    return _expectations(state, letters)
