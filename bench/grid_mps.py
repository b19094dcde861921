"""Exactness of wide grids: every output of the R x C enrichment QCNN against Aer's MPS method.

The reference is ``light_cone_reference``: Qiskit's ``LightCone`` pass per observable, then
Aer's exact ``matrix_product_state`` simulation on one thread (no fast-engine code). Prints the
largest absolute difference over all samples and outputs, and both times in CPU seconds of
this process (Aer runs in it). Usage:

    python bench/grid_mps.py                  # 8x8 grid (64 qubits), 2 samples, 128 outputs
    python bench/grid_mps.py --grid 6x6 --samples 4
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from machine import describe_machine  # bench/machine.py, beside this script

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.models.base import parse_qubit_grid
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.qiskit_engine import light_cone_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="8x8", help="RxC")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, cols = parse_qubit_grid(args.grid)
    block = enrichment_qcnn(rows=rows, cols=cols)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, (args.samples, block.n_inputs))
    w = rng.uniform(-np.pi, np.pi, block.n_weights)
    print(f"machine: {describe_machine()}")
    start = time.process_time()
    engine = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    got = engine(torch.tensor(x)).detach().numpy()
    t_fast = time.process_time() - start
    start = time.process_time()
    want = light_cone_reference(block.circuit, block.inputs, block.weights,
                                block.observables, x, w)  # fmt: skip
    t_aer = time.process_time() - start
    diff = np.abs(got - want)
    worst = np.unravel_index(diff.argmax(), diff.shape)
    print(
        f"{rows}x{cols} grid ({rows * cols} qubits), {args.samples} samples x "
        f"{block.n_outputs} outputs: max |fast - Aer MPS| = {diff.max():.2e} "
        f"(output {block.observable_names[worst[1]]}), values up to {np.abs(want).max():.3f}; "
        f"fast engine {t_fast:.1f} CPU s (compile included), Aer MPS on light cones "
        f"{t_aer:.0f} CPU s; load average {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
