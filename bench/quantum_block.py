"""Benchmark: one quantum block, forward and forward+backward, three executors, one run.

Circuits: the registered blocks, ``ring_96`` (a general 16-qubit circuit whose light cones cover
the register: RY/RZ encoding of 32 inputs, a CX ring, RY layer, RZZ ring, RY layer; <Z> and <X>
on every qubit; 96 gates) and ``enrichment_qcnn_8x8`` (the QCNN on an 8x8 grid, 64 qubits).

Executors, all exact and all reading the same circuit object:
- fast: ``connect(..., engine="fast")``, hq-qiskit's engine (light cones, product blocks).
- gate-by-gate: a plain batched torch state vector, one gate at a time (the textbook way).
- stock: ``connect(..., engine="qiskit")``, EstimatorQNN + TorchConnector on Aer with
  parameter-shift gradients; timed on ``--stock-batch`` samples and scaled per sample.

Torch runs on one thread. Times are CPU seconds, not wall-clock seconds, so that other load on
a shared machine does not leak into them: the torch executors are timed with the calling
thread's CPU time, the stock engine with the process's (Aer is limited to one thread, and its
time is counted). Peak memory is the growth of the process's peak resident set (VmHWM) during
one forward+backward, measured in a fresh process. ``--adjoint`` adds a table of the fast
engine's two ways to differentiate state vectors (``gradient="autograd"`` and ``"adjoint"``)
on ``deep_14x30`` (14 qubits, 30 layers of RY and CX/RZZ bricks) and the global expert, with
glibc's mmap threshold fixed in the measuring process so that freed tensors leave the resident
set. ``--noisy`` adds a table of the exact noisy engine (``hq_qiskit/quantum/noisy``) under a
device-like noise model (``device_like_noise``) against the ideal fast engine, at one batch
(``--noisy-batch``), forward+backward, for each gate-fusion width in ``--noisy-fuse`` (0: no
fusion) and each way of reading blocks in ``--noisy-reads`` ("auto": backward from the last
batched channel where cheaper, the default; "forward": every block simulated forward, cuts
priced per sample); the ideal and noisy modules are timed in turn, best of ``--repeats`` each,
and the noisy peak is measured as the fast engine's (a fresh process).
``--hand`` adds the fast engine against the hand contraction (``bench/hand_contraction.py``, a
formula written for the enrichment QCNN alone, issue 24's yardstick) at ``--hand-batch``,
forward+backward, timed in turn, best of ``--repeats``. Usage:

    python bench/quantum_block.py                       # enrichment QCNN and global expert
    python bench/quantum_block.py --blocks enrichment_qcnn --no-stock
    python bench/quantum_block.py --blocks ring_96 enrichment_qcnn --batches 64 --no-stock
    python bench/quantum_block.py --batches 64 --no-stock --no-gate-by-gate   # fast column only
    python bench/quantum_block.py --blocks --adjoint                          # adjoint table only
    python bench/quantum_block.py --blocks --noisy enrichment_qcnn_6x6        # noisy table only
    python bench/quantum_block.py --blocks --hand                             # hand table only
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from machine import describe_machine  # bench/machine.py, beside this script
from torch import nn

from hq_qiskit.circuits import BLOCKS, QuantumBlock, enrichment_qcnn
from hq_qiskit.circuits.brickwork import brickwork_block
from hq_qiskit.circuits.ring import ring_block
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.fast.program import read_circuit
from hq_qiskit.quantum.fast.tensor_ops import apply_matrix

MAX_GATE_BY_GATE_QUBITS = 20  # the baseline's state vector is (B, 2**n)


CIRCUITS: dict[str, Callable[[], QuantumBlock]] = {
    **BLOCKS,
    "ring_96": ring_block,
    "enrichment_qcnn_6x6": lambda: enrichment_qcnn(rows=6, cols=6),
    "enrichment_qcnn_8x8": lambda: enrichment_qcnn(rows=8, cols=8),
    "deep_14x30": brickwork_block,
}


PAULI = {
    "X": torch.tensor([[0, 1], [1, 0]], dtype=torch.complex64),
    "Y": torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex64),
    "Z": torch.tensor([[1, 0], [0, -1]], dtype=torch.complex64),
}


class GateByGate(nn.Module):
    """Batched state vector (B, 2, ..., 2), every gate applied in turn; the naive baseline."""

    def __init__(self, block: QuantumBlock, weight: torch.Tensor) -> None:
        super().__init__()
        self.program = read_circuit(block.circuit, block.inputs, block.weights, block.observables)
        self.weight = nn.Parameter(weight.detach().clone())
        p = self.program
        self.const = torch.tensor(p.angle_const, dtype=torch.float32)
        self.a_in = torch.tensor(p.angle_in, dtype=torch.float32)
        self.a_w = torch.tensor(p.angle_w, dtype=torch.float32)
        self.coef = {
            id(op.model): torch.tensor(op.model.coef, dtype=torch.complex64) for op in p.ops
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, n = self.program, self.program.num_qubits
        angles = x @ self.a_in.T + self.a_w @ self.weight + self.const  # (B, P)
        state = torch.zeros(x.shape[0], 2**n, dtype=torch.complex64)
        state[:, 0] = 1
        state = state.reshape(x.shape[0], *([2] * n))  # axis 1 + i holds qubit n - 1 - i
        for op in p.ops:
            u = op.model.matrix(angles[:, list(op.slots)], self.coef[id(op.model)])
            state = apply_matrix(state, u, [n - q for q in reversed(op.qubits)])
        outs = []
        for term in p.terms:
            phi = state
            for q, letter in zip(term.support, term.letters, strict=True):
                phi = apply_matrix(phi, PAULI[letter], [n - q])
            value = (state.conj() * phi).flatten(1).sum(1).real * term.coeff
            outs.append(value)
        return torch.stack(outs, dim=1)


PEAK_SCRIPT = """
import sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from quantum_block import CIRCUITS
from hq_qiskit.quantum import connect_block
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
torch.set_num_threads(1)
name, batch, gradient = sys.argv[1], int(sys.argv[2]), sys.argv[4]
if len(sys.argv) > 5:  # the exact noisy engine under device_like_noise: fuse width, reads
    from quantum_block import device_like_noise
    from hq_qiskit.quantum.noisy.engine import NoisyEngine
    b = CIRCUITS[name]()
    module = NoisyEngine(b.circuit, b.inputs, b.weights, b.observables,
                         noise=device_like_noise(b.circuit), fuse_qubits=int(sys.argv[5]),
                         back_traces=sys.argv[6] == "auto")
else:
    module = connect_block(CIRCUITS[name](), gradient=gradient)
x = torch.rand(batch, module.n_inputs)
module(x[:1])  # compile-time constants, imports
Path("/proc/self/clear_refs").write_text("5")
base = hwm()
module(x.requires_grad_(True)).sum().backward()
print(hwm() - base)
"""


def fast_peak_mb(
    name: str,
    batch: int,
    gradient: str = "auto",
    fixed_mmap: bool = False,
    noisy: tuple[int, str] | None = None,
) -> float:
    """Peak resident-memory growth of one fast forward+backward, in a fresh process (MB).

    ``fixed_mmap``: fix glibc's mmap threshold at 64 KiB, so that tensors freed during the
    pass leave the resident set (otherwise glibc may keep them, and the peak is an upper bound).
    ``noisy``: (fuse width, reads) to measure the exact noisy engine under
    ``device_like_noise`` instead of the ideal one.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536") if fixed_mmap else None
    here = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, name, str(batch), here, gradient,
         *([] if noisy is None else [str(noisy[0]), noisy[1]])],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def measure(
    module: nn.Module, batch: int, n_in: int, backward: bool, repeats: int, clock=time.thread_time
) -> float:
    """Best-of-``repeats`` seconds of ``clock`` for one call."""
    x = torch.rand(batch, n_in) * 2 - 1
    best = float("inf")
    for _ in range(repeats):
        xi = x.clone().requires_grad_(backward)
        start = clock()
        if backward:
            module(xi).sum().backward()
        else:
            with torch.no_grad():
                module(xi)
        best = min(best, clock() - start)
    return best


def run(args: argparse.Namespace) -> str:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lines = [
        f"machine: {describe_machine()}; torch {torch.__version__}",
        "",
        "| block | B | pass | fast (s) | gate-by-gate (s) | stock (s) | gate-by-gate / fast "
        "| stock / fast | fast peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in args.blocks:
        block = CIRCUITS[name]()
        fast = connect_block(block)
        naive = None
        if block.circuit.num_qubits <= MAX_GATE_BY_GATE_QUBITS and not args.no_gate_by_gate:
            naive = GateByGate(block, fast.weight)
        stock = None
        stock_fits = block.circuit.num_qubits <= MAX_GATE_BY_GATE_QUBITS  # Aer: a state vector
        if not args.no_stock and stock_fits:  # Aer on one thread too: one core's work per column
            from hq_qiskit.quantum.qiskit_engine import QiskitEngine, aer_estimator

            estimator = aer_estimator(0.0)
            estimator.options.backend_options = {"max_parallel_threads": 1}
            stock = QiskitEngine(
                block.circuit, block.inputs, block.weights, block.observables,
                initial_weights=fast.weight.detach().double(), estimator=estimator,
            )  # fmt: skip
        stock_per_sample: dict[bool, float] = {}
        for backward in (False, True):
            if stock is not None and not (backward and name in args.no_stock_backward):
                t = measure(stock, args.stock_batch, block.n_inputs, backward, 1, time.process_time)
                stock_per_sample[backward] = t / args.stock_batch
        for batch in args.batches:
            for backward in (False, True):
                pass_name = "fwd+bwd" if backward else "fwd"
                t_fast = measure(fast, batch, block.n_inputs, backward, args.repeats)
                t_naive = float("nan")
                if naive is not None:
                    t_naive = measure(naive, batch, block.n_inputs, backward, 1)
                mem = fast_peak_mb(name, batch) if backward else float("nan")
                t_stock = stock_per_sample.get(backward)
                stock_cell = "-" if t_stock is None else f"{t_stock * batch:.3g}*"
                stock_ratio = "-" if t_stock is None else f"{t_stock * batch / t_fast:.3g}"
                lines.append(
                    f"| {name} | {batch} | {pass_name} | {t_fast:.4f} | {t_naive:.3g} | "
                    f"{stock_cell} | {t_naive / t_fast:.3g} | {stock_ratio} | {mem:.0f} |"
                )
                print(lines[-1], flush=True)
    lines.append("")
    lines.append(
        f"* stock: timed on {args.stock_batch} sample(s) and scaled linearly to B "
        "(TorchConnector runs samples one job at a time)."
    )
    if args.adjoint:
        lines += ["", *adjoint_table(args.adjoint_batch, args.repeats)]
    if args.noisy:
        lines += ["", *noisy_table(args, args.noisy)]
    if args.hand:
        lines += ["", *hand_table(args.hand_batch, args.repeats)]
    return "\n".join(lines)


def device_like_noise(circuit):
    """Depolarising (1e-3 per 1-qubit gate, 1e-2 per 2-qubit gate) then thermal relaxation
    (T1 100 us, T2 80 us, 35 ns / 300 ns) on every gate of ``circuit``, and readout error
    P(1|0) 0.02, P(0|1) 0.03 on every qubit: an Aer ``NoiseModel``."""
    from qiskit_aer.noise import (
        NoiseModel,
        ReadoutError,
        depolarizing_error,
        thermal_relaxation_error,
    )

    model = NoiseModel()
    arity = {inst.operation.name: len(inst.qubits) for inst in circuit.data}
    relax1 = thermal_relaxation_error(100e3, 80e3, 35)
    relax2 = thermal_relaxation_error(100e3, 80e3, 300)
    errors = {
        1: depolarizing_error(1e-3, 1).compose(relax1),
        2: depolarizing_error(1e-2, 2).compose(relax2.tensor(relax2)),
    }
    for name, k in sorted(arity.items()):
        model.add_all_qubit_quantum_error(errors[k], name, warnings=False)
    model.add_all_qubit_readout_error(ReadoutError([[0.98, 0.02], [0.03, 0.97]]), warnings=False)
    return model


def noisy_table(args: argparse.Namespace, names: list[str]) -> list[str]:
    """Ideal fast engine against the exact noisy engine, fwd+bwd at ``--noisy-batch``, per
    fusion width and way of reading blocks."""
    from hq_qiskit.quantum.noisy.engine import NoisyEngine

    batch, repeats = args.noisy_batch, args.repeats
    lines = [
        f"exact noisy engine (device-like noise), B={batch}, fwd+bwd, {describe_machine()}",
        "",
        "| block | fuse qubits | reads | channels | ideal (s) | noisy (s) | noisy / ideal "
        "| noisy peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        block = CIRCUITS[name]()
        ideal = connect_block(block)
        noise = device_like_noise(block.circuit)
        for width, reads in itertools.product(args.noisy_fuse, args.noisy_reads):
            noisy = NoisyEngine(
                block.circuit, block.inputs, block.weights, block.observables, noise=noise,
                initial_weights=ideal.weight.detach(), fuse_qubits=width,
                back_traces=reads == "auto",
            )  # fmt: skip
            t_ideal, t_noisy = float("inf"), float("inf")
            for _ in range(repeats):  # in turn, so that both see the same load
                t_ideal = min(t_ideal, measure(ideal, batch, block.n_inputs, True, 1))
                t_noisy = min(t_noisy, measure(noisy, batch, block.n_inputs, True, 1))
            mem = fast_peak_mb(name, batch, noisy=(width, reads))
            lines.append(
                f"| {name} | {width} | {reads} | {len(noisy.fused)} | {t_ideal:.4f} | "
                f"{t_noisy:.4f} | {t_noisy / t_ideal:.3g} | {mem:.0f} |"
            )
            print(lines[-1], flush=True)
    return lines


def hand_table(batch: int, repeats: int) -> list[str]:
    """The fast engine against the hand contraction on the 4x4 enrichment QCNN, fwd+bwd."""
    from hand_contraction import HandContraction  # bench/hand_contraction.py

    block = enrichment_qcnn()
    fast = connect_block(block)
    hand = HandContraction(fast.weight)
    lines = [
        f"enrichment QCNN, fast engine against the hand contraction, B={batch}, fwd+bwd, "
        f"{describe_machine()}",
        "",
        "| block | fast (s) | hand (s) | fast / hand |",
        "|---|---|---|---|",
    ]
    t_fast, t_hand = float("inf"), float("inf")
    for _ in range(repeats):  # in turn, so that both see the same load
        t_fast = min(t_fast, measure(fast, batch, block.n_inputs, True, 1))
        t_hand = min(t_hand, measure(hand, batch, block.n_inputs, True, 1))
    lines.append(f"| enrichment_qcnn | {t_fast:.4f} | {t_hand:.4f} | {t_fast / t_hand:.3g} |")
    print(lines[-1], flush=True)
    return lines


def adjoint_table(batch: int, repeats: int) -> list[str]:
    """Fast engine, forward+backward at ``batch``: autograd against adjoint differentiation."""
    lines = [
        f"adjoint differentiation, B={batch}, fwd+bwd, {describe_machine()}",
        "",
        "| block | gradient | groups by adjoint | fast (s) | peak MB (fixed mmap) | estimate MB |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("deep_14x30", "expert_global"):
        block = CIRCUITS[name]()
        for gradient in ("autograd", "adjoint"):
            fast = connect_block(block, gradient=gradient)
            t = measure(fast, batch, block.n_inputs, True, repeats)
            mem = fast_peak_mb(name, batch, gradient, fixed_mmap=True)
            estimate = fast._needs_gb(batch, 8) * 1e3
            lines.append(
                f"| {name} | {gradient} | {len(fast.adjoint)} of {fast.plan.last_cut} | "
                f"{t:.4f} | {mem:.0f} | {estimate:.0f} |"
            )
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--blocks", nargs="*",
        default=["enrichment_qcnn", "expert_global", "ring_96", "enrichment_qcnn_8x8"],
        choices=sorted(CIRCUITS),
    )  # fmt: skip
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument(
        "--adjoint", action="store_true", help="add the autograd-vs-adjoint table (memory, time)"
    )
    parser.add_argument("--adjoint-batch", type=int, default=64)
    parser.add_argument(
        "--noisy", nargs="*", default=[], choices=sorted(CIRCUITS), metavar="BLOCK",
        help="blocks for the noisy-engine table (ideal vs exact noisy, device-like noise)",
    )  # fmt: skip
    parser.add_argument("--noisy-batch", type=int, default=64)
    parser.add_argument("--noisy-fuse", nargs="+", type=int, default=[0, 3])
    parser.add_argument(
        "--noisy-reads", nargs="+", choices=["auto", "forward"], default=["auto"],
        help="how the noisy engine reads blocks: auto (backward where cheaper) or forward",
    )  # fmt: skip
    parser.add_argument(
        "--hand", action="store_true", help="add the fast engine against the hand contraction"
    )
    parser.add_argument("--hand-batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stock-batch", type=int, default=1)
    parser.add_argument("--no-stock", action="store_true", help="skip the stock engine")
    parser.add_argument(
        "--no-gate-by-gate", action="store_true", help="skip the gate-by-gate baseline"
    )
    parser.add_argument(
        "--no-stock-backward", nargs="*", metavar="BLOCK",
        default=["expert_global", "ring_96", "enrichment_qcnn_8x8"],
        help="blocks whose stock engine is timed forward only (its backward costs minutes)",
    )  # fmt: skip
    print(run(parser.parse_args()))


if __name__ == "__main__":
    main()
