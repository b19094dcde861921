"""How much of a device's noise the logical device model captures, against an exact reference.

The reference is what the device's noise does to the circuit it really runs: the block's ISA
circuit (the same transpilation the device model uses, ``DeviceNoise.mapped``), scheduled ALAP
with a delay on every idle window and simulated exactly with the snapshot's noise
(``schedule.py``: gate errors, thermal relaxation on delays, asymmetric readout). The exact
noisy engine computes it (it matches Aer's density matrix of the same circuit to 1e-8:
``tests/hardware/test_idle_schedule.py``). Per block, inputs and weights:

    captured = 1 - sum |<O>_model - <O>_ref| / sum |<O>_ref - <O>_ideal|

summed over the block's observables and the samples: 1 when the model gives the reference's
values, 0 when it is no closer to them than the ideal circuit is (negative when farther).
"""

from __future__ import annotations

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.scheduled_noise import on_qubits, scheduled_module


def reference_values(
    block: QuantumBlock,
    mapped: MappedCircuit,
    device,
    x: np.ndarray,
    w: np.ndarray,
    *,
    idle: bool = True,
) -> np.ndarray:
    """Exact values of the scheduled ISA circuit under the snapshot's noise: (B, n_obs).

    This is the code path of the device model "scheduled" (``scheduled_noise.on_qubits`` on
    the exact noisy engine), so that model equals it by construction; ``aer_check.py`` gives
    an independent check of both (Aer's density matrix, Aer's ``NoiseModel.from_backend``).

    Args:
        block: the block whose ISA circuit ``mapped`` is.
        mapped: its transpilation for ``device``.
        device: the fake backend (target and properties).
        x: inputs (B, n_in); w: weights (n_w,), radians.
        idle: with thermal relaxation on the idle windows (False: the gate errors and readout
            only, to measure what the idle part is).
    """
    sched = on_qubits(mapped, device)
    if not idle:
        sched.noise_model._custom_noise_passes.clear()
    module = scheduled_module(
        block, sched, dtype=torch.float64, initial_weights=torch.as_tensor(w, dtype=torch.float64)
    )
    with torch.no_grad():
        return module(torch.as_tensor(x, dtype=torch.float64)).numpy()


def captured(model: np.ndarray, reference: np.ndarray, ideal: np.ndarray) -> float:
    """1 - sum |model - reference| / sum |reference - ideal| (module docstring)."""
    signal = float(np.abs(reference - ideal).sum())
    return 1.0 - float(np.abs(model - reference).sum()) / signal


def aer_reference(
    block: QuantumBlock, mapped: MappedCircuit, device, x: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """The scheduled ISA circuit's values by another code path: (B, n_obs).

    Aer's density matrix of ``mapped``'s circuit scheduled ALAP at the device's full width
    (Qiskit's ``ALAPScheduleAnalysis`` + ``PadDelay``), cut to the qubits a gate touches or
    that are read, under Aer's own ``NoiseModel.from_backend(device)`` (gate errors, thermal
    relaxation on delays) moved onto those qubits, and the snapshot's asymmetric readout
    applied to each one-qubit Pauli observable analytically,
    (P(0|1) - P(1|0)) + (1 - P(1|0) - P(0|1)) <P>. Nothing of ``scheduled_noise`` or
    ``schedule`` is used. (Aer's own truncation of a 127-qubit circuit gave wrong
    expectation values here, Aer 0.18.2, so the cut is explicit.)

    Raises:
        ValueError: an observable that is not a one-qubit Pauli string.
    """
    from qiskit_aer import AerSimulator

    kept, qubits = _scheduled_cut(mapped, device)
    index = {p: i for i, p in enumerate(qubits)}
    terms = []
    for o in mapped.observables:
        sparse = o.to_sparse_list()
        if len(sparse) != 1 or len(sparse[0][1]) != 1:
            raise ValueError(f"aer_reference reads one-qubit Pauli observables only, got {o}")
        letters, (q,), coeff = sparse[0]
        terms.append((SparsePauliOp(letters), q, complex(coeff).real))
    props = device.properties()
    values = dict(zip(block.weights, w, strict=True))
    runs = []
    for row in x:
        bound = kept.assign_parameters(
            {p: (values | dict(zip(block.inputs, row, strict=True)))[p] for p in kept.parameters}
        )
        for k, (op, q, _) in enumerate(terms):
            bound.save_expectation_value(op, [index[q]], label=f"o{k}")
        runs.append(bound)
    sim = AerSimulator(method="density_matrix", noise_model=_from_backend_on(device, qubits))
    result = sim.run(runs).result()
    out = np.empty((len(x), len(terms)))
    for k, (_, q, coeff) in enumerate(terms):
        p10 = props.qubit_property(q, "prob_meas1_prep0")[0]
        p01 = props.qubit_property(q, "prob_meas0_prep1")[0]
        for i in range(len(x)):
            ideal = result.data(i)[f"o{k}"].real
            out[i, k] = coeff * (p01 - p10 + (1 - p10 - p01) * ideal)
    return out


def _scheduled_cut(mapped: MappedCircuit, device):
    """(ALAP-scheduled ISA circuit on its busy qubits, those device qubits in order)."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay

    target = device.target
    scheduled = PassManager([ALAPScheduleAnalysis(target=target), PadDelay(target=target)]).run(
        mapped.circuit
    )
    where = [[scheduled.find_bit(q).index for q in i.qubits] for i in scheduled.data]
    busy = {p for i, ps in zip(scheduled.data, where, strict=True) if i.name != "delay" for p in ps}
    qubits = sorted(busy | set(mapped.final_layout))
    index = {p: i for i, p in enumerate(qubits)}
    kept = QuantumCircuit(len(qubits))
    for inst, ps in zip(scheduled.data, where, strict=True):
        if all(p in index for p in ps):
            kept.append(inst.operation, [index[p] for p in ps])
    return kept, qubits


def _from_backend_on(device, qubits: list[int]):
    """``NoiseModel.from_backend(device)``'s gate errors and delay relaxation on ``qubits``."""
    from qiskit.circuit import Delay
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.noise.passes import RelaxationNoisePass

    whole = NoiseModel.from_backend(device)
    index = {p: i for i, p in enumerate(qubits)}
    nm = NoiseModel(basis_gates=whole.basis_gates)
    for name, errors in whole._local_quantum_errors.items():
        for qs, error in errors.items():
            if all(q in index for q in qs):
                nm.add_quantum_error(error, name, [index[q] for q in qs], warnings=False)
    (relax,) = whole._custom_noise_passes
    nm._custom_noise_passes.append(
        RelaxationNoisePass(
            [relax._t1s[q] for q in qubits],
            [relax._t2s[q] for q in qubits],
            dt=relax._dt,
            op_types=Delay,
            excited_state_populations=[relax._p1s[q] for q in qubits],
        )
    )
    return nm
