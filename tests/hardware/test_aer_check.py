"""The Aer check of ``--simulator exact-noisy`` compares exact with exact: Aer's density matrix of
the circuit with each gate occurrence's own channel (``positional.aer_circuit``, idle windows
included) and readout folded into the observables, against the exact noisy engine's noisy mean.
They agree to 1e-6 on two devices, while an ideal engine misses by the whole noise."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.hardware.local_sim import (
    AER_CHECK_TOL,
    aer_reference,
    block_noise,
    exact_noisy_values,
)
from hq_qiskit.quantum.noisy.positional import matched


@pytest.mark.parametrize("device", ["ibm_brisbane", "ibm_fez"])
def test_engine_and_aer_agree_exactly_and_an_ideal_engine_would_not(device):
    block = enrichment_qcnn(rows=2, cols=2)
    entry = get_backend(device)
    rng = np.random.default_rng(3)
    weights = rng.uniform(-1, 1, len(block.weights))
    x = rng.uniform(-1, 1, (2, len(block.inputs)))
    noise = block_noise(block, entry).noise_model
    bound = [
        block.circuit.assign_parameters(
            {
                **dict(zip(block.weights, weights, strict=True)),
                **dict(zip(block.inputs, r, strict=True)),
            }
        )
        for r in x
    ]
    assert all(matched(noise, b) is not None for b in bound)  # per-occurrence channels used
    aer = aer_reference(block, weights, x, noise)
    engine, stds, _ = exact_noisy_values(block, weights, x, entry, shots=0, seed=0)
    assert np.abs(engine - aer).max() < AER_CHECK_TOL and not stds.any()
    ideal = np.array([[Statevector(b).expectation_value(o).real for o in block.observables]
                      for b in bound])  # fmt: skip
    assert np.abs(ideal - aer).mean() > 1000 * AER_CHECK_TOL  # the noise is what is checked


def test_wide_blocks_are_not_checked():
    block = enrichment_qcnn()  # 16 qubits: a density matrix of 4**16 numbers
    assert aer_reference(block, np.zeros(len(block.weights)), np.zeros((1, 0)), None) is None
