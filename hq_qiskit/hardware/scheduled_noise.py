"""Device model "scheduled": the exact noisy engine runs the block's scheduled ISA circuit itself.

The logical device model (``device_noise.py``) attaches the ISA circuit's errors to the logical
circuit's gates; the ECR's relaxation then acts in another frame and it captures 0.65-0.91 of
the device's noise (docs/benchmarks.md, "Device noise captured"). This model leaves nothing to
attach: the block is transpiled as the device runs it (the entry's optimisation level, layout
strategy and seed: ``layout.transpile_block``), scheduled ALAP with the target's durations and a
delay on every idle window (``schedule.scheduled_circuit``), cut to its active qubits (the
qubits any gate touches plus the final layout), and the exact noisy engine runs that circuit
with the snapshot's noise on those qubits (``schedule.device_noise_on``: ``from_backend`` gate
errors with relaxation over each gate's duration, thermal relaxation on every delay, asymmetric
readout P(1|0), P(0|1)). Observables are mapped through the layout; the circuit's parameters
are still the block's ``inputs`` and ``weights`` (the transpiler's angle expressions are
affine in them, which the engine reads).

Its limit is width: routing SWAPs join the engine's product blocks, so HQ-UNet's 16-qubit
bottleneck does not fit in memory (the engine refuses it before allocating); that is why
``"logical"`` stays the default ``device_model`` of a backend entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from torch import nn

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.hardware.layout import MappedCircuit, transpile_block
from hq_qiskit.hardware.schedule import device_noise_on, scheduled_circuit


@dataclass(frozen=True)
class ScheduledDevice:
    """A block's scheduled ISA circuit on its active qubits, with the device noise there.

    Attributes:
        circuit: the scheduled circuit on ``len(qubits)`` qubits (delays in dt).
        qubits: device qubit of each of its qubits.
        observables: the block's observables on those qubits (through the final layout).
        noise_model: Aer ``NoiseModel`` on those qubits (``schedule.device_noise_on``).
        mapped: the ISA transpilation.
        build_s: seconds spent transpiling, scheduling and building the noise.
    """

    circuit: QuantumCircuit
    qubits: tuple[int, ...]
    observables: list[SparsePauliOp]
    noise_model: object
    mapped: MappedCircuit
    build_s: float


def active_qubits(mapped: MappedCircuit) -> list[int]:
    """Device qubits a gate of the ISA circuit touches, plus those read at the end."""
    circuit = mapped.circuit
    busy = {
        circuit.find_bit(q).index
        for inst in circuit.data
        if inst.operation.name not in ("delay", "barrier")
        for q in inst.qubits
    }
    return sorted(busy | set(mapped.final_layout))


def on_qubits(mapped: MappedCircuit, device, *, noise_device=None) -> ScheduledDevice:
    """The scheduled circuit of ``mapped`` and its noise on its active qubits.

    Args:
        mapped: the block's transpilation for ``device``.
        device: the (fake) backend: target (durations) and properties.
        noise_device: where the errors come from (default ``device``; a
            ``noise_scale.ScaledDevice`` for scaled noise; the schedule stays the device's).
    """
    start = time.perf_counter()
    qubits = active_qubits(mapped)
    index = {p: i for i, p in enumerate(qubits)}
    observables = [
        SparsePauliOp.from_sparse_list(
            [(letters, [index[q] for q in where], c) for letters, where, c in o.to_sparse_list()],
            len(qubits),
        )
        for o in mapped.observables
    ]
    noise = device_noise_on(noise_device if noise_device is not None else device, qubits)
    circuit = scheduled_circuit(mapped.circuit, device.target, qubits)
    build = time.perf_counter() - start
    return ScheduledDevice(circuit, tuple(qubits), observables, noise, mapped, build)


_CACHE: dict[tuple, ScheduledDevice] = {}


def scheduled_device(
    block: QuantumBlock, device, *, level: int, strategy: str, seed: int, noise_scale: float = 1.0
) -> ScheduledDevice:
    """``on_qubits`` of ``block`` transpiled for ``device`` (cached per process).

    Args:
        block: the quantum block.
        device: the fake backend (e.g. ``FakeFez()``).
        level, strategy, seed: the transpile settings (a backend entry's
            ``optimization_level``, ``layout``, ``seed_transpiler``).
        noise_scale: every error times this factor (``noise_scale.py``).
    """
    from hq_qiskit.hardware.device_noise import _circuit_key, snapshot_of
    from hq_qiskit.hardware.noise_scale import check_factor, scaled_device

    scale = check_factor(noise_scale)
    key = (_circuit_key(block), snapshot_of(device), level, strategy, seed, scale)
    if key not in _CACHE:
        start = time.perf_counter()
        mapped = transpile_block(
            block.circuit,
            block.observables,
            device.target,
            optimization_level=level,
            seed=seed,
            strategy=strategy,
        )
        errs = None if scale == 1 else scaled_device(device, scale)
        built = on_qubits(mapped, device, noise_device=errs)
        _CACHE[key] = ScheduledDevice(
            built.circuit,
            built.qubits,
            built.observables,
            built.noise_model,
            mapped,
            time.perf_counter() - start,
        )
    return _CACHE[key]


def scheduled_module(
    block: QuantumBlock,
    sched: ScheduledDevice,
    *,
    engine: str = "fast",
    shots: int | None = None,
    seed: int = 0,
    initial_weights: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    max_memory_gb: float = 4.0,
) -> nn.Module:
    """A module x (B, n_in) -> (B, n_obs): ``block``'s values on the scheduled ISA circuit.

    Same contract as ``connect_block`` (one parameter ``weight`` (n_w,), radians; gradients
    for inputs and weights); ``engine`` "fast" is the exact noisy engine, "qiskit" Aer's
    estimator with the same noise model; ``max_memory_gb`` as ``connect`` (the engine refuses
    a wider circuit before allocating).
    """
    from hq_qiskit.quantum.connect import connect

    return connect(
        sched.circuit,
        block.inputs,
        block.weights,
        sched.observables,
        engine=engine,
        noise=sched.noise_model,
        shots=shots,
        seed=seed,
        initial_weights=initial_weights,
        dtype=dtype,
        max_memory_gb=max_memory_gb,
    )
