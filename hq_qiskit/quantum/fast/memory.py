"""Memory a plan needs, estimated before anything is allocated, and the guard that refuses it.

Autograd keeps every intermediate of the forward pass for the backward pass, so the peak of a
training step is about the sum of the intermediates, per sample, times the batch size B:

- cut route: every group simulated before the last cut writes a new state of its block
  (2**size complex numbers); every contraction builds the Kronecker product of the reduced
  states and writes two density matrices (4**|C| numbers) per evolved group, then one more
  for the order of the Pauli matrices (when the observables are evolved instead, in the
  Heisenberg picture, the product is never built: about one 4**|C| intermediate);
- tensor-network route: the sum of the intermediates of the path (``opt_einsum``'s sizes at
  the planning batch, per sample);
- state-vector route: one state of the register per group (about three with adjoint
  differentiation) plus the readout's (``statevector.py``).

Groups run by adjoint differentiation (``adjoint.py``) keep no intermediates: they count as
three states of their largest block (the run's output and the backward's two working states),
plus one per cut (the snapshots a cut keeps), instead of one state per group.

``COPY_FACTOR`` covers the copies torch makes while moving axes (measured on the ring circuit
and the global expert: peaks within 1-2x of the sum). The estimate is of complex numbers;
complex64 takes 8 bytes each, complex128 16.
"""

from __future__ import annotations

from typing import Literal

from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum.fast.fusion import Group
from hq_qiskit.quantum.fast.network import PLAN_BATCH
from hq_qiskit.quantum.fast.plan import Plan, block_sizes, heisenberg

COPY_FACTOR = 2.0
DEFAULT_MAX_MEMORY_GB = 4.0
GRADIENTS = ("auto", "autograd", "adjoint")
Gradient = Literal["auto", "autograd", "adjoint"]
# "auto" runs a group by adjoint differentiation when its block has at least this many qubits
# and autograd's estimate for the plan at PLAN_BATCH samples (complex64) passes ADJOINT_ABOVE_GB:
# below that, keeping the intermediates costs little and saves the backward's recomputation
# (bench/quantum_block.py --adjoint, B=64, load 13.7: deep_14x30 adjoint 2.95 s and 112 MB,
# autograd 2.15 s and 422 MB; the global expert 0.148 s either way, 40-44 MB).
ADJOINT_MIN_QUBITS = 10
ADJOINT_ABOVE_GB = 0.5


def elements_per_sample(
    plan: Plan, groups: list[Group], num_qubits: int, adjoint: frozenset[int] = frozenset()
) -> float:
    """Complex numbers the forward pass keeps for autograd, per sample (see module docstring).

    Args:
        adjoint: indices of the groups run by adjoint differentiation.
    """
    sizes = block_sizes(groups, num_qubits)
    simulate = sum(2.0 ** sizes[i] for i in range(plan.last_cut) if i not in adjoint)
    if adjoint:
        simulate += 2.0 ** max(sizes[i] for i in adjoint) * (3 + len(plan.cuts))
    matrices = sum(
        4.0 ** len(c.qubits) * (1 if heisenberg(groups, c.groups) else 2 * len(c.groups) + 2)
        for c in plan.contractions
    )
    networks = sum(n.elements_per_sample for n in plan.networks)
    states = sum(sv.elements_per_sample for sv in plan.statevectors)
    return COPY_FACTOR * (simulate + matrices + networks + states)


def adjoint_groups(
    plan: Plan, groups: list[Group], num_qubits: int, gradient: Gradient
) -> frozenset[int]:
    """The groups the engine runs by adjoint differentiation: none ("autograd"), every group
    simulated before the last cut ("adjoint"), or ("auto") those on blocks of at least
    ``ADJOINT_MIN_QUBITS`` qubits when autograd would keep more than ``ADJOINT_ABOVE_GB``.

    Raises:
        ConfigError: ``gradient`` is not one of ``GRADIENTS``.
    """
    if gradient not in GRADIENTS:
        raise ConfigError(f"unknown gradient {gradient!r}; choose one of {', '.join(GRADIENTS)}")
    if gradient == "autograd":
        return frozenset()
    if gradient == "adjoint":
        return frozenset(range(plan.last_cut))
    sizes = block_sizes(groups, num_qubits)
    wide = frozenset(i for i in range(plan.last_cut) if sizes[i] >= ADJOINT_MIN_QUBITS)
    autograd_gb = elements_per_sample(plan, groups, num_qubits) * 8 * PLAN_BATCH / 1e9
    return wide if autograd_gb > ADJOINT_ABOVE_GB else frozenset()


def _largest(plan: Plan, groups: list[Group], num_qubits: int) -> str:
    """What dominates the estimate, in words, for the error message."""
    sizes = block_sizes(groups, num_qubits)
    block = max((sizes[i] for i in range(plan.last_cut)), default=0)
    cone = max((len(c.qubits) for c in plan.contractions), default=0)
    parts = []
    if block:
        parts.append(f"state vectors of product blocks of up to {block} qubits")
    if cone:
        parts.append(f"density matrices on light cones of up to {cone} qubits")
    if plan.networks:
        parts.append(f"{len(plan.networks)} tensor networks")
    if plan.statevectors:
        width = max(len(sv.qubits) for sv in plan.statevectors)
        parts.append(f"state vectors of registers of up to {width} qubits")
    return ", ".join(parts) or "nothing"


def check_memory(
    plan: Plan,
    groups: list[Group],
    num_qubits: int,
    batch: int,
    bytes_per_element: int,
    max_memory_gb: float,
    adjoint: frozenset[int] = frozenset(),
) -> None:
    """Refuse a plan whose forward+backward at ``batch`` samples would pass ``max_memory_gb``.

    ``adjoint``: the groups run by adjoint differentiation (``adjoint_groups``).

    Raises:
        CircuitError: a single sample does not fit (the circuit itself is the problem).
        ConfigError: one sample fits but ``batch`` samples do not.
    """
    per_sample = elements_per_sample(plan, groups, num_qubits, adjoint)
    per_sample *= bytes_per_element / 1e9  # GB
    need = per_sample * batch
    if need <= max_memory_gb:
        return
    what = _largest(plan, groups, num_qubits)
    if per_sample > max_memory_gb:
        raise CircuitError(
            f"the cheapest exact route for this circuit needs about {per_sample:.3g} GB per "
            f"sample ({what}), over the limit max_memory_gb={max_memory_gb:g}; shorten the "
            "light cones (fewer or more local entangling gates, observables on fewer qubits), "
            "or raise max_memory_gb if the machine has the memory"
        )
    fits = int(max_memory_gb // per_sample)
    raise ConfigError(
        f"a batch of {batch} samples needs about {need:.3g} GB in the fast engine ({what}; "
        f"{per_sample * 1e3:.3g} MB per sample), over the limit max_memory_gb={max_memory_gb:g}; "
        f"use batches of at most {fits} samples, or raise max_memory_gb"
    )
