"""``hq-qiskit ablation --design NAME`` (and ``--skips N``): the ablation of a design in which
the bottleneck is load-bearing lists the matched cores besides the quantum block, records the
design in every run's config.json, and trains them at tiny size."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.training.ablation_plan import parse_variants

TINY = ["--model", "hq-unet", "--width", "2", "--depth", "2", "--patch-px", "128",
        "--epochs", "1", "--patches-per-epoch", "4", "--batch-size", "4",
        "--aer-check-samples", "0", "--device", "cpu"]  # fmt: skip
MATCHED = ["quantum", "quantum-frozen", "product", "surrogate", "mlp", "mlp-macs", "classical",
           "classical-small", "none"]  # fmt: skip


def test_a_design_lists_the_matched_cores_and_the_papers_design_does_not():
    assert parse_variants("hq-unet", None, {}) == [
        "quantum", "quantum-frozen", "classical", "classical-small", "none"
    ]  # fmt: skip
    assert parse_variants("hq-unet", None, {"design": "gated"}) == MATCHED
    assert parse_variants("hq-unet", None, {"skips": 0}) == MATCHED
    assert parse_variants("hq-unet", None, {"design": "unet", "skips": 1}) == MATCHED
    assert parse_variants("hq-unet", "product,mlp", {}) == ["product", "mlp"]


def test_ablation_on_the_gated_design_trains_the_matched_cores(tmp_path, small_data):
    out = tmp_path / "ablation"
    args = ["ablation", *TINY, *small_data, "--design", "gated", "--skips", "1", "--variants",
            "product,surrogate,mlp", "--seeds", "0", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = json.loads((out / "ablation.json").read_text())
    runs = table["runs"]["aer"]
    assert list(runs) == ["product", "surrogate", "mlp"]
    assert runs["product"]["0"]["params_quantum"] == 8  # the circuit's angles, on its engine
    assert runs["surrogate"]["0"]["params_quantum"] == runs["mlp"]["0"]["params_quantum"] == 0
    # matched: the same classical layers plus 8 trainable numbers each
    p = runs["product"]["0"]["params_classical"]
    assert runs["surrogate"]["0"]["params_classical"] == runs["mlp"]["0"]["params_classical"]
    assert runs["mlp"]["0"]["params_classical"] == p + 8
    md = (out / "ablation.md").read_text()
    assert "width 2, depth 2, patch px 128, design gated, 1 skips" in md  # not the papers'
    config = json.loads((Path(runs["mlp"]["0"]["run"]) / "config.json").read_text())
    options = config["model_options"]
    assert options["design"] == "gated" and options["skips"] == 1
    assert options["bottleneck"] == "mlp" and config["noise_scale"] == 1.0


def test_a_bad_design_option_is_one_line_before_any_training(tmp_path):
    out = tmp_path / "abl"
    result = CliRunner().invoke(cli, ["ablation", *TINY, "--skips", "5", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--skips 5: choose 0" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
