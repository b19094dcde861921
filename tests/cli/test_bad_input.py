"""Bad input a new user tries, through click's CliRunner: each is refused with exit status 2 and
one line that names the thing and a fix that exists, before anything is computed or written."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

SCENE = Path(__file__).resolve().parents[1] / "data" / "predict" / "scene.tif"
MEAN, STD = [90.0, 95.0, 85.0], [45.0, 40.0, 42.0]
CLASSES = ["background", "building", "woodland", "water", "road"]


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result) -> str:
    """The one line that says what is wrong (click's usage lines aside)."""
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A real, untrained HQ-UNet checkpoint (quantum bottleneck on the fast engine)."""
    from hq_qiskit.models import HQUNet
    from hq_qiskit.training.checkpoint import save_checkpoint

    options = {"width": 4, "depth": 2, "patch_px": 64, "bottleneck": "quantum"}
    torch.manual_seed(0)
    model = HQUNet(num_classes=5, **options)
    config = {
        "model": "hq-unet",
        "model_options": options,
        "mean": MEAN,
        "std": STD,
        "class_names": CLASSES,
    }
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    save_checkpoint(path, {"config": config, "model": model.state_dict()})
    return path


def rewrite(dst: Path, data: np.ndarray, **changes) -> Path:
    """The test scene with other pixels (any dtype, any band count) or profile changes."""
    with rasterio.open(SCENE) as src:
        profile = src.profile
    profile.update(changes, count=data.shape[0], dtype=str(data.dtype))
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data)
    return dst


def scene_pixels() -> np.ndarray:
    with rasterio.open(SCENE) as src:
        return src.read()  # (3, 220, 300) uint8


def predict(checkpoint: Path, image: Path, out: Path, *extra: str):
    return invoke(
        "predict", checkpoint, image, "-o", out, "--no-progress", "--device", "cpu", *extra
    )


# --- predict: float input on another scale than --value-range ---------------------------------


def test_float_input_on_the_0_255_scale_is_refused_with_the_range_to_give(checkpoint, tmp_path):
    as_float = rewrite(tmp_path / "float.tif", scene_pixels().astype(np.float32))  # 0..255
    result = predict(checkpoint, as_float, tmp_path / "out.tif")
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert "float.tif" in line and "--value-range 0 1" in line and "--value-range 0 255" in line
    assert not (tmp_path / "out.tif").exists()

    # the fix it names works, and gives exactly the map of the same image stored as uint8
    result = predict(checkpoint, as_float, tmp_path / "out.tif", "--value-range", "0", "255")
    assert result.exit_code == 0, result.output
    assert predict(checkpoint, SCENE, tmp_path / "ref.tif").exit_code == 0
    with rasterio.open(tmp_path / "out.tif") as a, rasterio.open(tmp_path / "ref.tif") as b:
        assert np.array_equal(a.read(1), b.read(1))


def test_reflectance_read_as_0_255_is_refused(checkpoint, tmp_path):
    reflectance = rewrite(tmp_path / "refl.tif", scene_pixels().astype(np.float32) / 255)
    result = predict(checkpoint, reflectance, tmp_path / "out.tif", "--value-range", "0", "255")
    assert result.exit_code == 2
    assert "refl.tif" in error_line(result) and "e.g. --value-range 0 1" in error_line(result)
    assert predict(checkpoint, reflectance, tmp_path / "out.tif").exit_code == 0  # default 0..1


# --- --device on a machine that does not have it ------------------------------------------------

BAD_DEVICES = ["tpu", "gpu0"] + ([] if torch.cuda.is_available() else ["cuda", "cuda:7"])
if torch.cuda.is_available():
    BAD_DEVICES.append(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("device", BAD_DEVICES)
def test_train_refuses_an_unusable_device_before_writing(device, tmp_path):
    result = invoke("train", "--device", device, "--out", tmp_path / "run")
    assert result.exit_code == 2
    line = error_line(result)
    assert "--device" in line and repr(device) in line and "cpu" in line
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # nothing left to block a retry


@pytest.mark.parametrize("device", BAD_DEVICES)
def test_evaluate_and_predict_refuse_an_unusable_device(device, checkpoint, tmp_path):
    result = invoke("evaluate", tmp_path, "--device", device)
    assert result.exit_code == 2 and "--device" in error_line(result)
    result = invoke("predict", checkpoint, SCENE, "-o", tmp_path / "o.tif", "--device", device)
    assert result.exit_code == 2 and repr(device) in error_line(result)
    assert not (tmp_path / "o.tif").exists() and not (tmp_path / "evaluation.json").exists()


def test_cpu_torch_names_the_missing_cuda(monkeypatch):
    from hq_qiskit.device import check_device
    from hq_qiskit.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"--device cuda:0: this torch .* sees no CUDA GPU"):
        check_device("cuda:0")
    assert check_device(" CPU ") == "cpu" and check_device("auto") == "auto"


# --- backends.toml --------------------------------------------------------------------------


def test_backends_file_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "b.toml"
    path.write_bytes('[x]\nkind = "aer"\ndescription = "Zürich"\n'.encode("latin-1"))
    result = invoke("backends", "--backends-file", path)
    assert result.exit_code == 2
    line = error_line(result)
    assert str(path) in line and "not UTF-8" in line and "save it as UTF-8" in line


def test_unknown_fake_backend_is_refused_when_the_file_is_read(tmp_path, monkeypatch):
    from qiskit_ibm_runtime import fake_provider

    path = tmp_path / "b.toml"
    path.write_text('[aer]\nkind = "aer"\n\n[noisy]\nkind = "aer"\nnoise = "FakeBrisbaen"\n')
    result = invoke("backends", "--backends-file", path)
    assert result.exit_code == 2
    line = error_line(result)
    assert f"{path}: [noisy] key 'noise'" in line and "'FakeBrisbaen'" in line
    assert "did you mean 'FakeBrisbane'?" in line
    offered = [n for n in line.split("): ")[1].split(", ")]
    assert "FakeFez" in offered and all(hasattr(fake_provider, n) for n in offered)
    # any command that reads the file refuses it, not only the listing
    monkeypatch.setenv("HQ_QISKIT_BACKENDS", str(path))
    result = invoke("train", "--backend", "aer", "--out", tmp_path / "run", "--device", "cpu")
    assert result.exit_code == 2 and "key 'noise'" in error_line(result)
    assert not (tmp_path / "run").exists()


# --- messages that suggested a fix that does not exist ---------------------------------------


def test_one_band_raster_gets_a_band_choice_it_has(checkpoint, tmp_path):
    grey = rewrite(tmp_path / "grey.tif", scene_pixels()[:1])
    result = predict(checkpoint, grey, tmp_path / "out.tif")
    assert result.exit_code == 2
    line = error_line(result)
    assert "has 1 band(s) but 3 are needed" in line and "--bands 1,1,1" in line
    assert "1,2,3" not in line
    assert predict(checkpoint, grey, tmp_path / "out.tif", "--bands", "1,1,1").exit_code == 0


def test_run_on_an_aer_target_names_the_runtime_targets(tmp_path):
    result = invoke("run", tmp_path, "--backend", "aer")
    assert result.exit_code == 2
    line = error_line(result)
    assert "--backend aer: is an Aer simulator target" in line
    assert "fake_brisbane" in line and "ibm_fez" in line and "--shots" not in line


@pytest.mark.parametrize("patch", ["0", "-64"])
def test_patch_px_below_one_is_not_called_indivisible(patch, tmp_path):
    result = invoke("train", "--patch-px", patch, "--device", "cpu", "--out", tmp_path / "run")
    assert result.exit_code == 2
    line = error_line(result)
    assert f"--patch-px {patch}: must be at least 2**depth = 16 px" in line
    assert "divisible" not in line
    assert not (tmp_path / "run").exists()
    result = invoke(
        "train", "--model", "hqf-net", "--no-dmcaf", "--patch-px", patch, "--out", tmp_path / "r"
    )
    assert result.exit_code == 2 and "positive multiple of 16" in error_line(result)


def test_predict_patch_px_zero_is_refused_not_replaced(checkpoint, tmp_path):
    result = predict(checkpoint, SCENE, tmp_path / "out.tif", "--patch-px", "0")
    assert result.exit_code == 2 and "--patch-px 0: must be >= 1" in error_line(result)


# --- predict -o <folder> ---------------------------------------------------------------------


def test_output_folder_is_refused_before_computing(checkpoint, tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    result = predict(checkpoint, SCENE, folder, "--overwrite")
    assert result.exit_code == 2
    line = error_line(result)
    assert f"-o {folder}: {folder} is a folder" in line and f"{folder / 'classes.tif'}" in line
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"]  # no temp file beside it


# --- GDAL's log lines, the no-CRS warning ----------------------------------------------------


def test_non_raster_input_is_one_line_without_gdal_log(checkpoint, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a raster")
    result = predict(checkpoint, notes, tmp_path / "out.tif")
    assert result.exit_code == 2
    assert "notes.txt: not a raster rasterio can read" in error_line(result)
    leaked = [r for r in caplog.records if r.name.startswith("rasterio")]
    assert leaked == [], [r.getMessage() for r in leaked]


def test_no_crs_is_said_once(checkpoint, tmp_path, caplog):
    bare = rewrite(tmp_path / "bare.tif", scene_pixels(), crs=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = predict(checkpoint, bare, tmp_path / "out.tif")
    assert result.exit_code == 0, result.output
    said = (
        result.output.count("has no CRS")
        + sum("has no CRS" in str(w.message) for w in caught)
        + sum("has no CRS" in r.getMessage() for r in caplog.records)
    )
    assert said == 1


@pytest.mark.parametrize(
    ("flag", "value"), [("--jitter", "1.5"), ("--jitter", "-0.1"), ("--label-smoothing", "1")]
)
def test_train_refuses_jitter_and_label_smoothing_out_of_range(flag, value, tmp_path):
    result = invoke("train", flag, value, "--device", "cpu", "--out", tmp_path / "run")
    assert result.exit_code == 2
    line = error_line(result)
    assert f"{flag} {float(value)}" in line and "choose 0" in line
    assert not (tmp_path / "run").exists()
