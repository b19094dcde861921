"""``hq-qiskit diagnose`` end to end on tiny HQ-UNet runs trained on two built-in tiles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import builtin_data_dir
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.diagnose import diagnose_run
from hq_qiskit.training.restore import restore
from hq_qiskit.training.runner import start_training


def test_diagnose_a_tiny_quantum_run_through_the_cli(tiny_quantum_run, strict_json):
    run = tiny_quantum_run
    result = CliRunner().invoke(cli, ["diagnose", str(run), "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    assert "bottleneck.core" in result.output and "ΔmIoU output → mean (95 % CI)" in result.output
    # one image: the intervals say they do not hold their coverage
    assert "only 1 image: intervals over fewer than 4 images" in result.output
    report = strict_json(run / "diagnose.json")
    assert report["tiles"] == 1 and report["images"] == 1 and report["split"] == "val"
    (block,) = report["blocks"]
    assert block["name"] == "bottleneck.core" and block["kind"] == "quantum"
    assert block["parameters_moved"]["n"] == 8 and block["parameters_moved"]["max_abs"] > 0
    assert block["grad_ratio"] > 0 and block["grad_ratio_relative"] > 0
    assert block["outputs"]["dims"] == 32 and len(block["outputs"]["variance"]) == 32
    for kind in ("mean", "shuffle", "zero"):
        change = block["interventions"][kind]
        assert -1 <= change["low"] <= change["delta"] <= change["high"] <= 1
    assert (run / "diagnose.png").read_bytes()[:4] == b"\x89PNG"
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(epochs) == 2 and all(e["grad_ratio_quantum_classical"] > 0 for e in epochs)


def test_the_seeded_rebuild_is_the_model_training_started_from(tmp_path):
    # frozen angles never move: diagnose must find them exactly at the rebuilt initial values
    data, src = tmp_path / "data", builtin_data_dir()
    for sub in ("images_png", "masks_png"):
        (data / sub).mkdir(parents=True)
        for tile in ("1_2", "6_2"):
            shutil.copy(src / sub / f"{tile}.png", data / sub / f"{tile}.png")
    for split, tile in (("train", "1_2"), ("val", "6_2")):
        (data / f"{split}.txt").write_text(f"{tile}\n")
    options = {"width": 4, "depth": 2, "patch_px": 32, "freeze_quantum": True}
    cfg = TrainConfig(
        model_options=options,
        data=str(data),
        epochs=1,
        patches_per_epoch=4,
        batch_size=4,
        aer_check_samples=0,
        device="cpu",
        seed=5,
    )
    start_training(cfg, tmp_path / "run", echo=lambda line: None)
    report = diagnose_run(tmp_path / "run", n_boot=100, echo=lambda line: None)
    (block,) = report["blocks"]
    assert block["parameters_moved"] == {"n": 8, "max_abs": 0.0, "rms": 0.0}
    assert block["grad_ratio"] is None  # frozen: no gradient at the angles
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "grad_ratio_quantum_classical" not in metrics  # no trainable angle: not logged


def test_a_run_folder_that_does_not_exist_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "nope")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "no such run folder" in result.output


def test_the_ablation_column_scores_every_site_of_a_run(
    train_two_tiles, tiny_classical_run, tiny_flags_one_epoch
):
    from hq_qiskit.training.diagnose import score_interventions

    classical = tiny_classical_run
    none = train_two_tiles("diag-none", [*tiny_flags_one_epoch, "--bottleneck", "none"])
    evaluation = {"val": (None, "val")}  # the built-in sample's 2 val tiles
    deltas = score_interventions(classical, evaluation, device="cpu")
    assert set(deltas["val"]) == {"bottleneck.core"}
    assert set(deltas["val"]["bottleneck.core"]) == {"mean", "shuffle", "zero"}
    assert all(-1 <= d <= 1 for d in deltas["val"]["bottleneck.core"].values())
    assert score_interventions(none, evaluation, device="cpu") == {"val": {}}


def test_diagnose_a_noise_trained_run_as_trained(
    train_two_tiles, tiny_flags_one_epoch, strict_json
):
    flags = ["--backend", "aer-noisy-fez", "--shots", "0", *tiny_flags_one_epoch]
    run = train_two_tiles("diag-noisy", flags)
    result = CliRunner().invoke(cli, ["diagnose", str(run), "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    report = strict_json(run / "diagnose.json")
    assert report["backend"] == "aer-noisy-fez" and report["noise"] == "as_trained"
    (block,) = report["blocks"]
    assert block["parameters_moved"]["max_abs"] > 0 and block["grad_ratio"] > 0


def test_diagnose_an_hqf_net_run_finds_every_quantum_block(tmp_path, vit_dir, strict_json):
    vit = vit_dir
    data = Path(__file__).parents[1] / "data" / "landcoverai"  # 1 val tile, 1 test tile
    flags = ["--patch-px", "512", "--widths", "4,8,8,16,16", "--dmcaf-dim", "16"]
    flags += ["--dmcaf-heads", "2", "--dmcaf-points", "2", "--epochs", "1"]
    flags += ["--patches-per-epoch", "2", "--batch-size", "2", "--aer-check-samples", "0"]
    run = tmp_path / "run"
    args = ["train", "--model", "hqf-net", "--backbone", str(vit), *flags, "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--data", str(data), "--out", str(run)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["diagnose", str(run), "--split", "all", "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    report = strict_json(run / "diagnose.json")
    model = restore(run).model
    names = [b["name"] for b in report["blocks"]]
    assert len(names) == len(model.quantum_modules()) > 1
    assert any("qskip" in n for n in names) and any("qmoe" in n for n in names)
    assert all(b["kind"] == "quantum" and b["parameters_moved"]["n"] > 0 for b in report["blocks"])
