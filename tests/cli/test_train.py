"""``hq-qiskit train`` through click's CliRunner at tiny size: a full run folder, resume, and one
clear line for each kind of bad input, with nothing already written lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

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
    "4",
    "--aer-check-samples",
    "1",
    "--device",
    "cpu",
]
RUN_FILES = {
    "config.json",
    "metrics.jsonl",
    "curves.png",
    "confusion.png",
    "overlays.png",
    "last.pt",
    "best.pt",
    "report.json",
}


def train(*args: str):
    return CliRunner().invoke(cli, ["train", *args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_loveda) -> tuple[Path, Path, str]:
    """(data folder, run folder, output) of one tiny quantum run of one epoch."""
    base = tmp_path_factory.mktemp("train")
    data = tiny_loveda(base / "data")
    result = train(*TINY, "--data", str(data), "--out", str(base / "run"))
    assert result.exit_code == 0, result.output
    return data, base / "run", result.output


def test_a_run_writes_its_folder_and_ends_with_a_validation_report(trained, independent):
    data, run, output = trained
    assert {p.name for p in run.iterdir()} >= RUN_FILES
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    assert "+ 8 quantum trainable parameters" in output
    assert "Validation report" in output and "IoU woodland" in output
    config = json.loads((run / "config.json").read_text())
    assert config["model_options"]["engine"] == "fast"
    assert config["model_options"]["bottleneck"] == "quantum"
    assert config["data"] == str(data.resolve())
    assert len(config["mean"]) == 3 and all(s > 0 for s in config["std"])
    assert config["class_names"][:2] == ["background", "building"]
    assert {"torch", "qiskit", "qiskit-aer"} <= set(config["versions"])
    (line,) = (run / "metrics.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["epoch"] == 1 and record["step"] == 2  # 8 patches / batch 4
    # the scores equal a recomputation from best.pt on the val tile's 64 patches of 64 px, made
    # without hq-qiskit's sampler, evaluation loop or metrics
    model, config = independent.rebuild(run / "best.pt")
    image, mask = independent.loveda_tile(data, "6_2")
    corners = independent.grid(512, 64)
    pred = independent.predict_patches(model, config, image, corners, 64)
    truth = np.stack([mask[y : y + 64, x : x + 64] for y, x in corners])
    again = independent.scores(pred, truth, 5)
    assert record["val_miou"] == pytest.approx(again["miou"], abs=1e-6)
    assert record["val_oa"] == pytest.approx(again["oa"], abs=1e-6)
    assert record["engine_vs_aer_max_abs_start"] < 1e-5
    assert record["engine_vs_aer_max_abs_end"] < 1e-5
    report = json.loads((run / "report.json").read_text())
    assert report["val"]["miou"] == pytest.approx(record["val_miou"])
    assert report["val"]["confusion"] == again["confusion"]


def test_resume_continues_a_run(trained, tmp_path):
    _, run, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = train("--resume", str(copy), "--epochs", "2", "--aer-check-samples", "0")
    assert result.exit_code == 2  # --aer-check-samples belongs to the run's config
    assert "--aer-check-samples cannot change" in result.output
    result = train("--resume", str(copy), "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "after epoch 1 of 2" in result.output
    lines = [json.loads(x) for x in (copy / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert lines[1]["step"] == 4
    state = torch.load(copy / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert json.loads((copy / "config.json").read_text())["epochs"] == 2


def test_a_damaged_checkpoint_stops_resume_and_loses_nothing(trained, tmp_path):
    _, run, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "last.pt").write_bytes((run / "last.pt").read_bytes()[:1000])
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    result = train("--resume", str(copy))
    assert result.exit_code == 2
    assert "last.pt: not a readable checkpoint" in result.output
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_an_existing_folder_is_refused_and_kept(trained):
    data, run, _ = trained
    before = (run / "metrics.jsonl").read_bytes()
    result = train(*TINY, "--data", str(data), "--out", str(run))
    assert result.exit_code == 2
    assert "not empty" in result.output and "--overwrite" in result.output
    assert (run / "metrics.jsonl").read_bytes() == before


def test_unknown_backend_and_engine(tmp_path):
    out = tmp_path / "run"
    result = train(*TINY, "--backend", "ibm_nowhere", "--out", str(out))
    assert result.exit_code == 2
    assert "--backend" in result.output and "ibm_nowhere" in result.output
    assert "aer" in result.output  # lists the valid names
    result = train(*TINY, "--engine", "warp", "--out", str(out))
    assert result.exit_code == 2 and "--engine" in result.output and "fast" in result.output
    assert not out.exists()


def test_missing_or_empty_data_folder(tmp_path):
    result = train(*TINY, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "--data" in result.output and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = train(*TINY, "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and "is empty" in result.output
    assert not (tmp_path / "r").exists()


def test_image_without_mask(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data")
    (data / "masks_png" / "1_2.png").unlink()
    result = train(*TINY, "--data", str(data), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "1_2.png: has no mask" in result.output
    assert not (tmp_path / "r").exists()


def test_mask_value_outside_the_class_map(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data")
    mask_path = data / "masks_png" / "6_2.png"  # the val tile
    mask = np.array(Image.open(mask_path))
    mask[:3, :3] = 9  # LoveDA has values 0..7
    Image.fromarray(mask).save(mask_path)
    result = train(*TINY, "--data", str(data), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "6_2" in result.output and "9" in result.output and "class map" in result.output
    assert not (tmp_path / "r").exists()


def test_input_scale_reads_full_resolution_windows_and_answers_at_their_size(
    tmp_path, tiny_loveda, independent
):
    """--input-scale 0.5: the run reads 64-px windows and its network computes at 32 px; the
    validation score is that of 64-px windows at the data's resolution (recomputed without
    hq-qiskit's sampler or metrics), and predict writes a map the size of its input."""
    import rasterio

    data = tiny_loveda(tmp_path / "data")
    run = tmp_path / "run"
    result = train(*TINY, "--input-scale", "0.5", "--data", str(data), "--out", str(run))
    assert result.exit_code == 0, result.output
    assert "patch 64 px, seen at 32 px" in result.output
    (line,) = (run / "metrics.jsonl").read_text().splitlines()
    model, config = independent.rebuild(run / "best.pt")
    assert config["model_options"]["input_scale"] == 0.5 and model.inner_px == 32
    image, mask = independent.loveda_tile(data, "6_2")
    corners = independent.grid(512, 64)
    pred = independent.predict_patches(model, config, image, corners, 64)
    truth = np.stack([mask[y : y + 64, x : x + 64] for y, x in corners])
    assert json.loads(line)["val_miou"] == pytest.approx(
        independent.scores(pred, truth, 5)["miou"], abs=1e-6
    )

    tif = tmp_path / "scene.tif"
    profile = {"driver": "GTiff", "width": 150, "height": 100, "count": 3, "dtype": "uint8"}
    profile |= {"crs": "EPSG:32650", "transform": rasterio.Affine(0.3, 0, 660e3, 0, -0.3, 3550e3)}
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(image[:, :100, :150])
    out = tmp_path / "map.tif"
    args = ["predict", str(run / "best.pt"), str(tif), "-o", str(out), "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src:
        assert (src.height, src.width) == (100, 150) and src.crs == "EPSG:32650"
        assert src.transform == profile["transform"]
        assert set(np.unique(src.read(1))) <= set(range(5))

    refused = train("--model", "hqf-net", "--input-scale", "0.5", "--out", str(tmp_path / "q"))
    assert refused.exit_code == 2 and "--input-scale is an option of hq-unet" in refused.output
