"""FastEngine: an exact, batched, differentiable torch executor compiled from a Qiskit circuit.

Compilation (once per circuit): read the circuit's instructions and affine angle maps
(``program.py``), fuse gates into groups of at most four qubits (``fusion.py``), and choose for
every Pauli term of the observables the cheapest exact contraction (``plan.py``): a cut with
density matrices on the light cone, a tensor network of the pruned cone (``network.py``), or a
batched state vector of a register of up to 24 qubits shared by its terms (``statevector.py``).

Forward pass (per batch): compute every angle with two small matrix products, build each
group's matrix (shared by the batch when it depends on weights only), simulate the product
blocks up to the last cut any term needs, trace each block down to the cones and evolve the
reduced density matrices through the cones' remaining groups, then read the Pauli terms off;
contract the networks of the terms that took the tensor-network route; evolve the registers of
the state-vector route and read their terms.
Everything is a torch operation, so autograd gives exact gradients for inputs and weights; no
sampling or approximation is involved.

Torch conventions: the module computes in the dtype and on the device of its one parameter
``weight``, so ``.double()``, ``.float()``, ``.to(dtype or device)`` and ``.cuda()`` work as on
any layer (float32 computes in complex64, float64 in complex128). Derived constants (gate
coefficients, angle maps, Pauli matrices) are cached per (device, dtype), rebuilt after every
conversion and left out of ``state_dict``, ``copy.deepcopy`` and pickles, whose state is the
weight and the compiled plan. Half precision is refused with a message: 11 bits of mantissa
cannot carry exact expectation values. Autocast is switched off inside the engine. The noisy
engine keeps the same conventions; both inherit them from ``hq_qiskit/quantum/module.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from torch import Tensor

from hq_qiskit.quantum.fast.execute import cone_values, simulate_blocks
from hq_qiskit.quantum.fast.fusion import Group, fuse
from hq_qiskit.quantum.fast.memory import (
    DEFAULT_MAX_MEMORY_GB,
    Gradient,
    adjoint_groups,
    check_memory,
    elements_per_sample,
)
from hq_qiskit.quantum.fast.network import contract_network
from hq_qiskit.quantum.fast.plan import Plan, Route, make_plan
from hq_qiskit.quantum.fast.program import Program, read_circuit
from hq_qiskit.quantum.fast.shots import (
    JOINT_QUBITS,
    Measurements,
    plan_measurements,
    sample_measurements,
    shots_line,
)
from hq_qiskit.quantum.fast.stacks import make_stacks, product_tables, stack_matrices
from hq_qiskit.quantum.fast.statevector import statevector_values
from hq_qiskit.quantum.module import COMPLEX, EngineModule, check_dtype

_PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}
_COMPLEX = COMPLEX


def _letter(term, qubit: int) -> str:
    """The Pauli letter of ``term`` on ``qubit`` ("I" off its support: a network may read
    terms of several supports that share a light cone)."""
    return term.letters[term.support.index(qubit)] if qubit in term.support else "I"


class FastEngine(EngineModule):
    """Exact expectation values of a parametrised circuit: x (B, n_in) -> (B, n_obs).

    Args:
        circuit, input_params, weight_params, observables: as ``connect``.
        dtype: the weight's initial real dtype, float32 or float64; afterwards the module
            follows its weight (``.double()``, ``.to(...)``).
        initial_weights: (n_w,) radians; default zeros.
        max_fused_qubits: the largest fused gate group, qubits.
        route: "auto" (the planner's cheapest estimate per group of terms), "cut" (density
            matrices on light cones only), "network" (tensor networks only) or "statevector"
            (batched state vectors of the terms' light cones, up to 24 qubits each).
        max_memory_gb: the most a forward+backward may take, GB (estimated before anything is
            allocated, ``memory.py``). A circuit whose route needs more for one sample is
            refused here (``CircuitError``), a batch that needs more in ``forward``
            (``ConfigError``); "auto" falls back to tensor networks if they fit.
        gradient: how the state vectors of product blocks (and of the state-vector route's
            registers) are differentiated: "autograd" (keeps every intermediate state),
            "adjoint" (``adjoint.py``: recomputes them backwards, memory bounded by about
            three states) or "auto" (adjoint for blocks of >= 10 qubits, and registers, when
            autograd would keep more than 0.5 GB at B=64; ``memory.py``, ``statevector.py``).
            Both give exact second derivatives (``create_graph=True``); adjoint's memory bound
            holds for first derivatives only, and ``torch.func`` transforms need "autograd".
        shots: None or 0: exact values. N > 0: each Pauli term's value is its mean over N
            shots of its measurement basis, qubit-wise commuting terms read from the same
            bitstrings (``hq_qiskit/quantum/fast/shots.py``: bases on more than 10 qubits draw
            their terms on their own), seeded by ``seed``, straight-through gradients; identity
            terms stay exact. Fixed at construction (the moments a basis needs are planned).
        shot_basis_qubits: the widest basis drawn jointly, qubits (a basis on k qubits costs
            2^k - 1 extra terms; 0 draws every Pauli string on its own).

    Attributes:
        weight: trainable angles, shape (n_w,), radians (TorchConnector's contract).
        program: the circuit as read; ``groups`` the fused gates; ``plan`` the contractions.

    Example:
        >>> from hq_qiskit.circuits import enrichment_qcnn
        >>> b = enrichment_qcnn()
        >>> FastEngine(b.circuit, b.inputs, b.weights, b.observables)(torch.rand(2, 48)).shape
        torch.Size([2, 32])
    """

    engine = "fast"

    def __init__(
        self,
        circuit: QuantumCircuit,
        input_params: Sequence[Parameter],
        weight_params: Sequence[Parameter],
        observables: Sequence[SparsePauliOp],
        *,
        dtype: torch.dtype = torch.float32,
        initial_weights: Tensor | None = None,
        max_fused_qubits: int = 4,
        route: Route = "auto",
        max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
        gradient: Gradient = "auto",
        shots: int | None = None,
        seed: int = 0,
        shot_basis_qubits: int = JOINT_QUBITS,
    ) -> None:
        super().__init__()
        check_dtype(dtype)
        if shots is not None and shots < 0:
            raise ValueError(f"shots must be >= 0 or None, got {shots}")
        self.shots = int(shots or 0)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        program = read_circuit(circuit, input_params, weight_params, observables)
        self.n_terms = len(program.terms)  # the observables' own; moments for shots follow
        joint = shot_basis_qubits if self.shots else 0
        self.program: Program
        self.measurements: Measurements
        self.program, self.measurements = plan_measurements(program, joint)
        self.groups: list[Group] = fuse(self.program.ops, max_fused_qubits)
        n = self.program.num_qubits
        self.plan: Plan = make_plan(self.groups, self.program.terms, n, route=route,
                                    gradient=gradient, max_memory_gb=max_memory_gb)  # fmt: skip
        self.max_memory_gb = max_memory_gb
        self.adjoint = adjoint_groups(self.plan, self.groups, n, gradient)
        bytes_per = 2 * torch.finfo(dtype).bits // 8  # one complex number
        if route == "auto" and self._needs_gb(1, bytes_per) > max_memory_gb:
            networks = make_plan(self.groups, self.program.terms, n, route="network")
            if elements_per_sample(networks, self.groups, n) < elements_per_sample(
                self.plan, self.groups, n, self.adjoint
            ):
                self.plan = networks  # slower perhaps, but it fits
                self.adjoint = frozenset()
        check_memory(self.plan, self.groups, n, 1, bytes_per, max_memory_gb, self.adjoint)
        self.stacks, self.stack_of = make_stacks(self.groups)
        self.n_inputs = len(input_params)
        self.n_outputs = len(observables)
        self._init_weight(len(weight_params), dtype, initial_weights)

    def _needs_gb(self, batch: int, bytes_per_element: int) -> float:
        """Estimated memory of a forward+backward at ``batch`` samples, GB (``memory.py``)."""
        per = elements_per_sample(self.plan, self.groups, self.program.num_qubits, self.adjoint)
        return per * bytes_per_element * batch / 1e9

    # ----------------------------------------------------------------- compiled constants
    def _consts(self, device: torch.device, dtype: torch.dtype) -> dict:
        """Coefficient tensors, angle maps and Pauli matrices on one device and dtype."""
        key = (device, dtype)
        if key not in self._constants:
            cdtype = _COMPLEX[dtype]
            prog = self.program
            models = {id(op.model): op.model for op in prog.ops}
            coefs = {
                k: torch.as_tensor(m.coef, dtype=cdtype, device=device) for k, m in models.items()
            }
            pauli = []
            for c in self.plan.contractions:
                mats = []
                for t in c.terms:
                    term = prog.terms[t]
                    letters = dict(zip(term.support, term.letters, strict=True))
                    m = np.ones((1, 1))
                    for q in c.qubits:  # most significant first
                        m = np.kron(m, _PAULI[letters.get(q, "I")])
                    mats.append(m.T)  # transposed: value = sum(P.T * rho)
                pauli.append(torch.as_tensor(np.stack(mats), dtype=cdtype, device=device))
            factors = [
                torch.as_tensor(
                    np.array(
                        [[_PAULI[_letter(prog.terms[t], q)] for q in n.support] for t in n.terms]
                    ),
                    dtype=cdtype,
                    device=device,
                )  # (T, |S|, 2, 2)
                for n in self.plan.networks
            ]
            letters = [
                ["".join(_letter(prog.terms[t], q) for q in sv.qubits) for t in sv.terms]
                for sv in self.plan.statevectors
            ]  # per register, per term: its Pauli letter on each register qubit
            weights = np.zeros((len(prog.terms), prog.num_observables))
            offset = np.zeros(prog.num_observables)  # identity terms: constants, no gradient
            for t, term in enumerate(prog.terms):
                target = weights[t] if term.support else offset
                target[term.observable] += term.coeff
            as_real = {"dtype": dtype, "device": device}
            self._constants[key] = {
                "coef": coefs,
                "slots": [product_tables(stack, device) for stack in self.stacks],
                "pauli": pauli,
                "factors": factors,
                "letters": letters,
                "zero": torch.tensor([1.0, 0.0], dtype=cdtype, device=device),
                "term_weights": torch.as_tensor(weights, **as_real),
                "offset": torch.as_tensor(offset, **as_real),
                "const": torch.as_tensor(prog.angle_const, **as_real),
                "a_in": torch.as_tensor(prog.angle_in, **as_real),
                "a_w": torch.as_tensor(prog.angle_w, **as_real),
            }
        return self._constants[key]

    def forward(self, x: Tensor) -> Tensor:
        """Expectation values for inputs x (B, n_in); returns (B, n_obs) in ``weight``'s dtype.

        x is cast to the weight's dtype; it must be on the weight's device.
        """
        self.check_input(x)
        w = self.weight
        dtype, device = w.dtype, w.device
        bytes_per = 2 * torch.finfo(dtype).bits // 8  # one complex number
        if self._needs_gb(x.shape[0], bytes_per) > self.max_memory_gb:
            check_memory(self.plan, self.groups, self.program.num_qubits, x.shape[0],
                         bytes_per, self.max_memory_gb, self.adjoint)  # fmt: skip
        with torch.autocast(device.type, enabled=False):
            return self._forward(x.to(dtype), w)

    def _forward(self, x: Tensor, w: Tensor) -> Tensor:
        """forward() without the checks: x (B, n_in) and w (n_w,) in one real dtype and device."""
        dtype, device = w.dtype, w.device
        consts = self._consts(device, dtype)
        angles_u = consts["const"] + consts["a_w"] @ w  # (P,)
        angles_b = x @ consts["a_in"].T + angles_u  # (B, P)
        plan, groups = self.plan, self.groups

        stacked: dict[int, Tensor] = {}

        def matrix(i: int) -> Tensor:
            """Group i's matrix, (d, d) or (B, d, d); its whole stack is built on first use."""
            s, row = self.stack_of[i]
            if s not in stacked:
                stacked[s] = stack_matrices(
                    self.stacks[s], angles_b, angles_u, consts["coef"], consts["slots"][s]
                )
            m = stacked[s][row]  # (Bm, d, d)
            return m[0] if m.shape[0] == 1 else m

        # 1. product blocks up to the last cut, with snapshots at every cut used
        zero = torch.tensor([[1.0, 0.0]], dtype=_COMPLEX[dtype], device=device)  # |0>, (1, 2)
        snapshots = simulate_blocks(
            plan, groups, self.adjoint, self.program.num_qubits, matrix, zero
        )
        # 2. reduced density matrices on each cone, evolved through the cone's later groups
        values, traces = [], {}  # traces: one-qubit states shared by the contractions
        for c, paulis in zip(plan.contractions, consts["pauli"], strict=True):
            with self._untracked(c.terms, c.groups, matrix):
                vals = cone_values(c, paulis, snapshots[c.cut], groups, matrix, traces)
            values.append(vals.expand(x.shape[0], -1))
        # 3. tensor networks of the terms that took that route
        for n, factors in zip(plan.networks, consts["factors"], strict=True):
            with self._untracked(n.terms, n.groups, matrix):
                vals = contract_network(n, matrix, factors, x.shape[0], consts["zero"])  # (Bv, T_n)
            values.append(vals.expand(x.shape[0], -1))
        # 4. state vectors of registers, each read for all its terms
        for sv, letters in zip(plan.statevectors, consts["letters"], strict=True):
            with self._untracked(sv.terms, sv.groups, matrix):
                vals = statevector_values(sv, groups, matrix, letters, consts["zero"])  # (Bs, T)
            values.append(vals.expand(x.shape[0], -1))
        order = [t for c in plan.contractions for t in c.terms]
        order += [t for n in plan.networks for t in n.terms]
        order += [t for sv in plan.statevectors for t in sv.terms]
        if not values:  # every term is the identity
            values.append(angles_b[:, :0] + x[:, :0])  # (B, 0), attached to the graph
        term_values = torch.cat(values, dim=1)  # (B, T) in route order, identity terms left out
        program_order = sorted(range(len(order)), key=order.__getitem__)
        term_values = term_values[:, program_order]  # (B, T), live terms in program order
        if self.shots and term_values.shape[1]:
            term_values = self._sample(term_values, sorted(order))
        weights = consts["term_weights"][sorted(order)]  # (T, n_obs)
        return term_values @ weights + consts["offset"]

    def _untracked(
        self, terms: Sequence[int], cone_groups: Sequence[int], matrix
    ) -> contextlib.AbstractContextManager:
        """``torch.no_grad()`` for a contraction of shot moments alone (coefficient 0: no
        output's gradient reads them), else a no-op. The groups' matrices are built (and cached
        with their graph) first, so a later contraction that needs gradients reuses them."""
        if min(terms) < self.n_terms:
            return contextlib.nullcontext()
        for i in cone_groups:
            matrix(i)
        return torch.no_grad()

    def _sample(self, term_values: Tensor, live: list[int]) -> Tensor:
        """Shot estimates of the live terms (B, T_live), in the program order of ``live``."""
        full = torch.ones(term_values.shape[0], len(self.program.terms), dtype=term_values.dtype,
                          device=term_values.device)  # fmt: skip
        index = torch.as_tensor(live, device=term_values.device)
        full = full.index_copy(1, index, term_values)
        sampled = sample_measurements(full, self.shots, self.generator, self.measurements)
        return sampled[:, index]

    def complex_macs_per_sample(self) -> float:
        """The plan's estimated complex multiply-adds of one forward pass per sample (every
        contraction, tensor network and state vector it runs)."""
        plan = self.plan
        parts = [*plan.contractions, *plan.networks, *plan.statevectors]
        return float(sum(p.cost for p in parts))

    def describe(self) -> str:
        """A few lines on how the circuit was compiled: groups, cuts, cone sizes, costs."""
        plan = self.plan
        sizes = sorted({len(c.qubits) for c in plan.contractions})
        lines = [
            f"{len(self.program.ops)} gates fused into {len(self.groups)} groups "
            f"of {len(self.stacks)} shapes",
            f"{len(self.program.terms)} Pauli terms in {len(plan.contractions)} contractions, "
            f"cuts {list(plan.cuts)} of {len(self.groups)}, cone widths {sizes}",
            f"estimated cost {sum(c.cost for c in plan.contractions):.3g} complex MACs per sample",
            shots_line(self.shots, self.measurements, self.n_terms),
        ]
        if plan.networks:
            lines.append(
                f"{sum(len(n.terms) for n in plan.networks)} Pauli terms in "
                f"{len(plan.networks)} tensor networks of "
                f"{sorted({len(n.groups) for n in plan.networks})} cone groups, estimated cost "
                f"{sum(n.cost for n in plan.networks):.3g} complex MACs per sample"
            )
        if plan.statevectors:
            lines.append(
                f"{sum(len(sv.terms) for sv in plan.statevectors)} Pauli terms in "
                f"{len(plan.statevectors)} state vectors of "
                f"{sorted({len(sv.qubits) for sv in plan.statevectors})} qubits, estimated cost "
                f"{sum(sv.cost for sv in plan.statevectors):.3g} complex MACs per sample"
            )
        return "\n".join(lines)
