"""The tensor-network route: contract the light-cone-pruned network <0| U^dagger O U |0>.

For Pauli terms on a support S, only the groups in the reverse light cone of S matter (the
others cancel in U^dagger O U). Written as a tensor network, the value is

    <O> = sum  conj(U_m ... U_1 |0>)_i  O_ij  (U_m ... U_1 |0>)_j

with one tensor per cone group on the ket side, its complex conjugate on the bra side, the
initial |0> fixed by slicing each qubit's first input leg at 0, the Pauli factors of every term
on S stacked along a term axis t, and the ket and bra legs of cone qubits outside S joined
(a partial trace). Groups whose matrices depend on the inputs carry a batch axis B shared by
the whole network (a hyperedge), so one einsum gives the values (B, T) of all terms on S.

When every light cone covers the register (rings, long-range entanglers), this costs far less
than a state vector of the register: ``opt_einsum`` finds a contraction path whose
intermediates stay small on shallow circuits. The path is searched once, when the plan is made,
at a batch size of ``PLAN_BATCH`` (a greedy search first, refined by a seeded random-greedy
search when the route may win), and reused for every batch size. Its cost estimate (flops at
the planning batch size) lets the planner compare this route with the cut routes of
``plan.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import opt_einsum as oe
from torch import Tensor

from hq_qiskit.quantum.fast.fusion import Group

BATCH = "B"  # the batch index; every other index is a qubit leg or the term axis
PLAN_BATCH = 64  # batch size at which the planner compares routes


@dataclass(frozen=True)
class Network:
    """The tensor network of one group of Pauli terms that share a support.

    Attributes:
        support: the terms' qubits, sorted.
        terms: indices of the Pauli terms read from this network (along the t axis).
        groups: the cone's groups, circuit order; each appears as a ket and a bra tensor.
        equation: einsum equation over the operands [ket tensors, bra tensors, Pauli factors]
            with the batch index first in the output: "...->Bt" (or "...->t" if unbatched).
        batched: which groups carry the batch axis (their matrices depend on the inputs).
        slices: per group, the index into its (Bm, out legs, in legs) tensor that fixes the
            input legs that start from |0>.
        path: the contraction order (opt_einsum's pairs of operand positions).
        cost: the path's estimated flops per sample at ``PLAN_BATCH``, halved (complex
            multiply-adds, the unit of the cut routes' cost model).
        elements_per_sample: complex numbers in all intermediates of the path, per sample at
            ``PLAN_BATCH`` (autograd keeps them for the backward pass).
    """

    support: tuple[int, ...]
    terms: tuple[int, ...]
    groups: tuple[int, ...]
    equation: str
    batched: tuple[bool, ...]
    slices: tuple[tuple, ...]
    path: tuple[tuple[int, ...], ...]
    cost: float
    elements_per_sample: float
    _paths: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def output_batched(self) -> bool:
        return any(self.batched)

    def shapes(self, batch: int, num_terms: int) -> list[tuple[int, ...]]:
        """Operand shapes at batch size ``batch``: ket tensors, bra tensors, Pauli factors."""
        inputs = self.equation.split("->")[0].split(",")
        sizes = {BATCH: batch, "t": num_terms}
        return [tuple(sizes.get(c, 2) for c in sub) for sub in inputs]

    def expression(self, batch: int):
        """The contraction at ``batch`` samples along the planned path (built once per size)."""
        if batch not in self._paths:
            shapes = self.shapes(batch, len(self.terms))
            self._paths[batch] = oe.contract_expression(
                self.equation, *shapes, optimize=list(self.path)
            )
        return self._paths[batch]

    def __getstate__(self) -> dict:
        """Pickles leave the expressions out; they are rebuilt from the path on first use."""
        state = self.__dict__.copy()
        state["_paths"] = {}
        return state


def _symbols():
    """Leg symbols: opt_einsum's alphabet without the reserved batch and term letters."""
    i = 0
    while True:
        s = oe.get_symbol(i)
        i += 1
        if s not in (BATCH, "t"):
            yield s


# (equation, shapes, refine) -> path, costs. The shapes belong in the key: two networks of one
# equation may differ in their number of terms (the t axis), and a path and cost searched for
# one term were reused for eight (a shared-cone network's cost was underestimated 8x).
_SEARCHED: dict[tuple, tuple[tuple, float, float]] = {}


def _search(equation: str, shapes: list, refine: bool) -> tuple[tuple, float, float]:
    """Path, flops and intermediate elements: greedy, or random-greedy (32 seeded trials).

    The search sees the legs as integers, not as opt_einsum's letters: its sets and dicts of
    letters iterate in an order set by Python's string hashing, salted per process
    (PYTHONHASHSEED), so ties broke differently and ring_96's paths, costs and memory changed
    from process to process (issue 24, item 6). Integers hash to themselves, so the path is
    the same in every process (tests/quantum/test_reproducible_paths.py).

    Results are kept per equation and shapes for the process: every copy of a block (HQF-Net
    runs the enrichment QCNN five times) and every rebuilt model reuses the search.
    """
    key = (equation, tuple(map(tuple, shapes)), refine)
    if key not in _SEARCHED:
        lhs, out = equation.split("->")
        terms = lhs.split(",")
        ids: dict[str, int] = {}  # each leg symbol -> an integer, in order of first appearance
        for c in lhs.replace(",", "") + out:
            ids.setdefault(c, len(ids))
        inputs = [frozenset(ids[c] for c in t) for t in terms]
        sizes = {
            ids[c]: d
            for t, shape in zip(terms, shapes, strict=True)
            for c, d in zip(t, shape, strict=True)
        }
        optimizer = oe.RandomGreedy(max_repeats=32) if refine else oe.paths.greedy
        path = optimizer(inputs, frozenset(ids[c] for c in out), sizes)
        _, info = oe.contract_path(equation, *shapes, shapes=True, optimize=list(path))
        steps = tuple(tuple(step) for step in path)
        _SEARCHED[key] = (steps, float(info.opt_cost), float(sum(info.size_list)))
    return _SEARCHED[key]


def build_network(
    groups: list[Group],
    cone: tuple[int, ...],
    support: tuple[int, ...],
    terms: tuple[int, ...],
    refine: bool = True,
) -> Network:
    """The network of the terms ``terms`` on ``support`` through the cone groups ``cone``.

    Args:
        groups: all fused groups of the program.
        cone: indices of the groups in the reverse light cone of ``support``, circuit order.
        support: the qubits the terms act on, sorted.
        terms: the term indices, in the order of the t axis.
        refine: search the path with random-greedy trials (seconds for ~50 tensors) instead
            of one greedy pass (milliseconds, often several times costlier paths).
    """
    symbols = _symbols()
    leg: dict[int, str | None] = {}  # qubit -> its current ket leg (None: still |0>)
    ket_subs, slices, batched = [], [], []
    for i in cone:
        g = groups[i]
        msb_first = list(reversed(g.qubits))
        outs = [next(symbols) for _ in msb_first]
        ins = [leg.get(q) for q in msb_first]
        lead = BATCH if g.batched else ""
        ket_subs.append(lead + "".join(outs) + "".join(s for s in ins if s is not None))
        index = (slice(None),) * (1 + len(outs)) + tuple(
            0 if s is None else slice(None) for s in ins
        )
        slices.append(index)
        batched.append(g.batched)
        for q, s in zip(msb_first, outs, strict=True):
            leg[q] = s
    # bra legs mirror the ket legs, except the final legs of traced-out qubits, which close
    traced = {leg[q] for q in leg if q not in support}
    bra_of: dict[str, str] = {}

    def bra(s: str) -> str:
        if s == BATCH or s in traced:
            return s
        if s not in bra_of:
            bra_of[s] = next(symbols)
        return bra_of[s]

    bra_subs = ["".join(bra(s) for s in sub) for sub in ket_subs]
    pauli_subs = []
    for q in support:
        k = leg.get(q)
        if k is None:  # no gate acts on q in the cone: the factor meets |0> on both sides
            k = next(symbols)
            ket_subs.append(k)
            bra_subs.append(bra(k))
            batched.append(False)
        pauli_subs.append("t" + bra(k) + k)
    out = (BATCH if any(batched) else "") + "t"
    equation = ",".join(ket_subs + bra_subs + pauli_subs) + "->" + out
    sizes = {BATCH: PLAN_BATCH, "t": len(terms)}
    shapes = [tuple(sizes.get(c, 2) for c in sub) for sub in equation.split("->")[0].split(",")]
    path, flops, elements = _search(equation, shapes, refine)
    scale = PLAN_BATCH if any(batched) else 1
    return Network(
        support=support,
        terms=terms,
        groups=tuple(cone),
        equation=equation,
        batched=tuple(batched),
        slices=tuple(slices),
        path=path,
        cost=flops / 2 / scale,
        elements_per_sample=elements / scale,
    )


def contract_network(
    network: Network,
    matrix: Callable[[int], Tensor],
    paulis: Tensor,
    batch: int,
    zero: Tensor,
) -> Tensor:
    """Values (B, T) (or (1, T) when nothing depends on the inputs) of the network's terms.

    Args:
        network: from ``build_network``.
        matrix: group index -> its matrix, (d, d) or (B, d, d), complex.
        paulis: (T, |S|, 2, 2) the terms' Pauli factors, one per support qubit, (row, column).
        batch: B, the number of samples.
        zero: (2,) the state |0> in the compute dtype, for support qubits no gate touches.
    """
    kets = []
    for i, index, batched in zip(network.groups, network.slices, network.batched, strict=False):
        u = matrix(i)
        k = u.shape[-1].bit_length() - 1  # qubits of the group
        u = u.reshape(*u.shape[:-2], *([2] * (2 * k)))  # (Bm?, out legs, in legs), msb first
        if u.dim() == 2 * k:
            u = u[None]  # (1, ...): a shared matrix, or a batched one at B = 1
        u = u[index]  # input legs that start from |0> fixed at 0
        kets.append(u if batched else u[0])
    kets += [zero] * (len(network.batched) - len(network.groups))  # untouched support qubits
    bras = [t.conj() for t in kets]
    factors = [paulis[:, j] for j in range(paulis.shape[1])]
    values = network.expression(batch if network.output_batched else 1)(
        *kets, *bras, *factors, backend="torch"
    )
    values = values.real
    return values if network.output_batched else values[None]
