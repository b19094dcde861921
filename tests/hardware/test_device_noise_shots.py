"""The enrichment block (16 qubits) with FakeFez's device noise model: the exact noisy engine
against Aer's noisy simulation of the same logical circuit, measured shot by shot.

Aer runs the logical circuit with the *whole* noise model (every gate occurrence's own error,
as ``positional.aer_circuit`` writes it into the circuit, and the readout errors) and measures
every qubit, in the Z basis for the ⟨Z_q⟩ outputs and after a (noiseless)
H layer for the ⟨X_q⟩ outputs; each output's estimate is the mean m of its ±1 outcomes over
the N shots. The engine's values v are exact (no sampling), so m must lie within 3 Monte-Carlo
standard errors of v: |v - m| < 3 sqrt((1 - v^2) / N), the standard error of a mean of N ±1
outcomes whose true mean is v (a score test: the error estimated from m itself is unreliable
for |v| near 1 at few shots).

Cost (docs/benchmarks.md, "Noise"): plain trajectories, about 47 ms of CPU per shot, so the
32 768-shot version (2 samples x 2 bases) needs about 100 CPU minutes and runs only with
``HQ_QISKIT_SLOW=1``, one test per sample so that two processes can share the work, e.g.
``pytest -k "32768 and 0"`` beside ``pytest -k "32768 and 1"``. Always on: the same code at 256
shots on the 16-qubit block, and at 32 768 shots on the 6-qubit (2x3) block. Aer's shot
branching (4x cheaper) is not used: in Aer 0.18 it samples a readout error once per branch
instead of once per shot (measured: 10 000 shots of one branch all read the same).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.hardware.device_noise import device_noise_model
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.noisy.positional import aer_circuit

SLOW = os.environ.get("HQ_QISKIT_SLOW") == "1"
# Shots per Aer run (progress and bounded memory; shot branching once needed it: 32 768 shots in
# one branching run reached 21 GB). Aer seeds shot i of a run with seed_simulator + i, so run k
# starts at seed base + (its first shot): the runs together draw exactly the shots of one
# 32 768-shot run. Seeding run k with base + k instead (as this test once did) made consecutive
# runs repeat all but one of each other's shots: 16 runs were ~2048 independent shots, and the
# check failed at |z| 10 although engine and Aer agree (measured on the 6-qubit block: |z| 6.3
# with overlapping seeds, 1.2 without; the same 1.2 as one run of 32 768 shots).
CHUNK = 2048
SEED_STRIDE = 10**6  # shot seeds of different samples never meet (shots per sample < 10**6)


def measured_circuit(block: QuantumBlock, basis: str) -> QuantumCircuit:
    """The block's logical circuit measured on every qubit in the Z or X basis."""
    qc = block.circuit.copy()
    if basis == "X":
        qc.h(range(qc.num_qubits))  # no error is attached to 'h' in the device model
    qc.measure_all()
    return qc


def aer_shot_estimates(
    block: QuantumBlock, noise_model, x: np.ndarray, w: np.ndarray, shots: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Aer's shot estimates of the block's outputs ⟨Z_q⟩, ⟨X_q⟩.

    Args:
        block: a block whose observables are single-qubit Z or X (the enrichment QCNN).
        noise_model: Aer ``NoiseModel`` on the logical qubits, readout included.
        x: (S, n_in) input angles; w: (n_w,) weights, radians.
        shots: measurement shots per sample and basis.
        seed: shot j of a sample is seeded ``seed * SEED_STRIDE + j`` (runs of ``CHUNK``).

    Returns:
        means and standard errors, both (S, n_obs), and Aer's CPU seconds (this process).
    """
    pairs = [aer_circuit(measured_circuit(block, b), noise_model) for b in "ZX"]
    circuits, models = [c for c, _ in pairs], [m for _, m in pairs]
    sim = AerSimulator(
        method="statevector",
        noise_model=models[0],  # the readout errors; each gate's own error is in the circuit
        shot_branching_enable=False,  # Aer 0.18's branching samples readout once per branch
        max_parallel_threads=1,
        max_parallel_experiments=1,
        max_parallel_shots=1,
    )
    binds = [
        {p: [values[p] for values in _bindings(block, x, w)] for p in qc.parameters}
        for qc in circuits
    ]
    n = block.circuit.num_qubits
    sums = {(s, f"{basis}{q}"): 0.0 for s in range(len(x)) for basis in "ZX" for q in range(n)}
    start, done = time.process_time(), 0
    for first in range(0, shots, CHUNK):  # see CHUNK
        size = min(CHUNK, shots - first)
        result = sim.run(
            circuits, parameter_binds=binds, shots=size, seed_simulator=seed * SEED_STRIDE + first
        ).result()
        for b, basis in enumerate("ZX"):
            for s in range(len(x)):
                counts = result.get_counts(b * len(x) + s)
                bits = np.array([[int(c) for c in key[::-1]] for key in counts])  # (K, n)
                weight = np.array(list(counts.values()), dtype=float)
                assert weight.sum() == size
                for q in range(n):
                    sums[s, f"{basis}{q}"] += float(weight @ (1 - 2 * bits[:, q]))
        done += size
    cpu = time.process_time() - start
    assert done == shots
    means = {key: total / shots for key, total in sums.items()}
    m = np.array([[means[s, name] for name in block.observable_names] for s in range(len(x))])
    se = np.sqrt(np.clip(1 - m**2, 0, None) / (shots - 1))
    return m, se, cpu


def _bindings(block: QuantumBlock, x: np.ndarray, w: np.ndarray) -> list[dict]:
    return [
        dict(zip(block.inputs, row, strict=True)) | dict(zip(block.weights, w, strict=True))
        for row in x
    ]


def check_against_aer(
    shots: int, samples: int, seed: int, only: int | None = None, grid: tuple[int, int] = (4, 4)
) -> dict:
    """z-scores of the exact noisy (and of the ideal) engine against Aer's shot estimates, for
    the enrichment block on a ``grid`` of qubits (the papers' 4x4 unless given).

    ``samples`` inputs are drawn from ``seed``; ``only`` keeps one of them (its index), so the
    samples of one draw can be checked in separate processes with the same numbers."""
    block = enrichment_qcnn(rows=grid[0], cols=grid[1])
    noise_model = device_noise_model(block, get_backend("aer-noisy-fez"))
    rng = np.random.default_rng(seed)
    w = rng.uniform(-np.pi, np.pi, block.n_weights)
    x = rng.uniform(0, 1, (samples, block.n_inputs))
    kwargs = {"dtype": torch.float64, "initial_weights": torch.tensor(w)}
    noisy = connect_block(block, noise=noise_model, **kwargs)(torch.tensor(x)).detach().numpy()
    ideal = connect_block(block, **kwargs)(torch.tensor(x)).detach().numpy()
    keep = list(range(samples)) if only is None else [only]
    noisy, ideal = noisy[keep], ideal[keep]
    rows, cpu = [], 0.0
    for i, s in enumerate(keep):  # one Aer run per sample: each prints its line as it completes
        mean, se, seconds = aer_shot_estimates(block, noise_model, x[s : s + 1], w, shots, seed + s)
        rows.append((mean[0], se[0]))
        cpu += seconds
        zs = (noisy[i] - mean[0]) / np.sqrt(np.clip(1 - noisy[i] ** 2, 1 / shots, None) / shots)
        print(f"sample {s}: Aer {seconds:.0f} s CPU, |z| max {np.abs(zs).max():.2f}", flush=True)
    mean = np.array([r[0] for r in rows])

    def z(v: np.ndarray) -> np.ndarray:
        return (v - mean) / np.sqrt(np.clip(1 - v**2, 1 / shots, None) / shots)

    return {
        "z": z(noisy),
        "z_ideal": z(ideal),
        "se": np.array([r[1] for r in rows]),
        "cpu": cpu,
        "shots": shots,
    }


def _report(r: dict) -> str:
    z, zi = np.abs(r["z"]), np.abs(r["z_ideal"])
    return (
        f"{r['shots']} shots x {z.shape[0]} samples x 2 bases: Aer {r['cpu']:.0f} s CPU; "
        f"engine |z| max {z.max():.2f} mean {z.mean():.2f}, mean z^2 {np.mean(z**2):.2f}; "
        f"ideal engine |z| max {zi.max():.1f}; mean SE {r['se'].mean():.4f}"
    )


def test_exact_noisy_engine_within_aer_shot_noise_small() -> None:
    """Always on: the same check at 256 shots, 1 sample (seconds), so the code stays alive."""
    r = check_against_aer(shots=256, samples=1, seed=3)
    print(_report(r))
    assert r["z"].shape == (1, 32)
    assert np.abs(r["z"]).max() < 3.5  # 32 values at 256 shots; the slow test's bound is 3


def test_exact_noisy_engine_within_3_standard_errors_at_32768_shots_on_6_qubits() -> None:
    """Always on: the slow test's bounds at its 32 768 shots, on the 2x3 enrichment block with
    FakeFez's device noise (about 10 s of Aer CPU). At this shot count it tells a wrong seeding
    of Aer's runs from a right one (overlapping shot seeds gave |z| 6.3 here)."""
    r = check_against_aer(shots=32768, samples=1, seed=5, grid=(2, 3))
    print(_report(r))
    assert r["z"].shape == (1, 12)
    assert np.abs(r["z"]).max() < 3
    assert np.mean(r["z"] ** 2) < 2
    assert np.abs(r["z_ideal"]).max() > 4  # the device noise is visible (ideal: 5.2 here)


@pytest.mark.skipif(
    not SLOW,
    reason="16-qubit Aer check at 32768 shots per sample: tens of CPU minutes; "
    "set HQ_QISKIT_SLOW=1 to run it",
)
@pytest.mark.parametrize("sample", [0, 1])
def test_exact_noisy_engine_within_3_standard_errors_at_32768_shots(sample: int) -> None:
    """One sample per test (about 50 CPU minutes each), so the two can run side by side."""
    r = check_against_aer(shots=32768, samples=2, seed=0, only=sample)
    print(_report(r))
    print("z per output:", np.round(r["z"], 2).tolist())
    assert r["z"].shape == (1, 32)
    assert np.abs(r["z"]).max() < 3  # every one of the 32 outputs within 3 standard errors
    assert np.mean(r["z"] ** 2) < 2  # and their spread is that of Aer's own shot noise
    # the check can tell the device noise from none: the ideal values are far outside
    assert np.abs(r["z_ideal"]).max() > 6
