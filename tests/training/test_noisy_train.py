"""Noisy training end to end: ``hq-qiskit train --backend aer-noisy-fez`` on the exact noisy
engine with FakeFez's device noise, the run's checkpoint evaluated and rebuilt with its noise
(or without, ``--ideal``), and the stock path (EstimatorQNN on noisy Aer, the ISA circuit).

The entry is read from a test backends file (``HQ_QISKIT_BACKENDS``) that keeps the shipped
entry's noise, level and layout but calibrates on 2 samples x 8 trajectories (the shipped
default, 16 x 64, takes ~5 minutes on 2 cores; a calibration is cached on disk afterwards).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from bench.damping import aer_values, damped_module
from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.cli.main import cli
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.quantum import connect_block
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.restore import build_from_config, restore
from hq_qiskit.training.runner import check_backend

pytest.importorskip("hq_qiskit.quantum.fast.engine")

ENTRY = """[aer-noisy-brisbane]
kind = "aer"
description = "FakeBrisbane noise, small calibration for tests"
noise = "FakeBrisbane"
shots = {shots}
optimization_level = 3
layout = "noise_aware"
calibration_samples = 2
calibration_shots = 8
"""
TINY = [
    "--backend",
    "aer-noisy-brisbane",
    "--width",
    "4",
    "--depth",
    "2",
    "--patch-px",
    "64",
    "--epochs",
    "1",
    "--patches-per-epoch",
    "4",
    "--batch-size",
    "2",
    "--device",
    "cpu",
]


@pytest.fixture
def noisy_entry(tmp_path, monkeypatch):
    """Point hq-qiskit at a backends file with the small-calibration entry and a fresh cache."""

    def use(shots: int = 1024) -> Path:
        path = tmp_path / "backends.toml"
        path.write_text(ENTRY.format(shots=shots))
        monkeypatch.setenv("HQ_QISKIT_BACKENDS", str(path))
        monkeypatch.setenv("HQ_QISKIT_CACHE", str(tmp_path / "cache"))
        return tmp_path / "cache"

    return use


def test_exact_device_noise_trains_evaluates_and_travels_with_the_run(
    tmp_path, independent, tiny_loveda
):
    """`train --backend aer-noisy-fez` (the shipped entry): the exact noisy engine with FakeFez's
    device noise; `--shots 0` so that the run's scores can be recomputed exactly."""
    data, run = tiny_loveda(tmp_path / "data"), tmp_path / "run"
    fez = ["--backend", "aer-noisy-fez", "--shots", "0", *TINY[2:]]
    result = CliRunner().invoke(cli, ["train", *fez, "--data", str(data), "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "backend aer-noisy-fez is noisy" in result.output
    assert "backend aer-noisy-fez: noise of fake_fez " in result.output  # the snapshot is named
    state = torch.load(run / "best.pt", weights_only=True)
    assert state["config"]["backend_entry"]["noise"] == "FakeFez"  # the entry travels
    assert state["config"]["shots"] == 0
    # the noisy block's state is the ideal block's: its angles and nothing else
    assert [k for k in state["model"] if k.startswith("bottleneck.core.")] == [
        "bottleneck.core.weight"
    ]
    noisy = restore(run)  # as trained: the exact noisy engine
    ideal = restore(run, noise="ideal")
    ((_, noisy_core),) = noisy.model.quantum_blocks()
    ((_, ideal_core),) = ideal.model.quantum_blocks()
    assert type(noisy_core).__name__ == "NoisyEngine" and not noisy_core.shots
    assert type(ideal_core).__name__ == "FastEngine"
    assert torch.equal(noisy_core.weight, ideal_core.weight)
    x = torch.rand(8, 48, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        yn, yi = noisy_core(x).double(), ideal_core(x).double()
    assert (yn - yi).abs().mean() > 1e-3  # the device noise is really on
    assert yn.abs().mean() < yi.abs().mean()  # and it damps the signal on average
    # val mIoU equals best.pt's noisy model on the val tile's 64 patches, scored again with
    # numpy outside hq-qiskit's sampler, evaluation loop and metrics
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    config = noisy.config.to_dict()
    image, mask = independent.loveda_tile(data, "6_2")
    corners = independent.grid(512, 64)
    truth = np.stack([mask[y : y + 64, x : x + 64] for y, x in corners])
    pred = independent.predict_patches(noisy.model, config, image, corners, 64)
    assert record["val_miou"] == pytest.approx(independent.scores(pred, truth, 5)["miou"], abs=1e-6)
    result = CliRunner().invoke(cli, ["evaluate", str(run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    scores = json.loads((run / "evaluation.json").read_text())
    assert scores["backend"] == "aer-noisy-fez" and scores["noise"] == "as_trained"
    assert noisy.config.noise_snapshot.startswith("fake_fez ")
    assert scores["noise_snapshot"] == noisy.config.noise_snapshot
    assert scores["miou"] == pytest.approx(record["val_miou"], abs=1e-6)
    result = CliRunner().invoke(cli, ["evaluate", str(run), "--device", "cpu", "--ideal"])
    assert result.exit_code == 0, result.output
    ideal_scores = json.loads((run / "evaluation-ideal.json").read_text())  # its own file
    assert ideal_scores["backend"] == "aer" and ideal_scores["noise_snapshot"] is None


def test_noisy_entries_sample_their_shots_unless_told_otherwise():
    entry = get_backend("aer-noisy-fez")
    opts = {"width": 4, "depth": 2, "patch_px": 64}
    cfg = TrainConfig(backend=entry.name, backend_entry=entry.to_dict(), model_options=opts)
    model, _ = build_from_config(cfg)
    ((_, core),) = model.quantum_blocks()
    assert core.shots == entry.shots == 1024  # the entry's budget, sampled in training
    x = torch.rand(4, 48) * 2 - 1
    assert not torch.equal(core(x), core(x))  # fresh shots each call
    with pytest.raises(ConfigError, match="--shots 8: backend aer is ideal"):
        check_backend(TrainConfig(backend="aer", shots=8))


def two_qubit_block(layers: int = 4, observables: int = 2) -> QuantumBlock:
    """2 qubits, 2 inputs, 1 weight, observables Z0 and X1; ``layers`` CNOT pairs, deep enough
    for FakeBrisbane's noise to damp the values visibly. Tiny on purpose: the stock path sends
    one Aer job per observable and per shifted parameter set, each paying the conversion of
    the 127-qubit noise model (~2.5 s)."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    qc = QuantumCircuit(2, name="two")
    qc.rx(np.pi * x[0], 0)
    qc.ry(np.pi * x[1], 1)
    for _ in range(layers):
        qc.cx(0, 1)
        qc.ry(w[0], 0)
        qc.cx(1, 0)
    obs = [SparsePauliOp("IZ"), SparsePauliOp("XI")]
    return QuantumBlock("two", qc, x, w, obs[:observables], ["Z0", "X1"][:observables])


def test_stock_path_on_noisy_aer_matches_aer_and_passes_gradients(noisy_entry):
    """The stock path at block level: EstimatorQNN + TorchConnector on the ISA circuit with
    FakeBrisbane's noise model, forward against Aer's own noisy values, backward to both the
    inputs and the angle (the path `train --engine qiskit` takes, at 2 qubits instead of 16)."""
    block = two_qubit_block()
    w0 = torch.tensor([0.7], dtype=torch.float64)
    x = torch.tensor([[0.2, -0.5]], dtype=torch.float64)

    def stock(shots: int, block: QuantumBlock = block):
        noisy_entry(shots=shots)  # the entry's shots are the stock path's trajectories
        module = connect_block(block, engine="qiskit", initial_weights=w0)
        return damped_module(module, block, get_backend("aer-noisy-brisbane"), seed=11)

    forward = stock(512)
    assert getattr(forward, "engine", None) == "qiskit"
    assert torch.allclose(forward.weight.detach().double(), w0)
    with torch.no_grad():
        y = forward(x).numpy()  # (1, 2)
    xs, ws = x.numpy(), w0.numpy()[None, :]
    aer = aer_values(block, get_backend("aer-noisy-brisbane"), xs, ws, shots=2048, seed=1_000_003)
    ideal = aer_values(block, None, xs, ws)
    stock_vs_aer, ideal_vs_aer = np.abs(y - aer).mean(), np.abs(ideal - aer).mean()
    assert ideal_vs_aer > 0.01  # the noise model is really on
    assert stock_vs_aer < 0.5 * ideal_vs_aer  # ... and the stock path carries it
    backward = stock(8, two_qubit_block(observables=1))  # parameter shift: 2 x 3 jobs
    xg = x.clone().requires_grad_()
    backward(xg).sum().backward()
    assert xg.grad.abs().sum() > 0 and backward.weight.grad.abs().sum() > 0


@pytest.mark.skipif(
    os.environ.get("HQ_QISKIT_SLOW") != "1",
    reason="stock EstimatorQNN on noisy Aer: tens of minutes per 16-qubit "
    "training step on 2 cores; set HQ_QISKIT_SLOW=1 to run it",
)
def test_stock_engine_trains_on_noisy_aer(noisy_entry, tmp_path, tiny_loveda):
    noisy_entry(shots=2)
    data, run = tiny_loveda(tmp_path / "data"), tmp_path / "run"
    args = [
        "train",
        *TINY,
        "--engine",
        "qiskit",
        "--patch-px",
        "256",
        "--patches-per-epoch",
        "1",
        "--batch-size",
        "1",
        "--data",
        str(data),
        "--out",
        str(run),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert record["step"] == 1 and np.isfinite(record["train_loss"])
    state = torch.load(run / "best.pt", weights_only=True)
    assert state["config"]["model_options"]["engine"] == "qiskit"
