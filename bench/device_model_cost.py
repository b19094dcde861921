"""Benchmark: forward + backward cost of the device models against the ideal engine.

For the enrichment QCNN on a grid (default 4x4, HQ-UNet's bottleneck, 16 qubits) and each
device: one forward and backward pass at batch ``--batch`` (float32, one thread, inputs
uniform in [0, 1], weights uniform in [-pi, pi]) of the ideal fast engine, the exact noisy
engine with the logical device model (``device_noise.py``) and with the scheduled one
(``scheduled_noise.py``: the block's scheduled ISA circuit on its active qubits). A module
the engine refuses before allocating (its memory check, ``--max-memory-gb``) is printed with
the engine's own reason. Median of ``--repeats`` passes after one warm-up.

Usage:

    python bench/device_model_cost.py                      # 4x4, FakeBrisbane and FakeFez
    python bench/device_model_cost.py --grid 2x3 --batch 64
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.device_noise import device_noise
from hq_qiskit.hardware.scheduled_noise import scheduled_device, scheduled_module
from hq_qiskit.quantum import connect_block


def _time(module, x: torch.Tensor, repeats: int) -> float:
    """Median seconds of forward + backward (sum of outputs) over ``repeats`` after a warm-up."""
    times = []
    for _ in range(repeats + 1):
        xi = x.clone().requires_grad_(True)
        start = time.perf_counter()
        module(xi).sum().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def measure(name: str, rows: int, cols: int, batch: int, repeats: int, memory: float) -> None:
    """Print one line per model."""
    device = fake_backend(name)
    block = enrichment_qcnn(rows=rows, cols=cols)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.uniform(0, 1, (batch, block.n_inputs)), dtype=torch.float32)
    w = torch.tensor(rng.uniform(-np.pi, np.pi, block.n_weights))
    common = {"initial_weights": w, "dtype": torch.float32}
    start = time.perf_counter()
    dn = device_noise(block, device)
    built_logical = time.perf_counter() - start
    sched = scheduled_device(block, device, level=3, strategy="noise_aware", seed=0)
    builders = {
        "ideal": (lambda: connect_block(block, **common), 0.0),
        "logical": (
            lambda: connect_block(block, noise=dn.noise_model, max_memory_gb=memory, **common),
            built_logical,
        ),
        "scheduled": (
            lambda: scheduled_module(block, sched, **common, max_memory_gb=memory),
            sched.build_s,
        ),
    }
    width = len(sched.qubits)
    for label, (build, noise_s) in builders.items():
        try:
            start = time.perf_counter()
            module = build()
            made = time.perf_counter() - start
            seconds = _time(module, x, repeats)
        except Exception as err:  # noqa: BLE001 - the engine's refusal is the result
            print(f"{name} {rows}x{cols} {label}: refused: {err}", flush=True)
            continue
        print(
            f"{name} {rows}x{cols} B={batch} {label}: forward+backward {seconds:.3f} s "
            f"(module {made:.1f} s, noise built {noise_s:.1f} s; scheduled circuit on "
            f"{width} qubits, {sched.circuit.count_ops().get('delay', 0)} delays)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="FakeBrisbane,FakeFez")
    parser.add_argument("--grid", default="4x4")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-memory-gb", type=float, default=4.0)
    args = parser.parse_args()
    rows, cols = (int(v) for v in args.grid.split("x"))
    torch.set_num_threads(1)
    for name in args.devices.split(","):
        measure(name, rows, cols, args.batch, args.repeats, args.max_memory_gb)


if __name__ == "__main__":
    main()
