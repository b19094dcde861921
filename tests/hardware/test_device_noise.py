"""Device noise for the logical circuit, against Aer on the ISA circuit with the device errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_aer.noise.device.models import basic_device_gate_errors

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.device_noise import device_noise, device_noise_model
from hq_qiskit.hardware.layout import restrict_target
from hq_qiskit.quantum import connect_block


@pytest.fixture(scope="module")
def fez():
    return fake_backend("FakeFez")


def small_block(ring: bool) -> QuantumBlock:
    """Four qubits: encodings, a chain of CX (and, with ``ring``, a CX closing the ring)."""
    x, w = ParameterVector("x", 4), ParameterVector("w", 2)
    qc = QuantumCircuit(4, name="ring" if ring else "chain")
    for q in range(4):
        qc.rx(2 * x[q], q)
        qc.ry(w[0], q)
    pairs = [(0, 1), (1, 2), (2, 3)] + ([(3, 0)] if ring else [])
    for a, b in pairs:
        qc.cx(a, b)
        qc.ry(w[1], b)
    obs, names = single_qubit_observables(4, "ZX")
    return QuantumBlock(qc.name, qc, x, w, obs, names)


def isa_reference(block, dn, target, x, w) -> np.ndarray:
    """Aer density-matrix values of the ISA circuit on its active qubits, device gate errors."""
    mapped = dn.mapped
    active = mapped.active_qubits
    index = {p: i for i, p in enumerate(active)}
    compact = QuantumCircuit(len(active))
    for inst in mapped.circuit.data:
        if inst.operation.name in ("barrier", "delay"):
            continue
        compact.append(
            inst.operation, [index[mapped.circuit.find_bit(q).index] for q in inst.qubits]
        )
    nm = NoiseModel()
    for name, qubits, error in basic_device_gate_errors(target=restrict_target(target, active)):
        nm.add_quantum_error(error, name, qubits, warnings=False)
    sim = AerSimulator(method="density_matrix", noise_model=nm)
    order = {p: i for i, p in enumerate(compact.parameters)}
    circuits = []
    for row in x:
        values = dict(zip(block.inputs, row, strict=True)) | dict(
            zip(block.weights, w, strict=True)
        )
        bound = compact.assign_parameters({p: values[p] for p in order})
        for v in range(block.circuit.num_qubits):
            q = index[mapped.final_layout[v]]
            for letter in "ZX":
                bound.save_expectation_value(SparsePauliOp(letter), [q], label=f"{letter}{v}")
        circuits.append(bound)
    result = sim.run(circuits).result()
    return np.array(
        [[result.data(i)[name] for name in block.observable_names] for i in range(len(x))]
    ).real


@pytest.mark.parametrize("ring", [False, True])
def test_logical_noise_tracks_aer_on_the_isa_circuit(fez, ring) -> None:
    block = small_block(ring)
    dn = device_noise(block, fez, optimization_level=1, layout="preset")
    assert (dn.swaps > 0) == ring
    rng = np.random.default_rng(1)
    x, w = rng.uniform(-1, 1, (3, 4)), rng.uniform(-np.pi, np.pi, 2)
    nm = NoiseModel()  # gate errors only: the ISA reference has no readout
    for name, errors in dn.noise_model._local_quantum_errors.items():
        for qubits, error in errors.items():
            nm.add_quantum_error(error, name, qubits, warnings=False)
    module = connect_block(block, noise=nm, dtype=torch.float64, initial_weights=torch.tensor(w))
    got = module(torch.tensor(x)).detach().numpy()
    ideal = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    ideal = ideal(torch.tensor(x)).detach().numpy()
    want = isa_reference(block, dn, fez.target, x, w)
    noise_effect = np.abs(want - ideal).mean()
    assert noise_effect > 1e-3
    # the approximation (errors moved to the end of each logical gate) keeps most of the effect
    assert np.abs(got - want).mean() < 0.5 * noise_effect


def test_readout_comes_from_the_final_physical_qubits(fez) -> None:
    block = small_block(ring=True)
    dn = device_noise(block, fez, optimization_level=1, layout="preset")
    readout = dn.noise_model._local_readout_errors
    assert sorted(readout) == [(v,) for v in range(4)]
    props = fez.properties()
    for v in range(4):  # the snapshot's asymmetric P(1|0), P(0|1), not the target's mean
        p = dn.mapped.final_layout[v]
        p10 = props.qubit_property(p, "prob_meas1_prep0")[0]
        p01 = props.qubit_property(p, "prob_meas0_prep1")[0]
        np.testing.assert_allclose(readout[(v,)].probabilities, [[1 - p10, p10], [p01, 1 - p01]])


def test_cached_per_circuit_backend_and_settings(fez) -> None:
    block = small_block(ring=False)
    a = device_noise(block, fez, optimization_level=1, layout="preset")
    assert device_noise(block, fez, optimization_level=1, layout="preset") is a
    assert device_noise_model(block, fez, optimization_level=1, layout="preset") is a.noise_model
    assert device_noise(block, fez, optimization_level=1, layout="trivial") is not a
    assert "2025-02-26" in a.snapshot and a.device == "fake_fez"


def test_cache_key_has_the_snapshot_date_on_a_fresh_fake() -> None:
    """A fake loads its properties lazily: the first call must not key without the date."""
    from qiskit_ibm_runtime.fake_provider import FakeFez

    block = small_block(ring=False)
    first = device_noise(block, FakeFez(), optimization_level=1, layout="preset")
    assert "2025-02-26" in first.snapshot
    assert device_noise(block, FakeFez(), optimization_level=1, layout="preset") is first


def test_ideal_entry_is_refused() -> None:
    with pytest.raises(ConfigError, match="is ideal"):
        device_noise(small_block(ring=False), "aer")
