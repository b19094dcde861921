"""predict_raster and ``hq-qiskit predict`` on a real-imagery GeoTIFF on a LandCover.ai grid."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from hq_qiskit.cli.main import cli
from hq_qiskit.errors import ConfigError, DataError
from hq_qiskit.predict import blend_window, predict_raster

SCENE = Path(__file__).resolve().parent / "data" / "predict" / "scene.tif"
MEAN, STD = [90.0, 95.0, 85.0], [45.0, 40.0, 42.0]


@pytest.fixture
def scene(tmp_path) -> Path:
    return Path(shutil.copy(SCENE, tmp_path / "scene.tif"))


def pointwise_model() -> nn.Module:
    """A 1x1 convolution: its logits at a pixel do not depend on the patch around it, so a
    correct sliding window reproduces the whole-image prediction exactly."""
    torch.manual_seed(0)
    return nn.Conv2d(3, 5, 1)


def whole_image_classes(path: Path, model: nn.Module, scale: float = 1.0) -> np.ndarray:
    with rasterio.open(path) as src:
        image = src.read().astype(np.float32) * scale  # (3, H, W) on the 0..255 scale
    x = (image - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    with torch.no_grad():
        return model(torch.from_numpy(x.astype(np.float32))[None])[0].argmax(0).numpy()


def rewrite(src_path: Path, dst_path: Path, data=None, **changes) -> Path:
    with rasterio.open(src_path) as src:
        profile, array = src.profile, src.read()
    profile.update(changes)
    data = array if data is None else data
    profile["count"], profile["dtype"] = data.shape[0], str(data.dtype)
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(data)
    return dst_path


def predict(model, src, out, **kw):
    kw = {"mean": MEAN, "std": STD, "patch_px": 64, "overlap_px": 16, "progress": False} | kw
    return predict_raster(model, src, out, **kw)


@pytest.mark.parametrize(
    ("patch_px", "overlap_px", "batch_size"), [(64, 16, 8), (64, 0, 3), (96, 40, 16), (256, 64, 2)]
)
def test_sliding_window_equals_whole_image_prediction(
    scene, tmp_path, patch_px, overlap_px, batch_size
):
    model = pointwise_model()
    result = predict(
        model,
        scene,
        tmp_path / "out.tif",
        patch_px=patch_px,
        overlap_px=overlap_px,
        batch_size=batch_size,
    )
    with rasterio.open(result.classes_path) as dst:
        got = dst.read(1)
    assert np.array_equal(got, whole_image_classes(scene, model))


def test_output_lands_on_the_input_grid_with_colours_and_tags(scene, tmp_path):
    result = predict(pointwise_model(), scene, tmp_path / "maps" / "out.tif")
    with rasterio.open(scene) as src, rasterio.open(result.classes_path) as dst:
        assert dst.crs == src.crs and dst.crs is not None
        assert dst.transform == src.transform
        assert (dst.width, dst.height) == (src.width, src.height) == (300, 220)
        assert dst.dtypes[0] == "uint8" and dst.nodata == 255
        assert dst.profile["tiled"] and dst.compression is not None
        assert dst.colormap(1)[1] == (220, 40, 40, 255)  # building
        tags = dst.tags()
        assert tags["CLASSES"] == "background,building,woodland,water,road"
        assert tags["MEAN"] == "90,95,85" and tags["PATCH_PX"] == "64"
    assert result.tiles == 6 * 5  # x: 0, 48, .., 192, 236; y: 0, 48, 96, 144, 156


def test_blend_window_hands_over_linearly_across_the_overlap():
    w = blend_window(64, 16)[32]  # one row through the middle
    assert w.min() > 0 and w.max() == 1.0
    assert np.allclose(w[48:] + w[:16], 1.0)  # patch at x and x + 48 overlap on 16 px
    assert np.all(np.diff(w[:16]) > 0)
    assert np.all(blend_window(32, 0) == 1.0)


def test_probabilities_and_overlay(scene, tmp_path):
    result = predict(
        pointwise_model(), scene, tmp_path / "out.tif", probabilities=True, overlay=True
    )
    with rasterio.open(result.probabilities_path) as p, rasterio.open(result.classes_path) as c:
        probs, classes = p.read(), c.read(1)
        assert p.count == 5 and p.descriptions[1] == "building"
        assert p.transform == c.transform
    assert np.all(np.abs(probs.astype(int).sum(axis=0) - 255) <= 3)
    assert np.array_equal(probs.argmax(axis=0)[classes != 255], classes[classes != 255]) or (
        (probs.argmax(axis=0) == classes).mean() > 0.99  # rounding can tie near-equal classes
    )
    overlay = np.asarray(Image.open(result.overlay_path))
    assert overlay.shape == (220, 300, 3)


def test_nodata_pixels_become_nodata_in_the_output(scene, tmp_path):
    with rasterio.open(scene) as src:
        data = src.read()
    data[:, 20:60, 30:90] = 0
    holed = rewrite(scene, tmp_path / "holed.tif", data, nodata=0)
    result = predict(pointwise_model(), holed, tmp_path / "out.tif")
    with rasterio.open(result.classes_path) as dst:
        out = dst.read(1)
    assert np.all(out[20:60, 30:90] == 255)
    assert np.all(out[100:] != 255)


def test_uint16_and_striped_inputs_give_the_same_map(scene, tmp_path):
    model = pointwise_model()
    with rasterio.open(scene) as src:
        data = src.read()
    wide = rewrite(scene, tmp_path / "wide.tif", data.astype(np.uint16) * 257)  # 0..65535
    striped = rewrite(scene, tmp_path / "striped.tif", tiled=False, blockysize=1)
    expected = whole_image_classes(scene, model)
    for path in (wide, striped):
        with rasterio.open(
            predict(model, path, tmp_path / f"{path.stem}_out.tif").classes_path
        ) as dst:
            assert np.array_equal(dst.read(1), expected)


def test_raster_without_crs_is_predicted_with_one_warning(scene, tmp_path, caplog):
    bare = rewrite(scene, tmp_path / "bare.tif", crs=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, through logging, not also as a warning
        result = predict(pointwise_model(), bare, tmp_path / "out.tif")
    said = [r for r in caplog.records if "has no CRS; the prediction will have none" in r.message]
    assert len(said) == 1 and said[0].levelname == "WARNING"
    with rasterio.open(result.classes_path) as dst:
        assert dst.crs is None and dst.width == 300


def test_wrong_band_count_names_the_file_and_bands(scene, tmp_path):
    with rasterio.open(scene) as src:
        data = src.read()
    four = rewrite(scene, tmp_path / "four.tif", np.concatenate([data, data[:1]]))
    with pytest.raises(DataError, match=r"four\.tif: has 4 band\(s\) but 3 are needed.*--bands"):
        predict(pointwise_model(), four, tmp_path / "out.tif")
    result = predict(pointwise_model(), four, tmp_path / "out.tif", bands=[1, 2, 3])
    assert result.classes_path.is_file()


def test_existing_output_is_refused_unless_overwrite(scene, tmp_path):
    out = tmp_path / "out.tif"
    out.write_bytes(b"keep me")
    with pytest.raises(DataError, match=r"out\.tif: already exists; pass --overwrite"):
        predict(pointwise_model(), scene, out)
    assert out.read_bytes() == b"keep me"
    predict(pointwise_model(), scene, out, overwrite=True)
    with rasterio.open(out) as dst:
        assert dst.width == 300


class FailsLater(nn.Module):
    """Real convolution that raises on its third batch, as a crashing model would."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.calls = pointwise_model(), 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("out of memory")
        return self.conv(x)


def test_failed_prediction_leaves_no_file_behind(scene, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(RuntimeError, match="out of memory"):
        predict(FailsLater(), scene, out_dir / "out.tif", batch_size=2, probabilities=True)
    assert list(out_dir.iterdir()) == []


def test_not_a_raster_and_bad_model_output_are_clear_errors(tmp_path, scene):
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(DataError, match=r"notes\.tif: not a raster rasterio can read"):
        predict(pointwise_model(), text, tmp_path / "out.tif")
    with pytest.raises(ConfigError, match="set --patch-px to the training patch size"):
        predict(nn.Conv2d(3, 5, 3), scene, tmp_path / "out.tif")  # no padding: 62 px out
    assert not (tmp_path / "out.tif").exists()
    with pytest.raises(ConfigError, match="--overlap-px 64: choose 0..63"):
        predict(pointwise_model(), scene, tmp_path / "out.tif", overlap_px=64)


@pytest.fixture
def checkpoint(tmp_path, untrained_hq_unet) -> Path:
    """A real HQ-UNet checkpoint (quantum bottleneck on the fast engine), untrained."""

    def sharpen(model: torch.nn.Module) -> None:
        # untrained logits vary ~1e-3 over a patch: sharpen them, so the classes depend on
        # the pixels and a misplaced window shows in the map
        model.head.weight.mul_(1000)
        model.head.bias.zero_()

    return untrained_hq_unet(tmp_path / "run" / "best.pt", MEAN, STD, edit=sharpen)


def test_cli_predicts_from_a_checkpoint_or_its_run_folder(checkpoint, scene, tmp_path, independent):
    out = tmp_path / "classes.tif"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "predict",
            str(checkpoint.parent),
            str(scene),
            "-o",
            str(out),
            "--overlay",
            "--probabilities",
            "--no-progress",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"wrote {out} (300x220 px, 30 tiles" in res.output
    with rasterio.open(out) as dst, rasterio.open(scene) as src:
        assert dst.transform == src.transform and dst.crs == src.crs
        assert dst.tags()["OVERLAP_PX"] == "16"  # patch_px / 4 from the checkpoint's 64
        got = dst.read(1)
        image = src.read()  # (3, 220, 300) uint8
    with rasterio.open(tmp_path / "classes_probs.tif") as dst:
        probs = dst.read()  # (5, 220, 300) uint8, probability x 255
    # pixels only the top-left patch covers (the next ones start at 48) carry that patch's own
    # softmax, from the model run directly on the same window
    model, config = independent.rebuild(checkpoint)
    (own,) = independent.patch_logits(model, config, image, [(0, 0)], 64)  # (5, 64, 64)
    softmax = np.exp(own - own.max(0)) / np.exp(own - own.max(0)).sum(0)
    assert np.abs(probs[:, :48, :48] - np.rint(255 * softmax[:, :48, :48])).max() <= 1
    assert np.array_equal(got[:48, :48], own.argmax(0)[:48, :48])
    assert softmax.std(axis=(1, 2)).max() > 0.05  # the window's content moves the output
    assert (tmp_path / "classes_overlay.png").is_file()

    res = runner.invoke(cli, ["predict", str(checkpoint), str(scene), "-o", str(out)])
    assert res.exit_code == 2
    assert "classes.tif: already exists; pass --overwrite" in res.output

    res = runner.invoke(
        cli,
        ["predict", str(checkpoint), str(scene), "-o", str(tmp_path / "b.tif"), "--bands", "1,2"],
    )
    assert res.exit_code == 2 and "--bands [1, 2]: give exactly 3 band indexes" in res.output


def test_warning_free_on_a_georeferenced_input(scene, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict(pointwise_model(), scene, tmp_path / "out.tif")
