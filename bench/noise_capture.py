"""Benchmark: how much of a device's noise the logical and scheduled device models capture.

For the enrichment QCNN on a small grid and each device: the block's device model
(``hardware/device_noise.py``: level 3, noise-aware layout, seed 0, as for a backend object)
on the exact noisy engine, against the exact schedule-aware reference
(``hardware/noise_capture.py``: the same ISA circuit scheduled ALAP, thermal relaxation on every
idle window, the snapshot's gate and asymmetric readout errors, computed exactly), for
``--draws`` draws of ``--samples`` inputs (uniform in [0, 1]) and weights (uniform in
[-pi, pi]). Per draw: the noise signal mean |ref - ideal|, the idle part mean |ref - ref
without idle|, and captured = 1 - sum |model - ref| / sum |ref - ideal| over observables and
samples. The scheduled model (``hardware/scheduled_noise.py``) is the reference's code path, so
it is also compared with Aer's density matrix of the same scheduled circuit under Aer's own
``NoiseModel.from_backend`` (``noise_capture.aer_reference``), a check not on that path.

Usage:

    python bench/noise_capture.py                          # FakeBrisbane, FakeFez; 2x3
    python bench/noise_capture.py --grid 2x2 --draws 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.device_noise import device_noise
from hq_qiskit.hardware.noise_capture import aer_reference, captured, reference_values
from hq_qiskit.hardware.scheduled_noise import scheduled_device, scheduled_module
from hq_qiskit.quantum import connect_block


def measure(name: str, rows: int, cols: int, draws: int, samples: int) -> list[float]:
    """Print one line per draw; return the logical model's captured shares."""
    device = fake_backend(name)
    block = enrichment_qcnn(rows=rows, cols=cols)
    start = time.perf_counter()
    dn = device_noise(block, device)
    build = time.perf_counter() - start
    out = []
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        x = rng.uniform(0, 1, (samples, block.n_inputs))
        w = rng.uniform(-np.pi, np.pi, block.n_weights)
        kwargs = {"dtype": torch.float64, "initial_weights": torch.tensor(w)}
        with torch.no_grad():
            model = connect_block(block, noise=dn.noise_model, **kwargs)(torch.tensor(x)).numpy()
            ideal = connect_block(block, **kwargs)(torch.tensor(x)).numpy()
            sched = scheduled_device(block, device, level=3, strategy="noise_aware", seed=0)
            scheduled = scheduled_module(block, sched, **kwargs)(torch.tensor(x)).numpy()
        ref = reference_values(block, dn.mapped, device, x, w)
        ref_gates = reference_values(block, dn.mapped, device, x, w, idle=False)
        aer = aer_reference(block, dn.mapped, device, x, w)
        share = captured(model, ref, ideal)
        out.append(share)
        print(
            f"{name} {rows}x{cols} draw {seed}: signal {np.abs(ref - ideal).mean():.4f}, "
            f"idle part {np.abs(ref - ref_gates).mean():.4f}, captured {share:.3f}; "
            f"scheduled {captured(scheduled, ref, ideal):.6f}, against Aer's from_backend "
            f"density matrix: logical {captured(model, aer, ideal):.3f}, scheduled "
            f"{captured(scheduled, aer, ideal):.6f} (max |scheduled - Aer| "
            f"{np.abs(scheduled - aer).max():.1e}; model built in {build:.1f} s, {dn.swaps} "
            f"swaps, natives {dn.native_gates})",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="FakeBrisbane,FakeFez")
    parser.add_argument("--grid", default="2x3")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()
    rows, cols = (int(v) for v in args.grid.split("x"))
    torch.set_num_threads(1)
    for name in args.devices.split(","):
        shares = measure(name, rows, cols, args.draws, args.samples)
        print(f"{name}: captured {min(shares):.3f}-{max(shares):.3f}, mean {np.mean(shares):.3f}")


if __name__ == "__main__":
    main()
