"""``hq-qiskit run --simulator exact-noisy`` and ``--compare-mitigation`` on a real tiny HQ-UNet
with a 2x2 qubit grid (4 qubits: Aer's density matrix and noisy trajectories stay cheap),
trained by ``hq-qiskit train``; no IBM account, no network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    """No IBM Quantum credentials: runtime entries stay local."""
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def trained(train_two_tiles, tiny_one_epoch_flags) -> Path:
    """A run folder of a tiny HQ-UNet whose QCNN has 4 qubits, one epoch on two tiles."""
    return train_two_tiles("run2x2", [*tiny_one_epoch_flags, "--qubit-grid", "2x2"])


def test_exact_noisy_simulator_is_labelled_and_agrees_with_aer(trained, tmp_path):
    out = tmp_path / "out"
    result = invoke(
        "run", str(trained), "--backend", "ibm_brisbane", "--simulator", "exact-noisy",
        "--patches", "3", "--shots", "4096", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "local simulator exact-noisy" in result.output
    assert "cost before submission" in result.output  # the plan still comes first
    assert not (out / "jobs").exists()  # nothing submitted, not even locally
    r = json.loads((out / "run.json").read_text())
    assert r["local"] and not r["ideal_simulator"] and r["simulator"] == "exact-noisy"
    assert r["mitigation_applied"] == [] and "not a device" in r["note"]
    (block,) = r["blocks"]
    assert block["simulator"] == "exact-noisy" and block["device"] == "FakeBrisbane"
    assert block["snapshot"].startswith("fake_brisbane") and "2025-02-26" in block["snapshot"]
    assert "device noise of the logical circuit" in block["noise_model_source"]
    assert "idle-time relaxation" in block["approximation"]
    assert block["shots"] == 4096 and block["samples"] == 3 and block["active_qubits"] == 4
    md = (out / "run.md").read_text()
    assert "local simulator exact-noisy (hq-qiskit's own engine: not a device" in md
    assert "local testing mode (simulated)" not in md
    # the engine's values carry the device noise: damped against the exact ones, not flat
    with np.load(out / "values" / f"{block['tag']}.npz") as f:
        saved = dict(f)
    exact, noisy = saved["exact"], saved["hardware"]  # (3, 8)
    slope = float((exact * noisy).sum() / (exact * exact).sum())
    assert 0.6 < slope < 0.995 and np.corrcoef(exact.ravel(), noisy.ravel())[0, 1] > 0.95
    # against Aer's density matrix of the same circuit and noise, both exact: they agree to
    # 1e-6, while the noise itself (what an ideal engine would miss) is orders larger
    check = block["aer_check"]
    assert check["samples"] == 2 and check["agrees"]
    assert check["max_abs_engine_vs_aer"] < 1e-6 < 1e-3 < check["noise_signal"]


def test_compare_mitigation_writes_a_measured_table(trained, tmp_path):
    out = tmp_path / "out"
    result = invoke(
        "run", str(trained), "--backend", "fake_brisbane", "--simulator", "exact-noisy",
        "--patches", "2", "--shots", "1024", "--compare-mitigation", "--compare-samples", "2",
        "--aer-check-samples", "0", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    r = json.loads((out / "run.json").read_text())
    (block,) = r["blocks"]
    comparison = block["mitigation_comparison"]
    rows = {row["mitigation"]: row for row in comparison["rows"]}
    assert set(rows) == {"none", "trex", "zne", "twirling", "dd", "trex+zne"}
    assert rows["none"]["shot_overhead"] == 1.0
    # ZNE runs each circuit at several noise factors: at least 2x the shots
    assert rows["zne"]["shots"] >= 2 * rows["none"]["shots"]
    assert rows["trex"]["shots"] > rows["none"]["shots"]  # + the TREX calibration circuit
    assert all(0 <= row["mae"] < 0.5 for row in rows.values())
    assert "resilience.measure_mitigation" in rows["trex"]["server_side"]
    # five simulator seeds per row, the MAE with its t interval over them
    assert comparison["seeds"] == [0, 1, 2, 3, 4]
    assert all(row["seeds"] == 5 and row["mae_low"] < row["mae"] < row["mae_high"]
               for row in rows.values())  # fmt: skip
    md = (out / "run.md").read_text()
    assert "| mitigation | MAE vs exact (mean ± 95% t interval, 5 seeds) |" in md
    assert "client-side" in md and " ± " in md
    assert block["aer_check"] == {"skipped": "--aer-check-samples 0"}


def test_simulator_and_ideal_simulator_exclude_each_other(trained, tmp_path):
    result = invoke(
        "run", str(trained), "--backend", "fake_brisbane", "--simulator", "exact-noisy",
        "--ideal-simulator", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 2 and "drop --ideal-simulator" in result.output
