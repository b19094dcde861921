"""Benchmark: error mitigation measured against exact values on a local noisy simulation.

For a small enrichment QCNN (``--grid 2x2`` by default: 4 qubits, 12 inputs, 8 observables)
transpiled to each device's twin (noise-aware layout, level 3, seed 0), ``--samples`` random
inputs and weights in [-1, 1] are run through qiskit-ibm-runtime's client-side estimator (the
Executor-based Estimator a device run uses) on a noisy Aer simulator of the block's physical
region (``hardware/mitigation.py``: gate errors, T1/T2 over gates and ALAP-scheduled idle windows
in every row, asymmetric readout), once per mitigation choice and simulator seed (``--seeds``,
the same seeds for every choice), ``--shots`` shots per circuit. Exact values: ``Statevector`` of
the same ISA circuit. Printed: a Markdown table per device (MAE vs exact as mean +- 95 % t
interval over the seeds, max |error|, shots spent, shot and CPU-time overhead over unmitigated),
with a one-line warning when shot noise exceeds the noise signal.

Usage:

    python bench/mitigation.py                         # FakeFez and FakeBrisbane, 2x2
    python bench/mitigation.py --grid 2x3 --devices FakeFez --shots 8192 --seeds 8
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import qiskit
import qiskit_ibm_runtime
from machine import describe_machine  # bench/machine.py, beside this script
from qiskit.quantum_info import Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.layout import transpile_block
from hq_qiskit.hardware.mitigation import CHOICES, MIN_SEEDS, run_choices
from hq_qiskit.hardware.region_sim import compact
from hq_qiskit.inference.mitigation_report import markdown_lines, shot_noise_note, summarise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="2x2", help="qubit grid RxC of the enrichment QCNN")
    ap.add_argument("--devices", nargs="+", default=["FakeFez", "FakeBrisbane"])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--shots", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0, help="inputs' seed and the first simulator's")
    ap.add_argument("--seeds", type=int, default=MIN_SEEDS, help="simulator seeds per choice")
    ap.add_argument("--choices", nargs="+", default=list(CHOICES))
    args = ap.parse_args()
    rows, cols = (int(v) for v in args.grid.split("x"))
    print(
        f"machine: {describe_machine()}; Python {platform.python_version()}, qiskit "
        f"{qiskit.__version__}, qiskit-ibm-runtime {qiskit_ibm_runtime.__version__}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    block = enrichment_qcnn(rows=rows, cols=cols)
    rng = np.random.default_rng(args.seed)
    for name in args.devices:
        device = fake_backend(name)
        mapped = transpile_block(
            block.circuit, block.observables, device.target, seed=0, strategy="noise_aware"
        )
        qc, observables = compact(mapped)
        values = rng.uniform(-1, 1, (args.samples, qc.num_parameters))  # (N, P)
        states = [Statevector(qc.assign_parameters(v)) for v in values]
        exact = np.array([[s.expectation_value(o).real for o in observables] for s in states])
        seeds = tuple(range(args.seed, args.seed + args.seeds))
        runs = run_choices(
            mapped, device, values[:, None, :], shots=args.shots, seeds=seeds, choices=args.choices
        )
        print()
        title = (
            f"{name} ({device.backend_version}), enrichment_qcnn {args.grid} on physical qubits "
            f"{list(mapped.active_qubits)}, ISA {dict(mapped.circuit.count_ops())}, "
            f"{args.samples} samples x {len(observables)} observables, {args.shots} shots per "
            f"circuit, simulator seeds {seeds[0]}..{seeds[-1]}, load "
            f"{os.getloadavg()[0]:.1f} at the end"
        )
        note = shot_noise_note(runs, exact, args.shots)
        print("\n".join(markdown_lines(summarise(runs, exact), title, note)))


if __name__ == "__main__":
    main()
