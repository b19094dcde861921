"""Benchmark: noisy execution of the enrichment QCNN on fake IBM devices.

1. One PUB with a parameter array against one job per sample (runtime local mode, FakeBrisbane).
2. Simulated width (active qubits) and ESP per layout strategy, for every device twin in
   backends.toml.
3. The fast engine's noise mode against Aer's noisy values (calibration once, then fresh
   samples checked against two Aer runs with far-apart seeds): deviations, times, ratios.

Run from the repository root:  python bench/hardware.py [--samples 6] [--shots 64]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import qiskit
import qiskit_aer
import qiskit_ibm_runtime
import torch
from damping import (  # bench/damping.py, beside this script
    NoisyModule,
    aer_values,
    calibrate,
    mapped_block,
    random_parameters,
)

from hq_qiskit.circuits import build_block
from hq_qiskit.hardware.backends import fake_backend, get_backend, load_backends
from hq_qiskit.hardware.estimator import parameter_array
from hq_qiskit.hardware.jobs import run_block
from hq_qiskit.hardware.layout import (
    STRATEGIES,
    estimated_success_probability,
    transpile_block,
)
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.quantum import connect_block


def bench_pub(block, n: int, shots: int) -> None:
    backend = get_backend("fake_brisbane")
    target = resolve(backend)
    mapped = mapped_block(block, backend)
    x, w = random_parameters(block, n, 7)
    cols = {p: x[:, j] for j, p in enumerate(block.inputs)}
    cols.update({p: w[:, j] for j, p in enumerate(block.weights)})
    values = parameter_array(mapped, cols)  # (n, 1, P)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_block(mapped, values, target, run_dir=Path(tmp), tag="one_pub", shots=shots, seed=1)
        one = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(n):
            run_block(
                mapped,
                values[i : i + 1],
                target,
                run_dir=Path(tmp),
                tag=f"s{i}",
                shots=shots,
                seed=1,
            )
        each = time.perf_counter() - t
    print(
        f"\n## one PUB vs one job per sample (runtime local mode, FakeBrisbane, {n} samples, "
        f"{shots} shots, width {len(mapped.active_qubits)})"
    )
    print("| variant | seconds | s/sample |\n|---|---|---|")
    print(f"| one PUB, parameter array (N, 1, P) | {one:.1f} | {one / n:.2f} |")
    print(f"| one job per sample | {each:.1f} | {each / n:.2f} |")
    print(f"one PUB is {each / one:.2f}x faster")


def bench_width(block) -> None:
    print("\n## simulated width and ESP per layout strategy (enrichment QCNN, level = entry's)")
    print("| device | level | strategy | width (qubits) | 2q gates | swaps | ESP |")
    print("|---|---|---|---|---|---|---|")
    seen = set()
    for b in load_backends().values():
        if b.noise is None or b.noise in seen:
            continue
        seen.add(b.noise)
        target = fake_backend(b.noise).target
        for strategy in STRATEGIES:
            m = transpile_block(
                block.circuit,
                block.observables,
                target,
                optimization_level=b.optimization_level,
                strategy=strategy,
            )
            n2 = sum(1 for ins in m.circuit.data if ins.operation.num_qubits == 2)
            esp = estimated_success_probability(m.circuit, target, m.final_layout)
            print(
                f"| {b.noise} | {b.optimization_level} | {strategy} | "
                f"{len(m.active_qubits)} | {n2} | {m.swaps} | {esp:.3f} |"
            )


def bench_noise(block, name: str, samples: int, shots: int, cal_samples: int) -> None:
    backend = get_backend(name)
    t = time.perf_counter()
    cal = calibrate(block, backend, samples=cal_samples, shots=shots, seed=0, cache=False)
    t_cal = time.perf_counter() - t
    x, w = random_parameters(block, samples, 2024)
    ideal = aer_values(block, None, x, w)
    t = time.perf_counter()
    a1 = aer_values(block, backend, x, w, shots=shots, seed=1)
    t_aer = (time.perf_counter() - t) / (samples * shots)  # s per trajectory
    a2 = aer_values(block, backend, x, w, shots=shots, seed=1_000_003)
    # the fast noisy module with the same (per-sample) weights: one module per sample
    fast = np.zeros_like(ideal)
    t_fast = 0.0
    for i in range(samples):
        module = connect_block(
            block, engine="fast", dtype=torch.float64, initial_weights=torch.tensor(w[i])
        )
        noisy = NoisyModule(module, cal)
        xi = torch.tensor(x[i : i + 1])
        noisy(xi)  # warm-up
        t = time.thread_time()  # CPU time of this thread: other jobs' load stays out of it
        with torch.no_grad():
            fast[i] = noisy(xi).numpy()[0]
        t_fast += time.thread_time() - t
    t_fast /= samples
    mad = lambda a, b: float(np.abs(a - b).mean())  # noqa: E731
    print(
        f"\n## fast noise mode vs Aer ({backend.noise}, layout {backend.layout}, width "
        f"{len(mapped_block(block, backend).active_qubits)}; calibration {cal_samples} "
        f"samples x {shots} trajectories, {t_cal:.0f} s; check {samples} fresh samples x "
        f"{shots} trajectories, seeds 1 and 1000003)"
    )
    print("| pair | mean abs deviation |\n|---|---|")
    print(f"| fast noisy vs Aer seed 1 | {mad(fast, a1):.4f} |")
    print(f"| fast noisy vs Aer seed 1000003 | {mad(fast, a2):.4f} |")
    print(f"| fast noisy vs mean of both Aer runs | {mad(fast, (a1 + a2) / 2):.4f} |")
    print(f"| Aer vs Aer (Monte-Carlo floor of one run ~ this / sqrt 2) | {mad(a1, a2):.4f} |")
    print(f"| ideal vs Aer seed 1 (no noise model at all) | {mad(ideal, a1):.4f} |")
    print(
        f"mean damping {np.mean(cal.damping):.3f} (min {np.min(cal.damping):.3f}); "
        f"Aer {t_aer:.3f} s per trajectory -> {t_aer * 1024:.0f} s per sample at 1024 shots; "
        f"fast noisy forward {t_fast * 1e3:.1f} ms per sample (batch 1): "
        f"{t_aer * 1024 / t_fast:.0f}x cheaper"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=6, help="fresh samples for the noise check")
    ap.add_argument("--cal-samples", type=int, default=16, help="calibration samples")
    ap.add_argument("--shots", type=int, default=64, help="noisy trajectories per sample")
    ap.add_argument("--pub-samples", type=int, default=4)
    ap.add_argument("--pub-shots", type=int, default=16)
    ap.add_argument("--skip", nargs="*", default=[], choices=["pub", "width", "noise"])
    args = ap.parse_args()
    torch.set_num_threads(1)  # one thread, timed by its CPU time: load elsewhere stays out
    print(
        f"# bench/hardware.py on {platform.node()} ({platform.processor() or platform.machine()}"
        f", {os.cpu_count()} CPUs), python {platform.python_version()}, qiskit "
        f"{qiskit.__version__}, qiskit-aer {qiskit_aer.__version__}, qiskit-ibm-runtime "
        f"{qiskit_ibm_runtime.__version__}, torch {torch.__version__}"
    )
    block = build_block("enrichment_qcnn")
    if "width" not in args.skip:
        bench_width(block)
    if "pub" not in args.skip:
        bench_pub(block, args.pub_samples, args.pub_shots)
    if "noise" not in args.skip:
        for name in ("aer-noisy-brisbane", "aer-noisy-fez"):
            bench_noise(block, name, args.samples, args.shots, args.cal_samples)


if __name__ == "__main__":
    main()
