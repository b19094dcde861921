"""Benchmark: wide Pauli terms (Z on every qubit) on the network and state-vector routes.

The circuit is ``brickwork_block(n, layers)`` (RY encoding, layers of RY(w) and CX + RZZ(w)
bricks), with ``--terms`` observables: Z^n, then Z on every qubit but qubit k (k = 0, 1, ...),
each a support of its own whose light cone is the whole register, too wide for the cut
route's density matrices (one state vector serves them all; each needs its own network).
Each route is built with ``route=...`` and timed forward+backward at one batch, best of
``--repeats``, in the calling thread's CPU seconds (torch on one thread); the planner's own
choice ("auto") and every route's cost estimate are printed. Usage:

    python bench/statevector_route.py --qubits 18 --layers 12 --batch 64
    python bench/statevector_route.py --qubits 18 --layers 12 --terms 8 --batch 16
"""

from __future__ import annotations

import argparse
import time

import torch
from machine import describe_machine  # bench/machine.py, beside this script
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits.brickwork import brickwork_block
from hq_qiskit.quantum.fast import FastEngine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=18)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--terms", type=int, default=1)
    parser.add_argument("--routes", nargs="*", default=["network", "statevector"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe_machine())
    n = args.qubits
    block = brickwork_block(n, args.layers)
    obs = [SparsePauliOp.from_sparse_list([("Z" * n, list(range(n)), 1.0)], num_qubits=n)]
    for k in range(args.terms - 1):
        rest = [q for q in range(n) if q != k]
        obs.append(SparsePauliOp.from_sparse_list([("Z" * (n - 1), rest, 1.0)], num_qubits=n))
    circuit = (block.circuit, block.inputs, block.weights, obs)
    auto = FastEngine(*circuit, max_memory_gb=64)
    print(f"deep_{n}x{args.layers}, {args.terms} wide terms, B={args.batch}; auto picks:")
    print("  " + auto.describe().splitlines()[-1])
    x = torch.rand(args.batch, n)
    for route in args.routes:
        start = time.thread_time()
        engine = FastEngine(*circuit, route=route, max_memory_gb=64)
        build = time.thread_time() - start
        best = float("inf")
        for _ in range(args.repeats):
            engine.zero_grad()
            start = time.thread_time()
            engine(x).sum().backward()
            best = min(best, time.thread_time() - start)
        print(
            f"{route:12s} forward+backward {best:7.2f} s (build {build:.2f} s), estimated "
            f"{engine._needs_gb(args.batch, 8):.2f} GB; {engine.describe().splitlines()[-1]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
