"""`hq-qiskit crossval` and `train --folds/--fold`: folds of whole images, every image scored
once by a run that never trained on it, the pooled score, continuing, and comparisons."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.errors import DataError
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.data import open_train_val
from hq_qiskit.training.statistics import scores

from .conftest import TINY_ONE_EPOCH

# four built-in tiles, each from another LoveDA image (so four groups), as a plain folder
FOUR_IMAGES = {"all": ["1_2", "3_2", "13_2", "16_0"]}


def _crossval(data, out, *extra):
    args = ["crossval", *TINY_ONE_EPOCH, "--data", str(data), "--folds", "2", "--out", str(out)]
    return CliRunner().invoke(cli, [*args, *extra])


def test_folds_score_every_image_once_by_a_run_that_never_saw_it(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data", FOUR_IMAGES, lists=False)
    result = _crossval(data, tmp_path / "cv")
    assert result.exit_code == 0, result.output
    scored = []
    for fold in (0, 1):
        run = tmp_path / "cv" / f"seed0-fold{fold}"
        cfg = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
        assert (cfg.folds, cfg.fold) == (2, fold)
        train, val = open_train_val(cfg.data, None, cfg.folds, cfg.fold)
        assert not set(train.groups) & set(val.groups)  # no image on both sides
        fold_scores = json.loads((run / "fold-scores.json").read_text())
        assert fold_scores["tiles"] == val.ids
        scored += val.ids
    assert sorted(scored) == sorted(FOUR_IMAGES["all"])  # every image exactly once
    cv = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    assert cv["images"] == 4 and cv["folds"] == 2 and cv["seeds"] == [0]
    pooled = np.asarray(cv["confusion"])[0].sum(0)
    assert cv["miou"]["estimate"] == float(scores(pooled)["miou"])
    assert "cross-validated mIoU" in result.output
    # scoring a fold run on its own data reads its fold, and refuses the splits it trained on
    run = tmp_path / "cv" / "seed0-fold1"
    runner = CliRunner()
    own = runner.invoke(cli, ["evaluate", str(run), "--device", "cpu"])
    assert own.exit_code == 0, own.output
    assert json.loads((run / "evaluation.json").read_text())["tiles"] == len(val.ids)
    other = runner.invoke(cli, ["diagnose", str(run), "--split", "test", "--device", "cpu"])
    assert other.exit_code == 2 and "holds images it trained on" in " ".join(other.output.split())


def test_rerun_keeps_complete_runs_and_refuses_other_settings(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data", FOUR_IMAGES, lists=False)
    first = _crossval(data, tmp_path / "cv")
    assert first.exit_code == 0, first.output
    before = (tmp_path / "cv" / "crossval.json").read_text()
    again = _crossval(data, tmp_path / "cv", "--against", str(tmp_path / "cv"))
    assert again.exit_code == 0, again.output
    assert again.output.count("complete, kept") == 2
    after = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    assert after["confusion"] == json.loads(before)["confusion"]
    assert "difference to" in again.output and ": 0.000 [" in again.output
    other = _crossval(data, tmp_path / "cv", "--lr", "0.01")
    assert other.exit_code == 2
    assert "other settings (lr differ)" in other.output and "another --out" in other.output
    # a folder saved before a setting existed (noise_scale) holds that setting's old value
    saved_path = tmp_path / "cv" / "crossval-settings.json"
    saved = json.loads(saved_path.read_text())
    del saved["settings"]["noise_scale"]
    saved_path.write_text(json.dumps(saved))
    old = _crossval(data, tmp_path / "cv")
    assert old.exit_code == 0 and old.output.count("complete, kept") == 2, old.output
    # a fold run trained with other flags is never kept as this setting's
    run = tmp_path / "cv" / "seed0-fold1"
    cfg = json.loads((run / "config.json").read_text())
    cfg["settings"]["lr"] = 0.01
    (run / "config.json").write_text(json.dumps(cfg))
    moved = _crossval(data, tmp_path / "cv")
    assert moved.exit_code == 2, moved.output
    assert "seed0-fold1: this fold run was trained with other settings (lr differ)" in moved.output


def test_fold_options_are_checked_in_one_line(tmp_path):
    runner = CliRunner()
    lone = runner.invoke(cli, ["train", "--fold", "1", "--out", str(tmp_path / "a")])
    assert lone.exit_code == 2 and "--fold 1 needs --folds K" in lone.output
    one = runner.invoke(cli, ["train", "--folds", "1", "--out", str(tmp_path / "b")])
    assert one.exit_code == 2 and "--folds 1: choose 0" in one.output
    high = runner.invoke(
        cli, ["train", "--folds", "3", "--fold", "3", "--out", str(tmp_path / "c")]
    )
    assert high.exit_code == 2 and "choose a fold from 0 to 2" in high.output


def test_train_also_joins_training_only(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data", FOUR_IMAGES, lists=False)
    other = tiny_loveda(tmp_path / "other", {"all": ["17_2", "22_1"]}, lists=False)
    train, val = open_train_val(str(data), None, 2, 0, [str(other)])
    plain_train, plain_val = open_train_val(str(data), None, 2, 0)
    assert val.ids == plain_val.ids  # the other folder is never validated on
    assert len(train) == len(plain_train) + 2
    assert {"also-other:17", "also-other:22"} <= set(train.groups)
    several = open_train_val([str(data), str(other)], None, 2, 0)
    assert len(several[0]) + len(several[1]) == 6  # several --data folders pool into the folds
    with pytest.raises(DataError, match="--train-also works with one --data folder"):
        open_train_val([str(data), str(other)], None, 2, 0, [str(other)])


def test_a_screen_scores_its_folds_pairs_with_a_full_run_and_is_completed_later(
    tmp_path, tiny_loveda
):
    data = tiny_loveda(tmp_path / "data", FOUR_IMAGES, lists=False)
    full = _crossval(data, tmp_path / "full")
    assert full.exit_code == 0, full.output
    screen = _crossval(
        data, tmp_path / "screen", "--only-folds", "1", "--against", str(tmp_path / "full")
    )
    assert screen.exit_code == 0, screen.output
    assert not (tmp_path / "screen" / "seed0-fold0").exists()  # fold 0 never trained
    cv = json.loads((tmp_path / "screen" / "crossval.json").read_text())
    fold1 = json.loads((tmp_path / "screen" / "seed0-fold1" / "fold-scores.json").read_text())
    assert cv["folds_scored"] == [1] and cv["tiles"] == sorted(fold1["tiles"])
    assert cv["images"] == 2 and "a screen: folds 1 of 2 scored" in screen.output
    assert cv["what"].endswith("pooled confusion over the tiles of the screened folds")
    # same settings and seed as the full run: paired on fold 1's tiles, the difference is 0
    assert "difference to" in screen.output and ": 0.000 [" in screen.output
    # a full cross-validation cannot pair with the screen: it scored fold 0's tiles too
    against = _crossval(data, tmp_path / "full", "--against", str(tmp_path / "screen"))
    assert against.exit_code == 2 and "did not score 2 of these tiles" in against.output
    # rerun without --only-folds: fold 1 kept, fold 0 trained, the whole cross-validation
    done = _crossval(data, tmp_path / "screen")
    assert done.exit_code == 0 and done.output.count("complete, kept") == 1, done.output
    whole = json.loads((tmp_path / "screen" / "crossval.json").read_text())
    assert whole["folds_scored"] == [0, 1] and whole["images"] == 4
    assert whole["what"].endswith("pooled confusion over all tiles")
    bad = _crossval(data, tmp_path / "other", "--only-folds", "2")
    assert bad.exit_code == 2 and "--only-folds 2: give distinct folds from 0 to 1" in bad.output
