"""bench/ablation_merge.py: ablations run one seed per process merge into the table that one
ablation over all the seeds gives (same runs, same per-tile matrices, same statistics)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ablation_merge.py"
TINY = ["ablation", "--model", "hq-unet", "--width", "2", "--depth", "2", "--epochs", "1",
        "--patches-per-epoch", "8", "--batch-size", "8", "--aer-check-samples", "0",
        "--device", "cpu", "--variants", "quantum,classical"]  # fmt: skip


def load_merge():
    spec = importlib.util.spec_from_file_location("ablation_merge", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ablate(out: Path, seeds: str, data: list[str]) -> dict:
    result = CliRunner().invoke(cli, [*TINY, *data, "--seeds", seeds, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "ablation.json").read_text())


def test_per_seed_parts_merge_into_the_joint_table(tmp_path, small_data):
    merge = load_merge()
    joint = ablate(tmp_path / "joint", "0,1", small_data)
    ablate(tmp_path / "s0", "0", small_data), ablate(tmp_path / "s1", "1", small_data)
    merge.main(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s0"])
    merged = json.loads((tmp_path / "merged" / "ablation.json").read_text())
    assert merged["seeds"] == [0, 1]
    for variant in ("quantum", "classical"):
        for seed in ("0", "1"):
            a = merged["runs"]["aer"][variant][seed]["scores"]["val"]["confusion"]
            b = joint["runs"]["aer"][variant][seed]["scores"]["val"]["confusion"]
            assert a == b, (variant, seed)  # the same seed trains the same network
        m, j = merged["summary"]["aer"]["val"][variant], joint["summary"]["aer"]["val"][variant]
        assert sorted(m["miou_per_seed"]) == pytest.approx(sorted(j["miou_per_seed"]))
        assert m["miou"] == pytest.approx(j["miou"])
    md = (tmp_path / "merged" / "ablation.md").read_text()
    assert "Seeds 0, 1 (weights" in md and "--seeds 0" in md and "--seeds 1" in md
    assert (tmp_path / "merged" / "ablation.png").read_bytes()[:4] == b"\x89PNG"


def test_parts_with_other_settings_or_the_same_seed_are_refused(tmp_path, small_data):
    merge = load_merge()
    part = ablate(tmp_path / "s0", "0", small_data)
    other = json.loads(json.dumps(part))
    other["config"]["lr"] = 0.5
    other["seeds"] = [1]
    with pytest.raises(ValueError, match=r"training settings \['lr'\]"):
        merge.merge([part, other])
    with pytest.raises(ValueError, match="seeds repeated"):
        merge.merge([part, part])


def test_parts_with_other_variants_merge_in_the_models_order(tmp_path, small_data):
    merge = load_merge()
    part = ablate(tmp_path / "s0", "0", small_data)  # quantum, classical
    args = [*TINY[:-2], *small_data, "--variants", "none", "--seeds", "0"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "n")])
    assert result.exit_code == 0, result.output
    other = json.loads((tmp_path / "n" / "ablation.json").read_text())
    merged = merge.merge([other, part])
    assert merged["variants"] == ["quantum", "classical", "none"]
    assert merged["reference"] == "classical"
    assert "miou_diff" in merged["summary"]["aer"]["val"]["none"]
