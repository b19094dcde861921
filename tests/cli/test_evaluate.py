"""``hq-qiskit evaluate RUN_DIR``: rebuilds the model from the run folder alone and scores it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

TINY = [
    "--width",
    "4",
    "--depth",
    "2",
    "--patch-px",
    "64",
    "--epochs",
    "1",
    "--patches-per-epoch",
    "8",
    "--batch-size",
    "8",
    "--aer-check-samples",
    "0",
    "--device",
    "cpu",
    "--bottleneck",
    "classical",
]


# one train tile, one val tile, two test tiles of the built-in sample
SPLITS = {"train": ["1_2"], "val": ["6_2"], "test": ["11_3", "19_2"]}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_loveda) -> Path:
    base = tmp_path_factory.mktemp("evaluate")
    data = tiny_loveda(base / "data", SPLITS)
    result = invoke("train", *TINY, "--data", str(data), "--out", str(base / "run"))
    assert result.exit_code == 0, result.output
    return base / "run"


def test_evaluate_reproduces_the_validation_report(run):
    result = invoke("evaluate", str(run), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "mIoU" in result.output and "OA" in result.output and "IoU road" in result.output
    evaluation = json.loads((run / "evaluation.json").read_text())
    report = json.loads((run / "report.json").read_text())
    # same model, same patches: the numbers training printed
    assert evaluation["miou"] == pytest.approx(report["val"]["miou"])
    assert evaluation["oa"] == pytest.approx(report["val"]["oa"])
    assert evaluation["confusion"] == report["val"]["confusion"]
    assert set(evaluation["iou"]) == {"background", "building", "woodland", "water", "road"}


def test_evaluate_another_split(run, independent):
    result = invoke("evaluate", str(run), "--split", "test", "--device", "cpu")
    assert result.exit_code == 0, result.output
    evaluation = json.loads((run / "evaluation-test.json").read_text())  # its own file
    assert evaluation["split"] == "test" and evaluation["tiles"] == 2
    # equal to a recomputation from best.pt on the two test tiles, 64 patches of 64 px each,
    # without hq-qiskit's sampler, evaluation loop or metrics
    model, config = independent.rebuild(run / "best.pt")
    corners = independent.grid(512, 64)
    preds, truths = [], []
    for tile in ("11_3", "19_2"):
        image, mask = independent.loveda_tile(run.parent / "data", tile)
        preds.append(independent.predict_patches(model, config, image, corners, 64))
        truths.append(np.stack([mask[y : y + 64, x : x + 64] for y, x in corners]))
    again = independent.scores(np.concatenate(preds), np.concatenate(truths), 5)
    assert evaluation["miou"] == pytest.approx(again["miou"], abs=1e-6)
    assert evaluation["oa"] == pytest.approx(again["oa"], abs=1e-6)
    assert evaluation["confusion"] == again["confusion"]


def test_bad_run_folder_and_corrupt_checkpoint(run, tmp_path):
    result = invoke("evaluate", str(tmp_path))
    assert result.exit_code == 2 and "not a run folder" in result.output
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    for earlier in copy.glob("evaluation*.json"):  # else evaluate refuses to replace them
        earlier.unlink()
    (copy / "best.pt").write_bytes(b"not a checkpoint")
    result = invoke("evaluate", str(copy))
    assert result.exit_code == 2
    assert "best.pt: not a readable checkpoint" in result.output
    assert (copy / "best.pt").read_bytes() == b"not a checkpoint"
    result = invoke("evaluate", str(run), "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "--data" in result.output


def test_evaluate_split_all_on_a_folder_without_split_lists(run, tmp_path, tiny_loveda):
    # the run's validation tile, with no split lists
    plain = tiny_loveda(tmp_path / "plain", {"val": ["6_2"]}, lists=False)
    result = invoke("evaluate", str(run), "--data", str(plain), "--device", "cpu")
    assert result.exit_code == 2 and "has no val.txt" in result.output
    result = invoke("evaluate", str(run), "--data", str(plain), "--split", "all", "--device", "cpu")
    assert result.exit_code == 0, result.output
    evaluation = json.loads((run / "evaluation-plain-all.json").read_text())
    report = json.loads((run / "report.json").read_text())
    assert evaluation["split"] == "all" and evaluation["tiles"] == 1
    assert evaluation["confusion"] == report["val"]["confusion"]  # same tile, same model


def test_unknown_mask_values_name_a_fix_that_exists(run, tmp_path, tiny_loveda):
    from PIL import Image

    plain = tiny_loveda(tmp_path / "odd", {"val": ["6_2"]}, lists=False)
    mask = np.array(Image.open(plain / "masks_png" / "6_2.png"))
    mask[0, 0] = 9  # LoveDA has values 0..7
    Image.fromarray(mask).save(plain / "masks_png" / "6_2.png")
    result = invoke("evaluate", str(run), "--data", str(plain), "--split", "all", "--device", "cpu")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "6_2.png" in lines[0] and "mask values [9]" in lines[0]
    assert "open_tiles(..., class_map=" in lines[0] and "add them to class_map" not in lines[0]


def test_an_earlier_evaluation_is_not_replaced_without_overwrite(run):
    """Before: every evaluate replaced evaluation.json, whatever it held."""
    target = run / "evaluation-last.json"
    result = invoke("evaluate", str(run), "--checkpoint", "last.pt", "--device", "cpu")
    assert result.exit_code == 0, result.output
    before = target.read_bytes()
    target.write_bytes(before + b" ")  # marks the file, so a replacement would show
    result = invoke("evaluate", str(run), "--checkpoint", "last.pt", "--device", "cpu")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {target}: already exists (an earlier evaluation with these settings); "
        "pass --overwrite to replace it\n"
    )
    assert target.read_bytes() == before + b" "
    args = ("evaluate", str(run), "--checkpoint", "last.pt", "--device", "cpu", "--overwrite")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == before


def test_all_no_data_masks_are_refused_not_written_as_nan(run, tmp_path, tiny_loveda):
    """Before: evaluation.json held NaN (not JSON) and the command exited 0."""
    from PIL import Image

    blank = tiny_loveda(tmp_path / "blank", {"val": ["6_2"]}, lists=False)
    mask = np.array(Image.open(blank / "masks_png" / "6_2.png"))
    Image.fromarray(np.zeros_like(mask)).save(blank / "masks_png" / "6_2.png")  # 0: no-data
    result = invoke("evaluate", str(run), "--data", str(blank), "--split", "all", "--device", "cpu")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --data {blank.resolve()}: every mask pixel of the all split is no-data, so there "
        "is nothing to score and evaluation-blank-all.json was not written; check the masks' "
        "values"
    )
    assert not (run / "evaluation-blank-all.json").exists()


DUBAI = Path(__file__).resolve().parents[1] / "data" / "dubai"


def test_evaluate_the_dubai_layout_whole(run):
    """--data reads every layout open_labelled knows; the Dubai fixture's colour masks are
    scored on every labelled pixel (counted here from the PNGs, grey and black unlabelled)."""
    from PIL import Image

    result = invoke("evaluate", str(run), "--data", str(DUBAI), "--split", "all", "--device", "cpu")
    assert result.exit_code == 0, result.output
    evaluation = json.loads((run / "evaluation-dubai-all.json").read_text())
    assert evaluation["tiles"] == 7
    labelled = 0
    for mask in DUBAI.glob("tile_*/masks/*.png"):
        rgb = np.asarray(Image.open(mask).convert("RGB"))
        unlabelled = (rgb == (155, 155, 155)).all(-1) | (rgb == (0, 0, 0)).all(-1)
        labelled += int((~unlabelled).sum())
    assert int(np.asarray(evaluation["confusion"]).sum()) == labelled


def test_evaluate_refuses_an_unknown_layout_in_one_line(run, tmp_path):
    (tmp_path / "photos").mkdir()
    result = invoke("evaluate", str(run), "--data", str(tmp_path), "--split", "all")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "layout not recognised" in lines[0]
    assert str(tmp_path) in lines[0] and "Dubai" in lines[0] and "plain folder" in lines[0]
