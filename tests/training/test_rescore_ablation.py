"""bench/rescore_ablation.py re-scores the published ablations (docs/science/run*.json) with
today's statistics: whole LoveDA images (tile "<image>_<quadrant>"), a t over seeds, no verdict
from fewer than 3 seeds or 4 images, and noisy runs compared with their own ideal runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCIENCE = ROOT / "docs" / "science"
RUN5 = SCIENCE / "run5-2x3-32ep-w16.json"  # quantum, classical; 3 seeds; val + 32 held-out tiles
RUN8 = SCIENCE / "run8-5x3-32ep-w16-dice5-fez.json"  # 5 variants, aer and aer-noisy-fez


def _module():
    spec = importlib.util.spec_from_file_location(
        "rescore_ablation", ROOT / "bench/rescore_ablation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rescore_ablation = _module()


def test_run5_rescored_by_image_with_wider_intervals(tmp_path):
    out = rescore_ablation.rescore(rescore_ablation.load(RUN5), n_boot=300)
    held = out["summary"]["aer"]["heldout"]
    # the 32 held-out tiles are the quadrants of 8 LoveDA images (0, 2, 4, 5, 7, 8, 10, 12)
    assert held["quantum"]["images"] == 8 and held["quantum"]["tiles"] == 32
    assert "no verdict" not in held["quantum"]["verdict"]
    # the 2 validation tiles come from 2 images: no verdict
    assert out["summary"]["aer"]["val"]["quantum"]["images"] == 2
    assert "no verdict: 3 seeds and 2 images" in out["summary"]["aer"]["val"]["quantum"]["verdict"]
    # the old percentile bootstrap's interval of the difference was narrower than today's
    old = out["summary_before"]["aer"]["heldout"]["quantum"]["miou_diff"]
    new = held["quantum"]["miou_diff"]
    assert new["high"] - new["low"] > old["high"] - old["low"]
    assert new["estimate"] == pytest.approx(old["estimate"])  # same data, same point estimate
    js, md = rescore_ablation.write(out, RUN5, tmp_path)
    assert js.name == "run5-2x3-32ep-w16-rescored.json"
    saved = json.loads(js.read_text())
    assert saved["margin"] == 0.02 and saved["source"] == RUN5.name and "runs" not in saved
    assert "## Before and after" in md.read_text()


def test_two_seeds_print_no_verdict(tmp_path):
    result = rescore_ablation.load(RUN5)
    for rows in result["runs"]["aer"].values():
        rows.pop("2")
    out = rescore_ablation.rescore(result, n_boot=200)
    verdict = out["summary"]["aer"]["heldout"]["quantum"]["verdict"]
    assert "no verdict: 2 seeds and 8 images" in verdict
    _, md = rescore_ablation.write(out, tmp_path / "two.json", tmp_path)
    assert "inconclusive" not in md.read_text() and "equivalent" not in md.read_text()


def test_noisy_runs_compared_with_their_own_ideal_runs():
    out = rescore_ablation.rescore(rescore_ablation.load(RUN8), n_boot=200)
    table = out["across_backends"]["aer-noisy-fez"]["loveda-heldout"]
    # only the variants with a circuit were trained again; the others reuse the ideal runs
    assert set(table) == {"quantum", "quantum-frozen"}
    assert table["quantum"]["images"] == 8
    assert table["quantum"]["verdict"].startswith("quantum vs aer: ")


def test_file_without_per_tile_matrices_is_one_line(tmp_path, capsys):
    result = json.loads(RUN5.read_text())
    del result["runs"]["aer"]["classical"]["1"]["scores"]["heldout"]["confusion"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(result))
    assert rescore_ablation.main([str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "runs.aer.classical.1.scores.heldout" in err[0]
    assert not (tmp_path / "bad-rescored.json").exists()
