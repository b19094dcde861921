"""Exact Heisenberg Pauli propagation: the noisy engine's route for register-wide light cones.

When a term's causal light cone covers the register (ring_96: a CX ring after the encoding
joins all 16 qubits, and every cone holds them), no density matrix of the cone fits. But the
observable, written as a sum of Pauli strings, can be carried backward through the channels
instead: a channel S on k qubits acts on a string's letters there through its Pauli transfer
matrix ``R[a', a] = Tr(P_a' S(P_a)) / 2**k`` (real), and in the Heisenberg picture
``o'_a = sum_a' R[a', a] o_a'``. Clifford gates map a string to one string, rotations split it
in two, and local errors add few (on ring_96 under device-like noise: 33 to 294 strings per
observable, 4,940 for all 32). No string is dropped: the route is exact, not a truncation.

Cut: the channels before ``cut`` run forward as mixed product blocks (every block at most
``MAX_BLOCK_QUBITS`` wide), those from ``cut`` on carry the strings backward (batched where a
channel depends on the inputs: coefficients (B, S)). At the cut a string's value is the product
over blocks of ``Tr(P_block rho_block)``, read from each block's Pauli expectations.

Which strings appear is fixed when compiling, from each channel's transfer matrix at random
angles: an entry that is an analytic function of the angles and nonzero somewhere is nonzero at
random angles with probability one, so the compiled pattern holds every entry the actual angles
can make nonzero; the values themselves (and their gradients) come from the actual channels at
each forward pass. A plan whose strings would exceed ``MAX_STRINGS`` is refused (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from types import SimpleNamespace

import numpy as np
import torch
from torch import Tensor

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.noisy.fusion import compose
from hq_qiskit.quantum.noisy.plan import block_history

MAX_BLOCK_QUBITS = 4  # widest product block read at the cut: 4**4 Pauli expectations
MAX_STRINGS = 200_000  # most (term, string) pairs alive at any step
_PAULI = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])


@lru_cache(maxsize=8)
def pauli_basis(k: int) -> np.ndarray:
    """(4**k, 4**k): column a is the row-major vec of P_a, a = sum_j a_j 4**j with letter a_j
    (I, X, Y, Z = 0..3) on the j-th qubit, the j-th least significant bit (superop order)."""
    cols = []
    for letters in product(range(4), repeat=k):  # letters[0] is the most significant qubit
        m = np.ones((1, 1))
        for a in letters:
            m = np.kron(m, _PAULI[a])
        cols.append(m.reshape(-1))
    # product() runs the last letter fastest: index sum_j letters[k-1-j] 4**j, as wanted
    return np.stack(cols, axis=1)  # cached: shared by every call, never written


def transfer_matrix(superop: Tensor, basis: Tensor) -> Tensor:
    """Pauli transfer matrices (..., 4**k, 4**k), real, of superoperators (..., 4**k, 4**k)."""
    d = int(round(superop.shape[-1] ** 0.5))
    return (basis.conj().T @ superop @ basis).real / d


@dataclass(frozen=True)
class Step:
    """One channel carried backward: new[dst] += old[src] * R.flatten()[entry]."""

    op: int
    src: np.ndarray
    dst: np.ndarray
    entry: np.ndarray


@dataclass(frozen=True)
class PauliPlan:
    """A compiled propagation.

    Attributes:
        cut: fused channels before it run forward as product blocks.
        steps: the channels from ``cut`` on, last first.
        blocks: the blocks at the cut that some string reads, sorted qubits each.
        index: per block, (S,) each final string's Pauli index on the block (its first
            qubit most significant).
        term: (S,) the term (position in the engine's live terms) of each final string.
        coeff: (S0,) the initial strings' coefficients (observables, readout folded).
        strings: the most strings alive at any step.
    """

    cut: int
    steps: tuple[Step, ...]
    blocks: tuple[tuple[int, ...], ...]
    index: tuple[np.ndarray, ...]
    term: np.ndarray
    coeff: np.ndarray
    strings: int


def decompose(matrix: np.ndarray, qubits: Sequence[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """A Hermitian matrix on ``qubits`` (most significant first) as Pauli strings: letters
    (S, n) and real coefficients (S,)."""
    k = len(qubits)
    letters, coeffs = [], []
    for word in product(range(4), repeat=k):  # word[i] on qubits[i]
        p = np.ones((1, 1))
        for a in word:
            p = np.kron(p, _PAULI[a])
        c = np.real(np.trace(p @ matrix)) / 2**k
        if abs(c) > 1e-14:
            row = np.zeros(n, dtype=np.int64)
            row[list(qubits)] = word
            letters.append(row)
            coeffs.append(c)
    return np.array(letters, dtype=np.int64).reshape(-1, n), np.array(coeffs)


def _step(letters, owner, op, qubits, mask) -> tuple[np.ndarray, np.ndarray, Step]:
    """Carry strings (letters (S, n), owner (S,)) backward through one channel's pattern."""
    local = sum(letters[:, q] * 4**j for j, q in enumerate(qubits))  # (S,)
    s, j = np.nonzero(mask[local])  # string s reaches local index j
    new = letters[s].copy()
    for pos, q in enumerate(qubits):
        new[:, q] = (j // 4**pos) % 4
    rows, dst = np.unique(np.column_stack([owner[s], new]), axis=0, return_inverse=True)
    entry = local[s] * mask.shape[1] + j
    return rows[:, 1:], rows[:, 0], Step(op, s, dst.reshape(-1), entry)


def plan_pauli(
    fused_qubits: Sequence[tuple[int, ...]],
    patterns: Sequence[np.ndarray],
    observables: Sequence[tuple[np.ndarray, tuple[int, ...]]],
    n: int,
) -> PauliPlan | None:
    """Compile the propagation of every term, or None when it would exceed ``MAX_STRINGS``.

    Args:
        fused_qubits: each fused channel's qubits (the first least significant).
        patterns: each channel's transfer-matrix pattern (4**k, 4**k) bool, at random angles.
        observables: per term, its matrix (readout folded) and qubits (most significant first).
        n: the register.
    """
    history, _ = block_history(fused_qubits, n)
    wide = [max(map(len, blocks.values())) for blocks in history]
    cut = max(t for t, width in enumerate(wide) if width <= MAX_BLOCK_QUBITS)
    letters_l, owner_l, coeff_l = [], [], []
    for t, (matrix, qubits) in enumerate(observables):
        letters, coeffs = decompose(matrix, qubits, n)
        letters_l.append(letters)
        owner_l.append(np.full(len(coeffs), t))
        coeff_l.append(coeffs)
    letters, owner = np.concatenate(letters_l), np.concatenate(owner_l)
    steps, most = [], len(owner)
    for i in range(len(fused_qubits) - 1, cut - 1, -1):
        letters, owner, step = _step(letters, owner, i, fused_qubits[i], patterns[i])
        steps.append(step)
        most = max(most, len(owner))
        if most > MAX_STRINGS:
            return None
    blocks = sorted({tuple(sorted(history[cut][q])) for q in range(n)})
    read = [b for b in blocks if letters[:, list(b)].any()]
    index = tuple(sum(letters[:, q] * 4 ** (len(b) - 1 - j) for j, q in enumerate(b)) for b in read)
    return PauliPlan(cut, tuple(steps), tuple(read), index, owner, np.concatenate(coeff_l), most)


def pauli_expectations(state: Tensor, order: Sequence[int], qubits: Sequence[int]) -> Tensor:
    """Tr(P_a rho) for a block state (Bs, 2,..,2, 2,..,2) on ``order``: (Bs, 4**k), real,
    the first of ``qubits`` (a permutation of ``order``) most significant."""
    k = len(order)
    paulis = torch.as_tensor(_PAULI, dtype=state.dtype, device=state.device)  # (4, 2, 2)
    letters = "abcdefgh"[:k]
    rows, cols = "ijklmnop"[:k], "qrstuvwx"[:k]
    terms = [f"{a}{c}{r}" for a, r, c in zip(letters, rows, cols, strict=True)]
    out_letters = "".join(letters[order.index(q)] for q in qubits)
    eq = f"z{rows}{cols}," + ",".join(terms) + f"->z{out_letters}"
    e = torch.einsum(eq, state, *([paulis] * k))
    return e.reshape(e.shape[0], -1).real


def pauli_values(
    plan: PauliPlan, transfer: Sequence[Tensor | None], states: dict, coeff: Tensor, terms: int
) -> Tensor:
    """Every live term's value: (B, terms), real.

    Args:
        transfer: per fused channel, its transfer matrix (Bm, 4**k, 4**k) (those of the steps).
        states: qubit -> (order, state) of the blocks at the cut (a forward snapshot).
        coeff: ``plan.coeff`` as a real tensor.
    """
    c = coeff[None]  # (Bc, S) with Bc in {1, B}
    for step in plan.steps:
        r = transfer[step.op]
        assert r is not None
        src = torch.as_tensor(step.src, device=c.device)
        gain = r.reshape(r.shape[0], -1)[:, torch.as_tensor(step.entry, device=c.device)]
        moved = c[:, src] * gain  # (B', nnz)
        size = int(step.dst.max()) + 1 if len(step.dst) else 0
        new = moved.new_zeros(moved.shape[0], size)
        c = new.index_add(1, torch.as_tensor(step.dst, device=c.device), moved)
    for qubits, idx in zip(plan.blocks, plan.index, strict=True):
        order, state = states[qubits[0]]
        e = pauli_expectations(state, order, qubits)  # (Bs, 4**k)
        c = c * e[:, torch.as_tensor(idx, device=c.device)]
    out = c.new_zeros(c.shape[0], terms)
    return out.index_add(1, torch.as_tensor(plan.term, device=c.device), c)


# ------------------------------------------------------------- the noisy engine's side
ZERO = 1e-12  # transfer-matrix entries below this at random angles (float64) are zeros


def compile_pauli(engine, draws: int = 2) -> PauliPlan | None:
    """``plan_pauli`` for a ``NoisyEngine``: its fused channels' patterns at ``draws`` sets of
    random angles (float64), its live terms' observables with the readout folded in."""
    consts = engine.constants_on(torch.device("cpu"), torch.float64)
    rng = np.random.default_rng(0)
    n_angles = len(engine.program.angle_const)
    op_qubits = [op.qubits for op in engine.program.ops]
    masks: list[np.ndarray] | None = None
    for _ in range(draws):
        angles = torch.as_tensor(rng.uniform(-np.pi, np.pi, n_angles))
        sup = compose(
            engine.fused, engine.channel_superops(consts, angles[None], angles), op_qubits
        )
        found = [np.abs(_transfer(s[0]).numpy()) > ZERO for s in sup]
        masks = found if masks is None else [a | b for a, b in zip(masks, found, strict=True)]
    assert masks is not None
    observables = []
    for t in engine.live_terms:
        qubits = engine.read_qubits(t)
        observables.append((engine.term_observable(t, qubits), qubits))
    fused = [g.qubits for g in engine.fused]
    return plan_pauli(fused, masks, observables, engine.program.num_qubits)


def _transfer(superop: Tensor) -> Tensor:
    k = int(round(np.log(superop.shape[-1]) / np.log(4)))
    basis = torch.as_tensor(pauli_basis(k), dtype=superop.dtype, device=superop.device)
    return transfer_matrix(superop, basis)


def pauli_term_values(engine, sup: list[Tensor], batch: int) -> Tensor:
    """Every term's value by the engine's ``pauli`` plan: (B, T_all), identity terms 1.

    Args:
        sup: the fused channels' superoperators at this pass, (Bm, 4**k, 4**k).
    """
    plan: PauliPlan = engine.pauli
    first = sup[0]
    reads = SimpleNamespace(block_ops=tuple(range(plan.cut)), snaps=(plan.cut,))
    states = engine.block_states(sup, reads, first.dtype, first.device)[plan.cut]
    transfer: list[Tensor | None] = [None] * len(sup)
    for step in plan.steps:
        transfer[step.op] = _transfer(sup[step.op])
    coeff = torch.as_tensor(plan.coeff, dtype=first.real.dtype, device=first.device)
    values = pauli_values(plan, transfer, states, coeff, len(engine.live_terms))
    out = values.new_ones(batch, len(engine.program.terms))
    live = torch.as_tensor(engine.live_terms, dtype=torch.long, device=first.device)
    return out.index_copy(1, live, values.expand(batch, -1))


def check_memory(engine, batch: int, dtype: torch.dtype) -> None:
    """Refuse a batch whose strings would exceed ``engine.max_memory_gb``: per sample, the
    coefficients each step moves and makes once a batched channel has been met (autograd keeps
    them), and the final strings' products over the blocks read at the cut.

    Raises:
        CircuitError: naming the estimate, the limit and the fixes.
    """
    plan: PauliPlan = engine.pauli
    entries, batched = len(plan.term) * (len(plan.blocks) + 2), False
    for step in plan.steps:
        batched = batched or engine.batched[step.op]
        if batched:
            entries += len(step.src) + (int(step.dst.max()) + 1 if len(step.dst) else 0)
    need = entries * batch * (8 if dtype == torch.float64 else 4) / 1e9
    if need > engine.max_memory_gb:
        raise CircuitError(
            f"noisy engine (Pauli propagation, {plan.strings} strings): a batch of {batch} "
            f"needs about {need:.3g} GB, over max_memory_gb={engine.max_memory_gb:g}; use a "
            "smaller batch or raise max_memory_gb"
        )


def pauli_line(plan: PauliPlan) -> str:
    """One line for ``NoisyEngine.describe``."""
    widest = max(map(len, plan.blocks), default=0)
    return (
        f"values by Pauli propagation instead (no density plan fits): {len(plan.steps)} "
        f"channels carried backward "
        f"from cut {plan.cut} (blocks of <= {widest} qubits there), at most {plan.strings} "
        f"strings, {len(plan.term)} at the cut"
    )
