"""The logical device model's two-qubit errors in the ISA circuit's frame (issue 28).

Against the exact schedule-aware reference (``noise_capture.reference_values``: the block's
ISA circuit scheduled ALAP, relaxation on every delay, real fake backends, the exact noisy
engine), the logical model captured 0.67-0.79 of FakeBrisbane's noise and 0.84-0.91 of
FakeFez's on the 2x2 enrichment block before the frames were taken from the ISA circuit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.device_noise import device_noise
from hq_qiskit.hardware.isa_frames import _factor
from hq_qiskit.hardware.noise_capture import captured, reference_values
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.noisy import positional


def _share(device_name: str, rows: int, cols: int, seed: int) -> tuple[float, float]:
    """(captured share, mean |ref - ideal|) of the logical model, 3 samples of one draw."""
    device = fake_backend(device_name)
    block = enrichment_qcnn(rows=rows, cols=cols)
    dn = device_noise(block, device)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (3, block.n_inputs))
    w = rng.uniform(-np.pi, np.pi, block.n_weights)
    kwargs = {"dtype": torch.float64, "initial_weights": torch.tensor(w)}
    with torch.no_grad():
        model = connect_block(block, noise=dn.noise_model, **kwargs)(torch.tensor(x)).numpy()
        ideal = connect_block(block, **kwargs)(torch.tensor(x)).numpy()
    ref = reference_values(block, dn.mapped, device, x, w)
    return captured(model, ref, ideal), float(np.abs(ref - ideal).mean())


@pytest.mark.parametrize(
    ("device_name", "floor"),
    [("FakeBrisbane", 0.93), ("FakeFez", 0.95)],  # before: 0.69 and 0.91 at this draw
)
def test_the_2x2_block_captures_the_device_noise(device_name: str, floor: float) -> None:
    share, signal = _share(device_name, 2, 2, seed=0)
    assert signal > 5e-3  # the noise is there to be captured
    assert share > floor


def test_every_piece_lines_up_with_the_isa_circuit() -> None:
    """The 2x3 block on FakeBrisbane: the replayed routing is the ISA circuit's (before, the
    layout and routing stages alone routed it otherwise, so it was routed afresh)."""
    dn = device_noise(enrichment_qcnn(rows=2, cols=3), fake_backend("FakeBrisbane"))
    framed, pieces = dn.framed
    assert pieces >= 10 and framed == pieces
    isa = {k: v for k, v in dn.mapped.circuit.count_ops().items() if k not in ("barrier",)}
    assert dn.native_gates == isa  # each of the ISA circuit's gates, none counted twice


def test_framed_channels_preserve_trace() -> None:
    """Each piece's channel (16 x 16, row-major) maps trace-one states to trace-one states."""
    block = enrichment_qcnn(rows=2, cols=2)
    dn = device_noise(block, fake_backend("FakeFez"))
    errors = positional.matched(dn.noise_model, block.circuit)
    assert errors is not None and len(errors.channels) >= 4
    for m in errors.channels.values():
        d = int(round(np.sqrt(m.shape[0])))
        trace = m.reshape(d, d, d * d)[np.arange(d), np.arange(d)].sum(axis=0)
        assert np.allclose(trace, np.eye(d).reshape(-1), atol=1e-10)


def test_factor_splits_a_product_and_refuses_an_entangler() -> None:
    rng = np.random.default_rng(0)
    a, b = (np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0] for _ in "ab")
    got = _factor(np.kron(b, a))
    assert got is not None
    assert np.allclose(np.kron(got[1], got[0]), np.kron(b, a))
    cx = np.eye(4)[[0, 3, 2, 1]]
    assert _factor(cx) is None


def _one_cx_block() -> QuantumBlock:
    """Two qubits, one CX. Its one parametrised gate comes first, and its native form holds
    the angle in a Z rotation right after a native gate's error, so no error is carried
    through a rotation that depends on the angles: every error has one logical frame."""
    x, w = ParameterVector("x", 1), ParameterVector("w", 1)
    qc = QuantumCircuit(2, name="one_cx")
    qc.rx(x[0] + w[0], 0)
    qc.ry(0.4, 1)
    qc.cx(0, 1)
    qc.ry(0.9, 1)
    qc.sx(0)
    qc.ry(0.3, 1)
    obs, names = single_qubit_observables(2, "ZX")
    return QuantumBlock(qc.name, qc, x, w, obs, names)


@pytest.mark.parametrize("device_name", ["FakeBrisbane", "FakeFez"])
def test_a_block_whose_frames_do_not_depend_on_the_angles_is_exact(device_name: str) -> None:
    """Every error then has one logical frame, so the model is the ISA circuit's noise exactly
    (gate errors, relaxation on the idle window, readout): before the frames came from the
    ISA circuit, and with a trailing run's gates counted twice, it was not."""
    device = fake_backend(device_name)
    block = _one_cx_block()
    dn = device_noise(block, device)
    assert dn.framed == (1, 1)
    rng = np.random.default_rng(3)
    x, w = rng.uniform(-np.pi, np.pi, (3, 1)), rng.uniform(-np.pi, np.pi, 1)
    kwargs = {"dtype": torch.float64, "initial_weights": torch.tensor(w)}
    with torch.no_grad():
        model = connect_block(block, noise=dn.noise_model, **kwargs)(torch.tensor(x)).numpy()
        ideal = connect_block(block, **kwargs)(torch.tensor(x)).numpy()
    ref = reference_values(block, dn.mapped, device, x, w)
    assert np.abs(ref - ideal).max() > 1e-3
    assert np.abs(model - ref).max() < 1e-8
