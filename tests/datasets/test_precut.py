"""Pre-cutting LandCover.ai to lossless PNG: same ids, pixels and masks as reading by window."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import SPLITS, open_tiles
from hq_qiskit.datasets.precut import precut_landcoverai
from hq_qiskit.errors import DataError

SHEET = "N-33-96-D-d-1-1"


def test_precut_tiles_equal_the_windowed_tiles(fixture_copy, tmp_path):
    src = fixture_copy("landcoverai")
    dst = tmp_path / "tiles"
    assert precut_landcoverai(src, dst, progress=False) == 4  # k = 0, 1, 3, 4 of 1100x1100
    written = sorted(p.name for p in (dst / "output").iterdir())
    assert written == sorted(f"{SHEET}_{k}{s}.png" for k in (0, 1, 3, 4) for s in ("", "_m"))
    with Image.open(dst / "output" / f"{SHEET}_3.png") as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (512, 512))
    for split in SPLITS:
        cut, sheet = open_tiles(dst, split), open_tiles(src, split)
        assert type(cut).__name__ == "PngTiles" and type(sheet).__name__ == "RasterTiles"
        assert cut.ids == sheet.ids
        for a, b in zip(cut, sheet, strict=True):
            assert np.array_equal(a["image"].numpy(), b["image"].numpy())
            assert np.array_equal(a["mask"].numpy(), b["mask"].numpy())


def test_precut_refuses_a_non_empty_destination_unless_overwrite(fixture_copy, tmp_path):
    src = fixture_copy("landcoverai")
    dst = tmp_path / "tiles"
    dst.mkdir()
    (dst / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty; pass --overwrite"):
        precut_landcoverai(src, dst, progress=False)
    assert precut_landcoverai(src, dst, overwrite=True, progress=False) == 4
    assert (dst / "notes.txt").read_text() == "keep me"
    assert open_tiles(dst, "train").ids == [f"{SHEET}_0", f"{SHEET}_3"]


def test_cli_precut(fixture_copy, tmp_path):
    src = fixture_copy("landcoverai")
    dst = tmp_path / "tiles"
    runner = CliRunner()
    result = runner.invoke(cli, ["precut", str(src), str(dst), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"wrote 4 tiles to {dst / 'output'}" in result.output
    assert open_tiles(dst, "val").ids == [f"{SHEET}_1"]

    again = runner.invoke(cli, ["precut", str(src), str(dst)])
    assert again.exit_code == 2
    assert f"Error: {dst}: folder exists and is not empty; pass --overwrite" in again.output
    assert runner.invoke(cli, ["precut", str(src), str(dst), "--overwrite"]).exit_code == 0

    not_lcai = tmp_path / "photos"
    not_lcai.mkdir()
    bad = runner.invoke(cli, ["precut", str(not_lcai), str(tmp_path / "new")])
    assert bad.exit_code == 2
    assert f"Error: {not_lcai}: not a LandCover.ai tree (needs images/*.tif" in bad.output
    assert not (tmp_path / "new").exists()
