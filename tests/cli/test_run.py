"""``hq-qiskit run`` through click's CliRunner on a real tiny HQ-UNet checkpoint made by
``hq-qiskit train``: runtime local mode on an ideal simulator (plumbing, exact to shot noise),
one small noisy run on FakeBrisbane, resume, and one clear line for each refused input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.training.checkpoint import save_checkpoint

pytest.importorskip("hq_qiskit.quantum.fast.engine")

PER_TILE = (512 // 32) ** 2  # patches of 32 px in one 512-px tile


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    """No IBM Quantum credentials: runtime entries run in local testing mode."""
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no saved account


@pytest.fixture(scope="module")
def trained(tiny_one_epoch_run) -> Path:
    """A run folder of one tiny quantum HQ-UNet trained for one epoch on two built-in tiles."""
    return tiny_one_epoch_run


@pytest.fixture(scope="module")
def ideal_run(trained) -> tuple[Path, str]:
    """(output folder, output) of a run on the noiseless simulator with FakeBrisbane's target."""
    out = trained.parent / "ideal"
    result = invoke(
        "run",
        str(trained),
        "--backend",
        "fake_brisbane",
        "--ideal-simulator",
        "--patches",
        "4",
        "--shots",
        "4096",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_ideal_local_run_reproduces_the_exact_values(ideal_run, independent):
    out, output = ideal_run
    assert "noiseless AerSimulator with FakeBrisbane's target" in output
    r = json.loads((out / "run.json").read_text())
    assert (out / "run.md").read_text().startswith("# hq-qiskit run: hq-unet on fake_brisbane")
    assert r["local"] and r["ideal_simulator"] and not r["mitigated"]
    (block,) = r["blocks"]
    assert block["block"] == "enrichment_qcnn" and block["samples"] == 4
    assert block["active_qubits"] == 16 and len(set(block["layout"])) == 16
    # 4096 shots: standard error <= 1/64 per value; a wrong parameter order or observable
    # mapping gives errors of order 0.5
    assert block["mae_vs_exact"] < 0.03
    assert r["pixel_agreement"] > 0.95
    assert len(r["samples"]) == 4 and all(s.startswith("6_2@") for s in r["samples"])
    # the ideal scores equal best.pt's own prediction of the four named 32-px patches, scored
    # again with numpy outside hq-qiskit's sampler and metrics
    model, config = independent.rebuild(out.parent / "run" / "best.pt")
    image, mask = independent.loveda_tile(out.parent / "data", "6_2")
    corners = [tuple(int(v) for v in s.partition("@")[2].split(",")) for s in r["samples"]]
    pred = independent.predict_patches(model, config, image, corners, 32)
    truth = np.stack([mask[y : y + 32, x : x + 32] for y, x in corners])
    again = independent.scores(pred, truth, 5)
    assert r["miou_ideal"] == pytest.approx(again["miou"], abs=1e-9)
    assert r["scores_ideal"]["oa"] == pytest.approx(again["oa"], abs=1e-9)
    if r["pixel_agreement"] == 1.0:  # same pixels, same scores
        assert r["scores_hardware"] == r["scores_ideal"] and r["miou_change"] == 0
    cost = r["cost"]
    assert cost["per tile"]["samples"] == PER_TILE
    assert cost["per tile"]["circuits"] == 2 * PER_TILE  # all-Z and all-X groups
    assert cost["per tile"]["shots"] == 2 * PER_TILE * 4096
    assert cost["per tile"]["seconds_lower_bound"] > cost["this run"]["seconds_lower_bound"] > 2
    record = json.loads((out / "jobs" / "00-enrichment_qcnn.json").read_text())
    assert record["job_id"] == block["job_id"] and record["samples"] == r["samples"]
    assert record["final_layout"] == block["layout"] and len(record["observables"]) == 32


def test_resume_reuses_the_saved_values_and_refuses_other_inputs(ideal_run, tmp_path):
    out, _ = ideal_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    run_dir = str(out.parent / "run")
    args = [
        "run",
        run_dir,
        "--backend",
        "fake_brisbane",
        "--ideal-simulator",
        "--shots",
        "4096",
        "--out",
        str(copy),
    ]
    result = invoke(*args, "--patches", "4")
    assert result.exit_code == 2 and "already holds jobs" in result.output
    assert "--resume" in result.output
    result = invoke(*args, "--patches", "4", "--resume")
    assert result.exit_code == 0, result.output
    again = json.loads((copy / "run.json").read_text())
    first = json.loads((out / "run.json").read_text())
    assert again["blocks"][0]["resumed"] and "(resumed)" in result.output
    assert again["blocks"][0]["job_id"] == first["blocks"][0]["job_id"]
    assert again["blocks"][0]["mae_vs_exact"] == first["blocks"][0]["mae_vs_exact"]
    result = invoke(*args, "--patches", "3", "--resume")
    assert result.exit_code == 2 and "other inputs" in result.output


def test_device_without_credentials_runs_noisy_on_its_fake_twin(trained, ideal_run, tmp_path):
    out = tmp_path / "out"
    result = invoke(
        "run", str(trained), "--backend", "ibm_brisbane", "--shots", "32", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "local testing mode on FakeBrisbane" in result.output
    assert "no IBM Quantum credentials" in result.output and "unmitigated" in result.output
    # laptop-sized patches (flags win: --shots 32 was given), and the cost before submission
    assert "defaults, sized for a laptop: --patches 2 (" in result.output
    plan = result.output.index("cost before submission")
    assert plan < result.output.index("block enrichment_qcnn: one PUB")
    assert "| enrichment_qcnn | 2 | 4 | 128 |" in result.output  # 2 samples x 2 groups x 32
    assert "local testing mode: the jobs take about" in result.output
    assert "| all | 2 | 4 | 128 | " in result.output and " | - |" in result.output
    r = json.loads((out / "run.json").read_text())
    assert r["device"] == "fake_brisbane" and r["local"] and not r["ideal_simulator"]
    assert r["mitigation_requested"] == ["trex", "twirling"] and r["mitigation_applied"] == []
    assert "applied: none (results are unmitigated)" in (out / "run.md").read_text()
    (block,) = r["blocks"]
    assert block["samples"] == 2 and block["active_qubits"] == 16
    # 32 shots: the error is mostly shot noise, E|e| = sqrt(2/pi) std ~ 0.8 std per value
    assert 0.5 < block["mae_vs_exact"] / (0.8 * block["mean_std_error"]) < 1.5
    # the same two patches on the ideal simulator (4096 shots, ~exact): the noisy values
    # follow them (random values would not) and are shrunk by FakeBrisbane's gate and readout
    # errors: the slope is below 1 (measured 0.80-0.94 across code versions; at 32 shots its
    # own spread is ~0.04, so only "damped, not flattened" is asserted)
    ideal_out, _ = ideal_run
    ideal = json.loads((ideal_out / "run.json").read_text())
    rows = [ideal["samples"].index(s) for s in r["samples"]]
    with np.load(ideal_out / "jobs" / "00-enrichment_qcnn.npz") as f:
        exact = f["evs"][rows]  # (2, 32)
    with np.load(out / "jobs" / "00-enrichment_qcnn.npz") as f:
        noisy = f["evs"]  # (2, 32)
    assert np.corrcoef(exact.ravel(), noisy.ravel())[0, 1] > 0.8
    slope = float((exact * noisy).sum() / (exact * exact).sum())
    assert 0.6 < slope < 1.0
    assert block["local"] and block["device"] == "fake_brisbane" and block["status"] == "DONE"
    assert block["snapshot_date"].startswith("2025-02-26")  # FakeBrisbane's snapshot
    assert r["snapshot_dates"] == [block["snapshot_date"]]
    assert block["mitigation_requested"] == ["trex", "twirling"]
    assert block["mitigation_applied"] == [] and block["shots"] == 32
    with np.load(out / "values" / f"{block['tag']}.npz") as f:
        saved = dict(f)  # closed: an open .npz is a ResourceWarning when collected
    assert saved["inputs"].shape == (2, 48) and saved["exact"].shape == (2, 32)
    assert np.abs(saved["hardware"] - saved["exact"]).mean() == pytest.approx(block["mae_vs_exact"])
    meta = json.loads((out / "values" / f"{block['tag']}.json").read_text())
    assert meta["job_id"] == block["job_id"] and list(saved["samples"]) == r["samples"]
    assert r["shots"] == 32


def test_the_latest_run_is_used_without_a_run_folder(trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--backend", "fake_brisbane", "--ideal-simulator")
    assert result.exit_code == 2
    assert "no trained run under runs/" in result.output
    assert "hq-qiskit train --backend aer" in result.output
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "not-a-run").mkdir()
    shutil.copytree(
        trained, tmp_path / "runs" / "hq-unet-aer-0", ignore=shutil.ignore_patterns("hardware-*")
    )
    result = invoke("run", "--backend", "fake_brisbane", "--ideal-simulator", "--patches", "1",
                    "--shots", "64")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "using the latest run under runs/, runs/hq-unet-aer-0" in result.output
    assert (tmp_path / "runs" / "hq-unet-aer-0" / "hardware-fake_brisbane" / "run.json").is_file()


def test_device_only_without_credentials_is_refused(trained, tmp_path):
    result = invoke(
        "run", str(trained), "--backend", "ibm_fez", "--device-only", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 2
    assert "no IBM Quantum credentials" in result.output and "QISKIT_IBM_TOKEN" in result.output
    assert "FakeFez" in result.output
    assert not (tmp_path / "o").exists()


def test_unknown_and_non_runtime_backends(trained, tmp_path):
    result = invoke("run", str(trained), "--backend", "ibm_nowhere")
    assert result.exit_code == 2
    assert "--backend" in result.output and "ibm_nowhere" in result.output
    assert "fake_brisbane" in result.output  # the valid names are listed
    result = invoke("run", str(trained), "--backend", "aer-noisy-brisbane")
    assert result.exit_code == 2 and "needs a runtime entry" in result.output
    result = invoke("run", str(trained), "--backend", "fake_brisbane", "--mitigation", "pec")
    assert result.exit_code == 2 and "--mitigation" in result.output and "trex" in result.output


def test_a_device_narrower_than_the_circuit(trained, tmp_path, monkeypatch):
    backends = tmp_path / "backends.toml"
    backends.write_text(
        '[fake_manila]\nkind = "runtime"\nnoise = "FakeManilaV2"\nlocal = true\nshots = 16\n'
    )
    monkeypatch.setenv("HQ_QISKIT_BACKENDS", str(backends))
    result = invoke("run", str(trained), "--backend", "fake_manila", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "needs 16 qubits but the device has only 5" in result.output
    assert "larger backend" in result.output


def test_a_checkpoint_whose_blocks_do_not_match_its_config(trained, tmp_path):
    state = torch.load(trained / "best.pt", weights_only=True)
    state["config"]["model_options"]["qcnn_layers"] = 2  # 16 angles; the weights hold 8
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, {k: v for k, v in state.items() if k not in ("format", "version")})
    result = invoke("run", str(bad), "--backend", "fake_brisbane", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "bad.pt: weights do not fit model 'hq-unet'" in result.output
    assert "size mismatch for bottleneck.core.weight" in result.output
    state["config"]["model_options"]["bottleneck"] = "classical"
    save_checkpoint(bad, {k: v for k, v in state.items() if k not in ("format", "version")})
    result = invoke("run", str(bad), "--backend", "fake_brisbane", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2  # a classical model's config with a quantum model's weights
    assert "weights do not fit model 'hq-unet'" in result.output
    assert "bottleneck.core" in result.output  # the keys that differ are named
