"""``hq-qiskit ablation --model hqf-net`` at tiny size: every variant trains, evaluates, and
lands in one table; bad input is refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.windows import Window

from hq_qiskit.cli.main import cli
from hq_qiskit.models.hqf_net.backbone import HUB_ID
from hq_qiskit.training.restore import restore

DATA = Path(__file__).parents[1] / "data" / "landcoverai"  # 1 val tile, 1 test tile (512 px)
TINY = [
    "--patch-px",
    "512",
    "--widths",
    "4,8,8,16,16",
    "--dmcaf-dim",
    "16",
    "--dmcaf-heads",
    "2",
    "--dmcaf-points",
    "2",
    "--data",
    str(DATA),
    "--epochs",
    "1",
    "--patches-per-epoch",
    "2",
    "--batch-size",
    "2",
    "--aer-check-samples",
    "0",
    "--device",
    "cpu",
]


def read_test_tile(tile: str = "N-33-96-D-d-1-1_4") -> tuple[np.ndarray, np.ndarray]:
    """The test split's one tile, image (3, 512, 512) and mask (512, 512), read with rasterio:
    k = 4 of the 1100-px sheet is the window at (512, 512) (three windows per row, k counting
    the partial third one)."""
    sheet = tile.rpartition("_")[0]
    window = Window(512, 512, 512, 512)
    with rasterio.open(DATA / "images" / f"{sheet}.tif") as img:
        image = img.read(window=window)
    with rasterio.open(DATA / "masks" / f"{sheet}.tif") as msk:
        mask = msk.read(1, window=window)
    return image, mask


def test_every_variant_trains_evaluates_and_lands_in_one_table(vit_dir, tmp_path, independent):
    out, cache = tmp_path / "ablation", tmp_path / "cache"
    result = CliRunner().invoke(
        cli,
        [
            "ablation",
            "--model",
            "hqf-net",
            "--backbone",
            str(vit_dir),
            "--feature-cache",
            str(cache),
            "--split",
            "test",
            "--seeds",
            "0",
            "--out",
            str(out),
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    table = json.loads((out / "ablation.json").read_text())
    runs = table["runs"]["aer"]
    assert list(runs) == ["full", "no-dmcaf", "no-qskip", "no-qmoe"]
    assert list(table["evaluation"]) == ["test"] and len(table["classes"]) == 5
    assert table["seeds"] == [0] and table["reference"] == "full"
    rows = {name: seeds["0"] for name, seeds in runs.items()}
    image, mask = read_test_tile()
    for name, row in rows.items():
        # each row's scores equal its best.pt's prediction of the test tile (one 512-px patch),
        # scored again with numpy, outside hq-qiskit's sampler, evaluation loop and metrics
        restored = restore(Path(row["run"]) / "best.pt")
        model, config = restored.model, restored.config.to_dict()
        pred = independent.predict_patches(model, config, image, [(0, 0)], 512)
        again = independent.scores(pred, mask[None], 5)
        scores = row["scores"]["test"]
        assert scores["miou"] == pytest.approx(again["miou"], abs=1e-6), name
        assert scores["oa"] == pytest.approx(again["oa"], abs=1e-6), name
        assert set(scores["iou"]) == set(table["classes"])
        assert row["step_s_first_epoch"] > 0
    # 4 QSkip QCNNs (8 angles each) + QMoE's QCNN (8) + 3 experts (32 each) = 136 angles
    assert [rows[v]["params_quantum"] for v in rows] == [136, 136, 104, 32]
    assert rows["no-dmcaf"]["params_frozen"] == 0 < rows["full"]["params_frozen"]
    assert rows["full"]["params_classical"] > rows["no-dmcaf"]["params_classical"]
    md = (out / "ablation.md").read_text()
    assert md.count("\n| ") == 5 and "| no-qmoe | 1 |" in md and "IoU woodland" in md
    # each variant's checkpoint rebuilds its own model, backbone from its path
    restored = restore(Path(rows["no-qskip"]["run"]))
    model, config = restored.model, restored.config.to_dict()
    assert config["model_options"]["use_qskip"] is False and model.qskips is None
    assert config["model_options"]["input_mean"] == config["mean"]
    assert len(list(cache.rglob("*.pt"))) >= 2  # training and evaluation patches cached


def test_refusals_write_nothing(vit_dir, tmp_path):
    """HQF-Net's ablation, named: the command's default model is hq-unet."""
    runner = CliRunner()
    out = tmp_path / "abl"

    def cli_(*args: str):
        return runner.invoke(cli, ["ablation", "--model", "hqf-net", *args])

    result = cli_("--variants", "full,no-fusion", "--out", str(out))
    assert result.exit_code == 2 and "no-fusion" in result.output and "no-qmoe" in result.output
    result = cli_("--widths", "4,8", "--out", str(out))
    assert result.exit_code == 2 and "--widths" in result.output
    result = cli_("--variants", "full", "--out", str(out), *TINY)
    assert result.exit_code == 2 and HUB_ID in result.output and "--backbone" in result.output
    assert not out.exists()
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = cli_("--backbone", str(vit_dir), "--out", str(out), *TINY)
    assert result.exit_code == 2 and "not empty" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_train_takes_the_hqf_net_flags(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(cli, ["train", "--help"]).output
    for flag in ("--no-dmcaf", "--no-qskip", "--no-qmoe", "--backbone", "--feature-cache"):
        assert flag in help_text
    out = tmp_path / "run"
    result = runner.invoke(
        cli, ["train", "--model", "hqf-net", "--data", str(DATA), "--out", str(out)]
    )
    assert result.exit_code == 2 and HUB_ID in result.output and "--no-dmcaf" in result.output
    result = runner.invoke(
        cli,
        [
            "train",
            "--model",
            "hqf-net",
            "--backbone",
            str(tmp_path / "missing"),
            "--data",
            str(DATA),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2 and "no such file or folder" in result.output
    assert not out.exists()


def test_train_hqf_net_with_dmcaf_gets_the_loader_statistics(vit_dir, tmp_path):
    out = tmp_path / "run"
    args = [
        "--patch-px",
        "224",
        "--data",
        str(DATA),
        "--epochs",
        "1",
        "--patches-per-epoch",
        "2",
        "--batch-size",
        "2",
        "--aer-check-samples",
        "0",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(cli, ["train", "--model", "hqf-net", "--backbone", str(vit_dir),
                                      "--out", str(out), *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["model_options"]["use_dmcaf"] is True
    assert config["model_options"]["input_mean"] == config["mean"]
    assert config["model_options"]["input_std"] == config["std"]
