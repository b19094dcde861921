"""Choose, for every Pauli term, where to cut the circuit: light cone plus product structure.

Two facts make exact expectation values cheap:

1. Light cone. For an observable on support S, gate groups after a cut that do not touch the
   growing set of qubits C (S, widened by every later group that touches it, read backwards)
   cancel in U^dagger O U and are dropped.
2. Product structure. Before a cut t, the state is a product over blocks of qubits (a block
   merges only when a group acts across blocks). The reduced density matrix on C is then the
   Kronecker product of each block's reduced state on its part of C.

So for a cut t the engine simulates the blocks up to t (state vectors of the block size; all
groups before the last cut any term takes, so a cut's cost counts them all), traces the blocks
that meet C down to C, and applies the cone's remaining groups to the density matrix on C
(dimension 2^|C|), or, when those groups do not depend on the inputs, evolves the observables
backwards once (Heisenberg picture) and reads them off each sample's density matrix at the
cut. Every cut from 0 (pure density-matrix evolution from the product state) to
the end (state vectors, C = S) is exact; a cost model in complex multiply-adds picks the
cheapest. Terms that pick the same cut and the same C share one density matrix.

3. Tensor networks. When the cones cover the register, every cut needs large state vectors;
   contracting the cone-pruned network <0|U^dagger O U|0> with an optimised path
   (``network.py``) is then far cheaper. The planner first picks the best cut per support;
   the supports that share one density matrix form a group, and the group moves to tensor
   networks (one per support) if their path costs, times ``NETWORK_OVERHEAD``, add up to less
   than the shared contraction's cost (both per sample at a batch of 64). The ``route``
   option forces one route ("cut" or "network"), e.g. for tests.
4. Shared cones. Supports whose light cones hold the same groups (on a ring, three
   neighbouring qubits' cones often do) are read from one network on the union of their
   supports, identity factors filling in, when its path costs at most twice the separate
   ones: torch pays a fixed overhead per contraction step besides the multiply-adds
   (ring_96: 6 networks instead of 16, estimated 3.4e5 instead of 8.6e5 complex MACs per
   sample, forward+backward at B=64 0.17-0.25 s instead of 0.49-0.71 s).
5. State vectors (``statevector.py``). The supports that would take networks are gathered on
   registers of at most 24 qubits (their light cones' union); one batched state vector per
   register serves all its terms. A register takes this route when its cost, in the same
   unit and times its measured overhead (``statevector.SV_OVERHEAD``), is below its
   supports' networks' and its memory at ``PLAN_BATCH`` samples fits ``max_memory_gb``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum.fast.fusion import Group
from hq_qiskit.quantum.fast.network import PLAN_BATCH, Network, build_network
from hq_qiskit.quantum.fast.program import PauliTerm
from hq_qiskit.quantum.fast.statevector import StateVector, choose_statevectors, plan_statevectors

MAX_RDM_QUBITS = 8  # a density matrix on 8 qubits is 256 x 256 per sample
ROUTES = ("auto", "cut", "network", "statevector")
Route = Literal["auto", "cut", "network", "statevector"]
SCREEN = 4.0  # search networks' paths properly only if greedy paths cost < SCREEN x the cut
# Measured time per estimated multiply-add, tensor network / cut route (ring circuit and
# enrichment QCNN, B=64, one thread): opt_einsum's many small pairwise steps cost more each.
NETWORK_OVERHEAD = 4.0
# Below this cost (complex multiply-adds per sample) a contraction runs in well under a
# millisecond per sample and a path search (up to seconds) cannot pay off: networks are not
# tried (measured: the 8x8 QCNN's column matrices, <= 2.4e5, are as fast as networks and
# build in 0.1 s instead of 8 s; the ring's 3.3e5 state-vector cut is 1.2x slower).
NETWORK_MIN_COST = 3e5
MERGE_OVERHEAD = 2.0  # a shared-cone network may cost this many times the separate ones


@dataclass(frozen=True)
class Contraction:
    """One shared density matrix and the terms read from it.

    Attributes:
        cut: groups[:cut] are simulated as state vectors of product blocks.
        qubits: the cone at the cut, sorted; the density matrix acts on these qubits.
        groups: indices of the cone's groups after the cut, applied to the density matrix.
        terms: indices of the Pauli terms evaluated on it.
        cost: the cost model's estimate, complex multiply-adds per sample.
    """

    cut: int
    qubits: tuple[int, ...]
    groups: tuple[int, ...]
    terms: tuple[int, ...]
    cost: float


@dataclass(frozen=True)
class Plan:
    """The contractions of a program, how far the block simulation must run, and networks.

    Attributes:
        contractions: the cut routes (density matrices on cones).
        cuts: the cuts they need, sorted.
        networks: the tensor-network routes, one per support that took one.
        statevectors: the state-vector routes, one per register (``statevector.py``).
    """

    contractions: tuple[Contraction, ...]
    cuts: tuple[int, ...]
    networks: tuple[Network, ...] = ()
    statevectors: tuple[StateVector, ...] = ()

    @property
    def last_cut(self) -> int:
        return max(self.cuts, default=0)


def _block_history(
    groups: list[Group], num_qubits: int
) -> tuple[list[dict[int, frozenset]], list[int]]:
    """Blocks at every cut (qubit -> block) and the size of the block each group acts on."""
    block = {q: frozenset([q]) for q in range(num_qubits)}
    history = [dict(block)]
    sizes = []
    for g in groups:
        merged = frozenset().union(*(block[q] for q in g.qubits))
        for q in merged:
            block[q] = merged
        history.append(dict(block))
        sizes.append(len(merged))
    return history, sizes


def heisenberg(groups: list[Group], members: tuple[int, ...]) -> bool:
    """Whether a cone's remaining groups are the same for every sample (no input in them):
    then the observables are evolved backwards once instead of a density matrix per sample."""
    return bool(members) and not any(groups[i].batched for i in members)


def block_sizes(groups: list[Group], num_qubits: int) -> list[int]:
    """For every group, the size of the product block it acts on (after it merges blocks)."""
    return _block_history(groups, num_qubits)[1]


def _cones(
    groups: list[Group], support: tuple[int, ...]
) -> list[tuple[frozenset, tuple[int, ...]]]:
    """For every cut t = 0..m: the cone C_t and the cone's group indices after t."""
    cone = frozenset(support)
    members: list[int] = []
    out = [(cone, ())]
    for i in range(len(groups) - 1, -1, -1):
        if cone.intersection(groups[i].qubits):
            cone = cone.union(groups[i].qubits)
            members.append(i)
        out.append((cone, tuple(reversed(members))))
    out.reverse()  # out[t] = cone before group t and the cone groups t..m-1
    return out


def _best_cut(
    groups: list[Group],
    support: tuple[int, ...],
    history: list[dict[int, frozenset]],
    sizes: list[int],
    max_rdm_qubits: int,
) -> tuple[float, int, tuple[int, ...], tuple[int, ...]] | None:
    """(cost, cut, cone, cone groups after the cut) of the cheapest cut, or None if none fits."""
    prefix = [0]
    for i, g in enumerate(groups):
        prefix.append(prefix[-1] + 2 ** sizes[i] * 2 ** len(g.qubits))
    best = None
    for t, (cone, members) in enumerate(_cones(groups, support)):
        if len(cone) > max_rdm_qubits:
            continue
        blocks = {history[t][q] for q in cone}
        dim2 = 4 ** len(cone)
        simulate = prefix[t]  # the engine simulates every group before its last cut
        trace = sum(2 ** len(b) * 2 ** len(b & cone) for b in blocks) + dim2
        evolve = sum(2 * dim2 * 2 ** len(groups[i].qubits) for i in members)
        if heisenberg(groups, members):  # once per batch for the observables, not per sample
            evolve /= PLAN_BATCH
        cost = simulate + trace + evolve + dim2
        if best is None or cost < best[0]:
            best = (cost, t, tuple(sorted(cone)), members)
    return best


def _shared_cone_networks(
    groups: list[Group],
    supports: list[tuple[int, ...]],
    by_support: dict[tuple[int, ...], list[int]],
) -> list[Network]:
    """One network per light cone: supports whose cones hold the same groups are read together.

    Terms on supports S_1..S_k with one cone share every tensor but the Pauli factors: one
    network on the union of the supports, with identity factors where a term does not act,
    reads all of them in one contraction. It is kept when its path costs at most
    ``MERGE_OVERHEAD`` times the separate networks' (each contraction step costs a fixed
    overhead in torch besides its multiply-adds).
    """
    by_cone: dict[tuple[int, ...], list[tuple[int, ...]]] = defaultdict(list)
    for s in supports:
        by_cone[_cones(groups, s)[0][1]].append(s)
    out = []
    for cone, members in by_cone.items():
        alone = [build_network(groups, cone, s, tuple(by_support[s]), refine=True) for s in members]
        if len(members) > 1:
            union = tuple(sorted(set().union(*members)))
            terms = tuple(k for s in members for k in by_support[s])
            merged = build_network(groups, cone, union, terms, refine=True)
            if merged.cost <= MERGE_OVERHEAD * sum(n.cost for n in alone):
                out.append(merged)
                continue
        out += alone
    return out


def _statevectors(
    groups: list[Group],
    terms: tuple[PauliTerm, ...],
    supports: list[tuple[int, ...]],
    by_support: dict[tuple[int, ...], list[int]],
    route: Route,
    gradient: str,
    max_memory_gb: float,
) -> tuple[list[StateVector], list[tuple[int, ...]]]:
    """The state-vector registers for ``supports`` (all of them when ``route="statevector"``,
    those that beat their networks under "auto", none otherwise) and the supports left."""
    if route not in ("auto", "statevector") or not supports:
        return [], supports
    cones = {s: _cones(groups, s)[0] for s in supports}  # (cone qubits, cone groups)
    flips = [frozenset(q for q, c in zip(t.support, t.letters, strict=True) if c in "XY")
             for t in terms]  # fmt: skip
    strict = route == "statevector"
    candidates = plan_statevectors(groups, supports, cones, by_support, flips, gradient, strict)
    if route == "auto":

        def network_cost(support: tuple[int, ...], refine: bool) -> float:
            terms_of = tuple(by_support[support])
            return build_network(groups, cones[support][1], support, terms_of, refine).cost

        candidates = choose_statevectors(candidates, network_cost, max_memory_gb)
    taken = {s for _, ss in candidates for s in ss}
    return [sv for sv, _ in candidates], [s for s in supports if s not in taken]


def make_plan(
    groups: list[Group],
    terms: tuple[PauliTerm, ...],
    num_qubits: int,
    max_rdm_qubits: int = MAX_RDM_QUBITS,
    route: Route = "auto",
    gradient: str = "auto",
    max_memory_gb: float = 4.0,
) -> Plan:
    """Pick the cheapest route for every distinct support; group terms by (cut, cone).

    Args:
        gradient: how state-vector registers are differentiated ("autograd", "adjoint" or
            "auto", as ``FastEngine``).
        max_memory_gb: a state-vector register is taken under "auto" only if it fits.

    Raises:
        ConfigError: ``route`` is not one of ``ROUTES``.
        CircuitError: ``route="cut"`` and a term is wider than ``max_rdm_qubits``;
            ``route="statevector"`` and a light cone is wider than 24 qubits.
    """
    if route not in ROUTES:
        raise ConfigError(f"unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    history, sizes = _block_history(groups, num_qubits)
    by_support: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for k, term in enumerate(terms):
        if term.support:  # an identity term is a constant: the engine adds its coefficient
            by_support[term.support].append(k)
    # (cut, cone, cone groups) -> the supports that share that density matrix
    chosen: dict[tuple[int, tuple[int, ...], tuple[int, ...]], list[tuple[int, ...]]]
    chosen = defaultdict(list)
    costs: dict[tuple[int, tuple[int, ...], tuple[int, ...]], float] = {}
    wide = []  # supports no cut can take
    for support in by_support:
        best = None
        if route in ("auto", "cut"):
            best = _best_cut(groups, support, history, sizes, max_rdm_qubits)
        if best is None:
            if route == "cut":
                raise CircuitError(
                    f"observable term on {len(support)} qubits {support}: the cut route supports "
                    f"Pauli terms of weight <= {max_rdm_qubits}; use route='auto' or 'network'"
                )
            wide.append(support)
            continue
        cost, t, cone, members = best
        chosen[(t, cone, members)].append(support)
        costs[(t, cone, members)] = cost

    def network(support: tuple[int, ...], refine: bool) -> Network:
        cone = _cones(groups, support)[0][1]
        return build_network(groups, cone, support, tuple(by_support[support]), refine)

    to_networks = list(wide)
    for key in list(chosen) if route == "auto" else []:
        supports, cut_cost = chosen[key], costs[key] / NETWORK_OVERHEAD
        if costs[key] < NETWORK_MIN_COST:
            continue
        if sum(network(s, refine=False).cost for s in supports) >= SCREEN * cut_cost:
            continue
        if sum(network(s, refine=True).cost for s in supports) < cut_cost:
            to_networks += supports
            del chosen[key]
    statevectors, to_networks = _statevectors(
        groups, terms, to_networks, by_support, route, gradient, max_memory_gb
    )
    networks = _shared_cone_networks(groups, to_networks, by_support)
    contractions = tuple(
        Contraction(t, cone, members, tuple(k for s in ss for k in by_support[s]), costs[key])
        for key, ss in chosen.items()
        for t, cone, members in [key]
    )
    cuts = tuple(sorted({c.cut for c in contractions}))
    return Plan(contractions, cuts, tuple(networks), tuple(statevectors))
