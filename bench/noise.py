"""Benchmark: exact device noise in the fast engine, against the ideal engine and Aer.

Three measurements of the enrichment QCNN (16 qubits, 48 inputs, 32 outputs), one run:

1. Cost. Forward+backward at B=64 on one torch thread (CPU time of the calling thread, best
   of ``--repeats``): the ideal fast engine, and the exact noisy engine with the device noise
   model of each backend (``hardware/device_noise.py``, readout included). Beside them, Aer's
   noisy simulation of the same logical circuit with the same noise model at 1024 shots per
   sample (statevector trajectories, ``save_expectation_value`` of all 32 observables, one
   thread, forward only): timed on ``--aer-time-shots`` trajectories, scaled to 1024.
2. Exactness at 16 qubits. The noisy engine (gate errors only: Aer's expectation values leave
   readout out) against Aer's trajectories of the logical circuit with the same noise model,
   ``--logical-shots`` per sample, per-shot values saved: z = (engine - Aer mean) / Aer's
   standard error, per observable.
3. The approximation's cost. The noisy engine (gate errors only) against Aer's noisy
   simulation of the transpiled ISA circuit on its active qubits with the device's own
   per-native-gate errors (``basic_device_gate_errors``, the function
   ``NoiseModel.from_backend`` builds its gate errors with), two far-apart seeds of
   ``--isa-shots`` trajectories each: mean |engine - Aer| per backend beside Aer's seed-to-seed
   mean |Aer(seed 1) - Aer(seed 2)| and the ideal engine's deviation (what ignoring noise costs).

Usage:

    python bench/noise.py                                  # FakeFez and FakeBrisbane
    python bench/noise.py --backends aer-noisy-fez --isa-shots 64 --samples 1
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import qiskit
import qiskit_aer
import torch
from machine import describe_machine  # bench/machine.py, beside this script
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_aer.noise.device.models import basic_device_gate_errors

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.hardware.device_noise import _fake, device_noise
from hq_qiskit.hardware.layout import restrict_target
from hq_qiskit.quantum import connect_block


def gate_errors_only(nm: NoiseModel) -> NoiseModel:
    """The same quantum errors without readout errors (what Aer's expectation values see)."""
    out = NoiseModel()
    for name, error in nm._default_quantum_errors.items():
        out.add_all_qubit_quantum_error(error, name, warnings=False)
    for name, errors in nm._local_quantum_errors.items():
        for qubits, error in errors.items():
            out.add_quantum_error(error, name, qubits, warnings=False)
    return out


def thread_time(fn, repeats: int) -> float:
    """Best CPU time of the calling thread over ``repeats`` calls, seconds."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def aer_trajectories(circuit: QuantumCircuit, observables, qubits_of, nm, shots, seed):
    """Per-shot expectation values from Aer trajectories: (shots, n_obs), and CPU seconds."""
    bound = circuit.copy()
    for k, (obs, q) in enumerate(zip(observables, qubits_of, strict=True)):
        bound.save_expectation_value(obs, [q], label=f"o{k}", pershot=True)
    sim = AerSimulator(
        method="statevector",
        noise_model=nm,
        max_parallel_threads=1,
        max_parallel_shots=1,
        max_parallel_experiments=1,
    )
    start = time.process_time()
    data = sim.run(bound, shots=shots, seed_simulator=seed).result().data(0)
    cpu = time.process_time() - start
    return np.array([np.real(data[f"o{k}"]) for k in range(len(observables))]).T, cpu


def bind(block, x: np.ndarray, w: np.ndarray, circuit: QuantumCircuit) -> QuantumCircuit:
    values = dict(zip(block.inputs, x, strict=True)) | dict(zip(block.weights, w, strict=True))
    return circuit.assign_parameters({p: values[p] for p in circuit.parameters})


def compact_isa(dn) -> tuple[QuantumCircuit, tuple[int, ...], dict[int, int]]:
    """The ISA circuit on its active qubits only (Aer otherwise carries idle qubits)."""
    mapped = dn.mapped
    active = mapped.active_qubits
    index = {p: i for i, p in enumerate(active)}
    qc = QuantumCircuit(len(active))
    for inst in mapped.circuit.data:
        if inst.operation.name in ("barrier", "delay"):
            continue
        qc.append(inst.operation, [index[mapped.circuit.find_bit(q).index] for q in inst.qubits])
    return qc, active, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["aer-noisy-fez", "aer-noisy-brisbane"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--aer-time-shots", type=int, default=64)
    parser.add_argument("--logical-shots", type=int, default=512)
    parser.add_argument("--isa-shots", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe_machine())
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, qiskit "
        f"{qiskit.__version__}, qiskit-aer {qiskit_aer.__version__}"
    )
    block = enrichment_qcnn()
    rng = np.random.default_rng(args.seed)
    w = rng.uniform(-np.pi, np.pi, block.n_weights)
    xb = torch.rand(args.batch, block.n_inputs, generator=torch.Generator().manual_seed(1))
    xs = rng.uniform(0, 1, (args.samples, block.n_inputs))
    ideal = connect_block(block, initial_weights=torch.tensor(w))

    def step(module, x):
        module.zero_grad()
        module(x).sum().backward()

    t_ideal = thread_time(lambda: step(ideal, xb), args.repeats)
    print(f"\nideal fast engine, B={args.batch} fwd+bwd: {t_ideal * 1e3:.1f} ms CPU")
    ideal64 = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    v_ideal = ideal64(torch.tensor(xs)).detach().numpy()
    for name in args.backends:
        backend = get_backend(name)
        dn = device_noise(block, backend)
        print(f"\n## {name}: {dn.snapshot}")
        print(
            f"device noise model: {dn.build_s:.1f} s to build, {dn.swaps} routing swaps, "
            f"{len(dn.mapped.active_qubits)} active qubits\n  native gates attributed "
            f"{dn.native_gates}; the transpiler's ISA circuit {dict(dn.mapped.circuit.count_ops())}"
        )
        noisy = connect_block(block, noise=dn.noise_model, initial_weights=torch.tensor(w))
        t_noisy = thread_time(lambda noisy=noisy: step(noisy, xb), args.repeats)
        print(
            f"exact noisy engine (readout included), B={args.batch} fwd+bwd: "
            f"{t_noisy * 1e3:.1f} ms CPU = {t_noisy / t_ideal:.1f}x the ideal engine"
        )
        gates_only = gate_errors_only(dn.noise_model)
        logical = bind(block, xs[0], w, block.circuit)
        qubits = [list(o.paulis[0].z | o.paulis[0].x).index(True) for o in block.observables]
        letters = [
            SparsePauliOp(o.paulis[0].to_label().replace("I", "")) for o in block.observables
        ]
        _, cpu = aer_trajectories(logical, letters, qubits, gates_only, args.aer_time_shots, 1)
        aer_1024 = cpu * 1024 / args.aer_time_shots
        per_sample = t_noisy / args.batch
        print(
            f"Aer, logical circuit, same noise model, 1024 shots (trajectories), forward only: "
            f"{aer_1024:.1f} s CPU per sample (timed on {args.aer_time_shots} shots); the engine's "
            f"fwd+bwd per sample is {per_sample * 1e3:.2f} ms: "
            f"{aer_1024 / per_sample:,.0f}x cheaper"
        )

        exact = connect_block(
            block, noise=gates_only, dtype=torch.float64, initial_weights=torch.tensor(w)
        )
        v_exact = exact(torch.tensor(xs)).detach().numpy()
        z_all = []
        for i, x in enumerate(xs):
            per_shot, _ = aer_trajectories(
                bind(block, x, w, block.circuit), letters, qubits, gates_only,
                args.logical_shots, 1000 * i + 17,
            )  # fmt: skip
            mean = per_shot.mean(0)
            se = per_shot.std(0, ddof=1) / np.sqrt(len(per_shot))
            z_all.append((v_exact[i] - mean) / np.maximum(se, 1e-12))
        z = np.abs(np.concatenate(z_all))
        print(
            f"exactness, logical circuit, {args.samples} samples x {args.logical_shots} Aer "
            f"trajectories: |z| max {z.max():.2f}, mean {z.mean():.2f}, "
            f"{(z < 3).mean() * 100:.0f}% of {len(z)} values within 3 standard errors"
        )

        isa, active, index = compact_isa(dn)
        target = _fake(backend.noise).target
        nm_isa = NoiseModel()
        for gname, qs, error in basic_device_gate_errors(target=restrict_target(target, active)):
            nm_isa.add_quantum_error(error, gname, qs, warnings=False)
        isa_qubits = [index[dn.mapped.final_layout[q]] for q in qubits]
        dev, seed_dev, ideal_dev, ses = [], [], [], []
        isa_cpu = 0.0
        for i, x in enumerate(xs):
            bound = bind(block, x, w, isa)
            a, c1 = aer_trajectories(bound, letters, isa_qubits, nm_isa, args.isa_shots, 11 + i)
            b, c2 = aer_trajectories(
                bound, letters, isa_qubits, nm_isa, args.isa_shots, 500_000_011 + i
            )
            isa_cpu += c1 + c2
            both = np.concatenate([a, b])
            dev.append(np.abs(v_exact[i] - both.mean(0)))
            seed_dev.append(np.abs(a.mean(0) - b.mean(0)))
            ideal_dev.append(np.abs(v_ideal[i] - both.mean(0)))
            ses.append(both.std(0, ddof=1) / np.sqrt(len(both)))
        print(
            f"approximation vs Aer on the ISA circuit ({len(active)} active qubits, device "
            f"gate errors), {args.samples} samples x 2 seeds x {args.isa_shots} trajectories "
            f"({isa_cpu:.0f} s CPU):\n"
            f"  mean |engine - Aer ISA| {np.mean(dev):.4f} (max {np.max(dev):.4f}); "
            f"Aer seed-to-seed mean |diff| {np.mean(seed_dev):.4f}; Aer standard error of the "
            f"pooled mean {np.mean(ses):.4f}; ideal engine mean |ideal - Aer ISA| "
            f"{np.mean(ideal_dev):.4f}"
        )


if __name__ == "__main__":
    main()
