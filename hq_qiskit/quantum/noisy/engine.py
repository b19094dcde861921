"""NoisyEngine: exact expectation values of a circuit under an Aer ``NoiseModel``, in torch.

Compilation (once per circuit and noise model): read the circuit (``fast/program.py``: gates,
affine angle tables, Pauli terms), attach Aer's errors to each gate (``noise_table.py``), fold
the readout errors into each term's observable (``channels.py``), and choose for every term the
cheapest exact contraction over mixed product blocks and light cones (``plan.py``, priced for
a batch of ``plan_batch``), planned on the fused channels: runs of gates on at most
``fuse_qubits`` qubits composed, each gate's error kept right after it (``fusion.py``).
When no such plan fits ``max_memory_gb`` (cones covering a register that a ring entangles),
the terms are carried backward as Pauli strings instead (``pauli.py``, exact too).

Forward pass (per batch): compute every angle, build each gate's superoperator
``N @ (U (x) conj U)`` (N its error channel, built once per gate model for the whole circuit),
compose each fused group's channels into one superoperator, then
1. evolve forward the blocks' density matrices that some cone reads forward;
2. read each cone's blocks at its cut, traced down to the cone: forward from those states, or
   backward (``traces.py``: a block whose channels after its last batched one carry no batch
   axis is a fixed map, built on 4**|K| operators, of the states of its light cone), whichever
   the cost model finds cheaper for this batch size;
3. evolve the cone through its remaining channels (a trailing weight-only run backward on the
   observables) and read ``Tr(O rho)``, one block at a time when all of them ran backward.
No sampling: the values are exact (mixed-state) expectation values and autograd gives exact
gradients for inputs and weights.

Shot noise (``shots=N``): each Pauli term's value is replaced by its mean over N shots of its
measurement basis, qubit-wise commuting terms read from the same bitstrings, drawn from the
exact noisy distribution of the basis' bits (readout included) with the module's own seeded
generator (``hq_qiskit/quantum/fast/shots.py``; a basis on more than 10 qubits draws its terms on
their own); the gradient is that of the exact values (straight-through). Observables then
combine their terms' sampled values with their coefficients.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from torch import Tensor

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.fast.cones import cone_blocks
from hq_qiskit.quantum.fast.gates import GateModel
from hq_qiskit.quantum.fast.program import Program, read_circuit
from hq_qiskit.quantum.fast.shots import (
    JOINT_QUBITS,
    Measurements,
    plan_measurements,
    sample_measurements,
)
from hq_qiskit.quantum.module import COMPLEX, EngineModule, check_dtype
from hq_qiskit.quantum.noisy import pauli as strings
from hq_qiskit.quantum.noisy.channels import correlated_readout
from hq_qiskit.quantum.noisy.delays import idle_circuit
from hq_qiskit.quantum.noisy.density_ops import (
    apply_superop,
    kron_state,
    partial_trace,
    product_values,
    traced_state,
)
from hq_qiskit.quantum.noisy.describe import describe as describe_engine
from hq_qiskit.quantum.noisy.fusion import FUSE_QUBITS, FusedOp, compose, fuse_ops
from hq_qiskit.quantum.noisy.noise_table import NoiseTable, noise_table
from hq_qiskit.quantum.noisy.plan import NoisyPlan, block_history, make_noisy_plan
from hq_qiskit.quantum.noisy.traces import (
    BlockCosts,
    Piece,
    TracePlan,
    back_trace_state,
    plan_traces,
)

log = logging.getLogger(__name__)

_PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}
PLAN_BATCH = 64  # the batch size the cuts are chosen for (blocks are read per actual batch)
MAX_MEMORY_GB = 4.0  # GB (1e9 bytes), the unit of the fast engine's limit too


class NoisyEngine(EngineModule):
    """Exact noisy expectation values: x (B, n_in) -> (B, n_obs), optional shot noise.

    Torch conventions as the fast engine's (``hq_qiskit/quantum/module.py``): the module
    computes in the dtype and on the device of ``weight`` (``dtype`` is only its initial dtype),
    so ``.double()`` and ``.to(...)`` work; half precision is refused; cached constants stay out
    of ``state_dict``, copies and pickles.

    Attributes:
        weight: trainable angles, shape (n_w,), radians (TorchConnector's contract).
        program, table, plan: the circuit as read, its noise, and the contractions.
        shots: shots per measurement basis; 0 means exact values. Fixed at construction.
        measurements: how the shots are drawn (``shots.plan_measurements``); with shots the
            program's terms end with the moments that the bases drawn jointly need.
        fused: the fused channels the plan runs on (``fusion.FusedOp``): gates composed in
            groups of at most ``fuse_qubits`` qubits; ``fuse_qubits=0`` keeps one per gate.
        batched: per fused channel, whether it depends on the inputs (has a batch axis).
        back_traces: whether blocks may be read backward from their last batched channel
            (``traces.py``) where the cost model finds it cheaper at the batch size; False
            simulates every block forward and plans the cuts per sample, as before.
        plan_batch: the batch size the cuts are priced at (with ``back_traces``); each
            forward pass then reads the blocks the cheaper way for its own batch size.
        pauli: the Pauli-string plan (``pauli.py``) the values come from when no density plan
            fits ``max_memory_gb`` (``plan`` is then unused), else None.

    Example:
        >>> from qiskit_aer.noise import NoiseModel, depolarizing_error
        >>> from hq_qiskit.circuits import enrichment_qcnn
        >>> nm = NoiseModel()
        >>> nm.add_all_qubit_quantum_error(depolarizing_error(0.01, 2), ["cx"])
        >>> b = enrichment_qcnn()
        >>> m = NoisyEngine(b.circuit, b.inputs, b.weights, b.observables, noise=nm)
        >>> m(torch.rand(2, 48)).shape
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
        noise=None,
        shots: int | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        initial_weights: Tensor | None = None,
        max_memory_gb: float = MAX_MEMORY_GB,
        fuse_qubits: int = FUSE_QUBITS,
        shot_basis_qubits: int = JOINT_QUBITS,
        back_traces: bool = True,
        plan_batch: int = PLAN_BATCH,
    ) -> None:
        super().__init__()
        check_dtype(dtype)
        if shots is not None and shots < 0:
            raise ValueError(f"shots must be >= 0 or None, got {shots}")
        circuit = idle_circuit(circuit, noise)  # delays relaxed by the model: Idle gates
        program = read_circuit(circuit, input_params, weight_params, observables)
        self.table: NoiseTable = noise_table(noise, program, circuit)
        self.n_terms = len(program.terms)  # the observables' own; moments for shots follow
        joint = shot_basis_qubits if shots else 0
        self.program: Program
        self.measurements: Measurements
        self.program, self.measurements = plan_measurements(program, joint)
        prog = self.program
        self.live_terms = [t for t, term in enumerate(prog.terms) if term.support]
        self.fused: tuple[FusedOp, ...] = fuse_ops(prog.ops, fuse_qubits)
        self._fused_qubits = [g.qubits for g in self.fused]
        self.batched = [any(prog.ops[j].batched for j in g.members) for g in self.fused]
        self.back_traces, self.plan_batch = back_traces, plan_batch
        reader = BlockCosts(self._fused_qubits, self.batched, prog.num_qubits, plan_batch)
        self.plan: NoisyPlan = make_noisy_plan(
            self._fused_qubits,
            [self.read_qubits(t) for t in self.live_terms],
            prog.num_qubits,
            reader=reader if back_traces else None,
        )
        self._trace_plans: dict[int, TracePlan] = {}
        self.max_memory_gb = max_memory_gb
        self.shots = int(shots or 0)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.n_inputs = len(input_params)
        self.n_outputs = len(observables)
        self._init_weight(len(weight_params), dtype, initial_weights)
        self._classes = self._gate_classes()
        self.pauli: strings.PauliPlan | None = None
        self.density_refusal = ""  # why no density plan runs ("" when one does)
        try:
            self._check_memory(1, dtype)
        except CircuitError as error:  # cones no density matrix holds: Pauli strings
            self.density_refusal = str(error).split("; use ")[0]
            self.pauli = strings.compile_pauli(self)  # (pauli.py), None when too many
            if self.pauli is None:
                limit = f"Pauli propagation: over {strings.MAX_STRINGS} strings"
                raise CircuitError(f"{error}; {limit}") from error

    # ------------------------------------------------------------------ compile-time pieces
    def _gate_classes(self) -> list[tuple[GateModel, bool, list[int]]]:
        """Ops grouped by (gate model, batched): their superoperators are built together."""
        classes: dict[tuple[int, bool], tuple[GateModel, bool, list[int]]] = {}
        for i, op in enumerate(self.program.ops):
            key = (id(op.model), op.batched)
            classes.setdefault(key, (op.model, op.batched, []))[2].append(i)
        return list(classes.values())

    def read_qubits(self, term_index: int) -> tuple[int, ...]:
        """The qubits a term's measured value depends on: its support and, for each correlated
        readout error reading one of them, that error's other qubits (sorted)."""
        support = set(self.program.terms[term_index].support)
        for qubits, _ in self.table.correlated:
            if support & set(qubits):
                support |= set(qubits)
        return tuple(sorted(support))

    def term_observable(self, term_index: int, qubits: tuple[int, ...]) -> np.ndarray:
        """The term's Pauli on ``qubits`` (most significant first), readout folded in."""
        term = self.program.terms[term_index]
        letters = dict(zip(term.support, term.letters, strict=True))
        pieces: list[tuple[list[int], np.ndarray]] = []  # (qubits, most significant first)
        done: set[int] = set()
        for q in qubits:
            group = self.table.readout_group(q)
            if q in done:
                continue
            if group is not None and set(group[0]) & set(letters):
                names = {p: letters[p] for p in group[0] if p in letters}
                pieces.append(
                    (list(reversed(group[0])), correlated_readout(group[0], group[1], names))
                )
                done.update(group[0])
                continue
            factor = np.eye(2)
            if q in letters:
                factor = _PAULI[letters[q]]
                if q in self.table.readout:
                    offset, scale = self.table.readout[q]
                    factor = offset * np.eye(2) + scale * factor
            pieces.append(([q], factor))
            done.add(q)
        order = [q for piece, _ in pieces for q in piece]
        m: np.ndarray = np.ones((1, 1))
        for _, factor in pieces:
            m = np.kron(m, factor)
        if order == list(qubits):
            return m
        n = len(order)
        perm = [order.index(q) for q in qubits]
        tensor = m.reshape([2] * (2 * n)).transpose(perm + [n + p for p in perm])
        return tensor.reshape(2**n, 2**n)

    def trace_plan(self, batch: int) -> TracePlan:
        """How the contractions read their blocks at this batch size (``traces.plan_traces``):
        forward on B block states, or backward from the last batched op; cached per size."""
        if batch not in self._trace_plans:
            size = batch if self.back_traces else None
            costs = BlockCosts(self._fused_qubits, self.batched, self.program.num_qubits, size)
            self._trace_plans[batch] = plan_traces(self.plan, costs)
        return self._trace_plans[batch]

    def _check_memory(self, batch: int, dtype: torch.dtype) -> None:
        if self.pauli is not None:
            return strings.check_memory(self, batch, dtype)
        itemsize = 16 if dtype == torch.float64 else 8
        need = self.trace_plan(batch).entries_per_sample * batch * itemsize
        if need / 1e9 > self.max_memory_gb:
            widest = max((len(c.qubits) for c in self.plan.contractions), default=0)
            sizes = block_history(self._fused_qubits, self.program.num_qubits)[1]
            block = max((sizes[i] for i in self.trace_plan(batch).block_ops), default=0)
            raise CircuitError(
                f"noisy engine: a batch of {batch} needs about {need / 1e9:.2f} GB of density "
                f"matrices (widest cone {widest} qubits, widest product block simulated "
                f"{block}-qubit), over the limit of max_memory_gb={self.max_memory_gb:g}; use "
                "a smaller batch, raise max_memory_gb, or a circuit with narrower light cones"
            )

    def constants_on(self, device: torch.device, dtype: torch.dtype) -> dict:
        """The tensors every pass reads, on ``device`` in ``dtype``'s complex type, built once
        per (device, dtype): each op class's gate coefficients, noise channels and angle slots,
        the contractions' observables (readout folded in) and the term weights."""
        key = (device, dtype)
        if key not in self._constants:
            cdtype = COMPLEX[dtype]
            prog = self.program
            as_c: dict[str, Any] = {"dtype": cdtype, "device": device}
            classes = []
            for model, _batched, ids in self._classes:
                d2 = 4**model.num_qubits
                noisy = [self.table.channels[i] for i in ids]
                stack = None
                if any(c is not None for c in noisy):
                    channels = np.stack([np.eye(d2) if c is None else c for c in noisy])
                    stack = torch.as_tensor(channels, **as_c)  # (n_ops, d2, d2)
                slots = torch.as_tensor(
                    np.array([prog.ops[i].slots for i in ids], dtype=np.int64).reshape(
                        len(ids), model.num_params
                    ),
                    device=device,
                )
                classes.append(
                    {"coef": torch.as_tensor(model.coef, **as_c), "noise": stack, "slots": slots}
                )
            observables = [
                torch.as_tensor(
                    np.stack(
                        [self.term_observable(self.live_terms[t], c.qubits).T for t in c.terms]
                    ),
                    **as_c,
                )
                for c in self.plan.contractions
            ]
            weights = np.zeros((len(prog.terms), prog.num_observables))
            for t, term in enumerate(prog.terms):
                weights[t, term.observable] += term.coeff
            as_real: dict[str, Any] = {"dtype": dtype, "device": device}
            self._constants[key] = {
                "classes": classes,
                "observables": observables,
                "term_weights": torch.as_tensor(weights, **as_real),
                "const": torch.as_tensor(prog.angle_const, **as_real),
                "a_in": torch.as_tensor(prog.angle_in, **as_real),
                "a_w": torch.as_tensor(prog.angle_w, **as_real),
            }
        return self._constants[key]

    # ------------------------------------------------------------------------- forward
    def channel_superops(self, consts: dict, angles_b: Tensor, angles_u: Tensor) -> list[Tensor]:
        """Every op's channel ``N @ (U (x) conj U)``, (Bm, 4**k, 4**k) with Bm in {1, B}."""
        out: list[Tensor | None] = [None] * len(self.program.ops)
        for (model, batched, ids), c in zip(self._classes, consts["classes"], strict=True):
            d = 2**model.num_qubits
            if model.num_params == 0:
                u = c["coef"][0].expand(1, len(ids), d, d)
            elif batched:
                u = model.matrix(angles_b[:, c["slots"]], c["coef"])  # (B, n, d, d)
            else:
                u = model.matrix(angles_u[c["slots"]], c["coef"])[None]  # (1, n, d, d)
            g = torch.einsum("...ac,...bd->...abcd", u, u.conj()).reshape(*u.shape[:2], d * d, -1)
            if c["noise"] is not None:
                g = torch.matmul(c["noise"], g)
            for j, i in enumerate(ids):
                out[i] = g[:, j]
        return out  # type: ignore[return-value]

    def term_values(self, x: Tensor) -> Tensor:
        """Exact noisy values of the observables' Pauli terms (readout included): (B, T),
        program order (the moments that shots add left out).

        Computed in the weight's dtype and on its device; x (B, n_in) is cast to that dtype.
        """
        return self._checked_term_values(x)[:, : self.n_terms]

    def _checked_term_values(self, x: Tensor) -> Tensor:
        """Exact values of every term of ``program``, moments included: (B, T_all)."""
        self.check_input(x)
        w = self.weight
        dtype, device = w.dtype, w.device
        self._check_memory(x.shape[0], dtype)
        with torch.autocast(device.type, enabled=False):
            return self._term_values(x.to(dtype), w)

    def _term_values(self, x: Tensor, w: Tensor) -> Tensor:
        """term_values() without the checks: x (B, n_in) and w (n_w,) in one dtype and device."""
        dtype, device = w.dtype, w.device
        consts = self.constants_on(device, dtype)
        cdtype = COMPLEX[dtype]
        angles_u = consts["const"] + consts["a_w"] @ w  # (P,)
        angles_b = x @ consts["a_in"].T + angles_u  # (B, P)
        op_qubits = [op.qubits for op in self.program.ops]
        sup = compose(self.fused, self.channel_superops(consts, angles_b, angles_u), op_qubits)
        if self.pauli is not None:
            return strings.pauli_term_values(self, sup, x.shape[0])
        plan, tplan = self.plan, self.trace_plan(x.shape[0])
        snapshots = self.block_states(sup, tplan, cdtype, device)  # 1. forward blocks
        # 2. each cone's blocks traced to it, 3. the cone's channels and its terms' values
        values: list[Tensor] = []
        traced: dict = {}  # reduced states shared by the cones that read them
        for c, obs, pieces in zip(
            plan.contractions, consts["observables"], tplan.pieces, strict=True
        ):
            parts = [self._piece_state(p, snapshots, c.cut, sup, traced) for p in pieces]
            moments = min(self.live_terms[t] for t in c.terms) >= self.n_terms
            with torch.no_grad() if moments else contextlib.nullcontext():  # shot moments alone
                vals = self._cone_values(parts, c, obs, sup, x.shape[0])  # (Bs, T_c)
            values.append(vals.expand(x.shape[0], -1))
        out = torch.ones(x.shape[0], len(self.program.terms), dtype=dtype, device=device)
        if values:
            order = [self.live_terms[t] for c in plan.contractions for t in c.terms]
            out = out.index_copy(1, torch.as_tensor(order, device=device), torch.cat(values, 1))
        return out

    def block_states(
        self, sup: list[Tensor], tplan: TracePlan, cdtype: torch.dtype, device: torch.device
    ) -> dict[int, dict]:
        """Mixed product blocks evolved forward through ``tplan.block_ops``, a snapshot (qubit
        -> (order, state (Bs, 2,..,2))) at every cut in ``tplan.snaps``."""
        ops = self.fused
        zero = torch.zeros(1, 2, 2, dtype=cdtype, device=device)
        zero[0, 0, 0] = 1.0  # |0><0|
        blocks: dict[int, tuple[list[int], Tensor]] = {
            q: ([q], zero) for q in range(self.program.num_qubits)
        }
        snapshots = {}
        todo = list(tplan.block_ops)
        for t in tplan.snaps:
            while todo and todo[0] < t:
                i = todo.pop(0)
                parts: list[tuple[list[int], Tensor]] = []
                for q in ops[i].qubits:
                    if all(blocks[q] is not p for p in parts):
                        parts.append(blocks[q])
                order, state = parts[0]
                for other_order, other in parts[1:]:
                    state = kron_state(state, len(order), other, len(other_order))
                    order = order + other_order
                entry = (order, apply_superop(state, sup[i], order, ops[i].qubits))
                for q in order:
                    blocks[q] = entry
            snapshots[t] = dict(blocks)
        return snapshots

    def _piece_state(
        self, piece: Piece, snapshots: dict, cut: int, sup: list[Tensor], traced: dict
    ) -> tuple[Tensor, list[int]]:
        """One block's state at ``cut`` traced to the cone: (Bs, 2,..,2) and its qubit order.

        Forward pieces trace the block's snapshot; backward ones (``traces.py``) map the state
        of their light cone at ``trace.start``. Results are cached in ``traced``.
        """
        trace = piece.trace
        if trace is None:
            order, state = snapshots[cut][piece.keep[0]]
            keep = [p for p in order if p in piece.keep]
            return traced_state(state, order, keep, traced), keep
        if trace not in traced:
            parts = [
                (traced_state(state, order, keep, traced), keep)
                for order, state, keep in cone_blocks(trace.qubits, snapshots[trace.start])
            ]
            traced[trace] = back_trace_state(parts, trace, sup, self._fused_qubits)
        return traced[trace], list(trace.keep)

    def _cone_values(
        self, parts: list[tuple[Tensor, list[int]]], c, obs: Tensor, sup: list[Tensor], batch: int
    ) -> Tensor:
        """``Tr(O_t rho_final)`` for one contraction: (Bs, T_c), real.

        The cone's state at the cut is the product of ``parts`` (density tensors
        (Bs, 2,..,2) on their qubits). Its channels run forward on that state, except a
        trailing run of channels without a batch axis when the contraction has fewer terms
        than samples: those run backward on the observables (Heisenberg picture), since
        ``vec(O^T) . M vec(rho) = (M^T vec(O^T)) . vec(rho)``; exact either way, and T_c
        observables cost less to evolve than B density matrices. When every channel runs
        backward, the observables meet the parts one at a time (``product_values``) and the
        cone's density matrix is never formed.

        Args:
            obs: (T_c, d, d) the terms' ``O^T`` on the cone's sorted qubits.
        """
        ops = self.fused
        split = len(c.ops)
        if len(c.terms) < batch:
            while split and sup[c.ops[split - 1]].shape[0] == 1:
                split -= 1
        order = list(c.qubits)
        a = obs.reshape(obs.shape[0], *([2] * (2 * len(order))))  # (T_c, 2,..,2) on ``order``
        for i in reversed(c.ops[split:]):
            a = apply_superop(a, sup[i].transpose(-1, -2), order, ops[i].qubits)
        if not split:
            return product_values(a, order, parts).real
        rho, rho_order = parts[0]
        for part, keep in parts[1:]:
            rho = kron_state(rho, len(rho_order), part, len(keep))
            rho_order = rho_order + keep
        for i in c.ops[:split]:
            rho = apply_superop(rho, sup[i], rho_order, ops[i].qubits)
        rho = partial_trace(rho, rho_order, order)  # sorted order, (Bs, d, d)
        return (rho.reshape(rho.shape[0], -1) @ a.reshape(a.shape[0], -1).T).real

    def forward(self, x: Tensor) -> Tensor:
        """Expectation values for inputs x (B, n_in): (B, n_obs), sampled if ``shots`` > 0."""
        terms = self._checked_term_values(x)
        if self.shots:
            terms = sample_measurements(terms, self.shots, self.generator, self.measurements)
        with torch.autocast(terms.device.type, enabled=False):  # outputs keep the weight's dtype
            return terms @ self.constants_on(terms.device, terms.dtype)["term_weights"]

    def describe(self) -> str:
        """A few lines: noisy gates, readout, the route the values come from (``describe.py``)."""
        return describe_engine(self)
