"""``hq-qiskit predict`` on many sheets: a local Dask cluster of 2 worker processes, outputs
georeferenced as their inputs, a mosaic VRT GDAL reads, a broken sheet reported by name, and one
clear line (nothing written) for each kind of bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import Affine

from hq_qiskit.cli.main import cli
from hq_qiskit.cluster.mosaic import mosaic_vrt_xml
from hq_qiskit.cluster.tasks import run_tasks
from hq_qiskit.errors import DataError

SCENE = Path(__file__).resolve().parents[1] / "data" / "predict" / "scene.tif"  # 300 x 220 px
MEAN, STD = [90.0, 95.0, 85.0], [45.0, 40.0, 42.0]


def write_sheet(path: Path, shift_px: int = 0, count: int = 3, **changes) -> Path:
    """The scene, moved ``shift_px`` pixels east, with ``count`` bands."""
    with rasterio.open(SCENE) as src:
        profile, data = src.profile, src.read()
    t = profile["transform"]
    profile.update(transform=Affine(t.a, 0, t.c + shift_px * t.a, 0, t.e, t.f), **changes)
    data = np.concatenate([data] * 2)[:count]
    profile["count"] = count
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture(scope="module")
def sheets(tmp_path_factory, untrained_hq_unet) -> tuple[Path, Path]:
    """(checkpoint, folder with sheet0..2.tif side by side and broken.tif)."""
    base = tmp_path_factory.mktemp("sheets")
    untrained_hq_unet(base / "run" / "best.pt", MEAN, STD)
    (base / "in").mkdir()
    for i in range(3):
        write_sheet(base / "in" / f"sheet{i}.tif", shift_px=300 * i)
    # a readable header over missing pixel data: fails only when a worker reads it
    broken = write_sheet(base / "broken.tif", tiled=False, compress=None)
    os.truncate(broken, broken.stat().st_size // 2)
    return base / "run" / "best.pt", base


def predict(*args: str):
    return CliRunner().invoke(cli, ["predict", *args])


def test_many_sheets_on_two_workers_with_a_mosaic_and_the_broken_one_named(sheets, tmp_path):
    ckpt, base = sheets
    out = tmp_path / "maps"
    pattern, broken = str(base / "in" / "sheet*.tif"), str(base / "broken.tif")
    result = predict(str(ckpt), pattern, broken, "-o", str(out), "--workers", "2")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert "predicting 4 sheets on a local cluster, 2 worker processes" in lines[0]
    assert any("] sheet1.tif: 30 tiles in " in line for line in lines)
    assert any("broken.tif: FAILED after 2 tries" in line for line in lines)
    failed = next(line for line in lines if "broken.tif: FAILED" in line)  # its real cause
    assert "damaged or truncated raster, reading rows" in failed
    assert "See previous exception" not in result.output
    assert f"wrote 3 of 4 sheets to {out}" in result.output
    assert lines[-1] == "Error: 1 of 4 sheets failed twice: broken.tif (see above)"
    assert sorted(p.name for p in out.iterdir()) == [
        "mosaic.vrt",
        "sheet0.tif",
        "sheet1.tif",
        "sheet2.tif",
    ]  # no temp file of the broken sheet
    parts = []
    for i in range(3):
        with (
            rasterio.open(out / f"sheet{i}.tif") as dst,
            rasterio.open(base / "in" / f"sheet{i}.tif") as src,
        ):
            assert (dst.crs, dst.transform, dst.shape) == (src.crs, src.transform, src.shape)
            parts.append(dst.read(1))
    with rasterio.open(out / "mosaic.vrt") as vrt, rasterio.open(out / "sheet0.tif") as first:
        assert vrt.crs == first.crs and vrt.transform == first.transform
        assert vrt.shape == (220, 900) and vrt.nodata == 255
        assert np.array_equal(vrt.read(1), np.concatenate(parts, axis=1))
        assert vrt.colormap(1)[1] == first.colormap(1)[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "0"], "Error: --workers 0: give at least 1 worker process"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "Error: --workers and "),
    ],
)
def test_worker_options_refused_before_anything_is_written(sheets, tmp_path, extra, message):
    ckpt, base = sheets
    out = tmp_path / "maps"
    result = predict(str(ckpt), str(base / "in" / "*.tif"), "-o", str(out), *extra)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(message)
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_line_after_a_short_wait(sheets, tmp_path):
    ckpt, base = sheets
    out = tmp_path / "maps"
    address = "tcp://127.0.0.1:9"  # discard port: nothing listens
    result = predict(str(ckpt), str(base / "in" / "*.tif"), "-o", str(out), "--scheduler", address)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"Error: --scheduler {address}: no Dask scheduler answered within 5 s (OSError); start "
        "one (dask scheduler) and its workers, or drop --scheduler to use a local cluster of "
        "--workers processes"
    ]
    assert not out.exists()


def test_bad_inputs_are_one_line_each_and_write_nothing(sheets, tmp_path):
    ckpt, base = sheets
    four = write_sheet(tmp_path / "four.tif", count=4)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    sheet0 = str(base / "in" / "sheet0.tif")
    cases = [
        (
            [sheet0, str(four), "-o", str(tmp_path / "a")],
            "Error: sheets with different band counts (3 bands: sheet0.tif; 4 bands: four.tif); "
            "predict each kind in its own call",
        ),
        (
            [sheet0, str(base / "in" / "sheet1.tif"), "-o", str(busy)],
            f"Error: -o {busy}: folder exists and is not empty; pass --resume to predict only "
            "the sheets missing there, --overwrite to replace its outputs, or choose a new folder",
        ),
        (
            [str(tmp_path / "none*.tif"), "-o", str(tmp_path / "b")],
            f"Error: {tmp_path / 'none*.tif'}: no file matches this pattern",
        ),
        (
            [str(four), str(four.with_name("x.tif")), "-o", str(tmp_path / "c")],
            f"Error: {four.with_name('x.tif')}: no such file",
        ),
    ]
    for args, line in cases:
        result = predict(str(ckpt), *args)
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [line]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "four.tif"]
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def test_mosaic_refuses_sheets_in_two_crs(tmp_path):
    a = write_sheet(tmp_path / "a.tif")
    b = write_sheet(tmp_path / "b.tif", crs="EPSG:2180")
    with pytest.raises(DataError, match="b.tif: CRS differs from a.tif's"):
        mosaic_vrt_xml([a, b], tmp_path / "m.vrt")


def _flaky(name: str, marks: str) -> str:
    """Fails on its first try for each name (a marker file remembers), then succeeds."""
    mark = Path(marks) / name
    if not mark.exists():
        mark.write_text("tried")
        raise RuntimeError(f"{name}: first try fails")
    return name.upper()


def _broken(name: str) -> str:
    raise ValueError(f"{name} is broken")


def test_a_failed_task_is_retried_once_and_a_twice_failed_one_reported(tmp_path):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        seen = []
        got = run_tasks(
            client,
            _flaky,
            [(n, (n, str(tmp_path))) for n in ("a", "b")],
            on_done=lambda name, result, error: seen.append((name, result, error)),
        )
        assert got.results == {"a": "A", "b": "B"} and not got.failures
        assert sorted(seen) == [("a", "A", None), ("b", "B", None)]
        got = run_tasks(client, _broken, [("x", ("x",)), ("y", ("y",))])
        assert got.failures == {"x": "ValueError: x is broken", "y": "ValueError: y is broken"}


def test_one_input_keeps_the_single_file_output(sheets, tmp_path):
    ckpt, base = sheets
    sheet = Path(shutil.copy(base / "in" / "sheet0.tif", tmp_path / "one.tif"))
    out = tmp_path / "one_classes.tif"
    result = predict(str(ckpt), str(sheet), "-o", str(out), "--no-progress", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (300x220 px, 30 tiles")


def test_resume_predicts_only_the_missing_sheets_and_clears_a_killed_runs_temporary(
    sheets, tmp_path
):
    """Before: a killed many-sheet run could only be redone whole (the folder was refused)."""
    import subprocess
    import sys

    from hq_qiskit import atomic

    ckpt, base = sheets
    out = tmp_path / "maps"
    pattern = str(base / "in" / "sheet*.tif")
    first = predict(str(ckpt), pattern, "-o", str(out), "--workers", "1")
    assert first.exit_code == 0, first.output
    # a killed run: sheet1 never renamed into place, its temporary left by a dead process
    (out / "sheet1.tif").unlink()
    (out / "mosaic.vrt").unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = out / f".sheet1.tif.{atomic._HOST}-{dead}-0000abcd.tmp.tif"
    stale.write_bytes(b"half a sheet")
    before = {n: (out / n).stat().st_mtime_ns for n in ("sheet0.tif", "sheet2.tif")}

    again = predict(str(ckpt), pattern, "-o", str(out), "--workers", "1")
    assert again.exit_code == 2
    assert again.output.splitlines()[-1] == (
        f"Error: -o {out}: folder exists and is not empty; pass --resume to predict only the "
        "sheets missing there, --overwrite to replace its outputs, or choose a new folder"
    )
    resumed = predict(str(ckpt), pattern, "-o", str(out), "--workers", "1", "--resume")
    assert resumed.exit_code == 0, resumed.output
    lines = resumed.output.splitlines()
    assert lines[0] == f"--resume: 2 of 3 sheets already complete in {out}"
    assert "predicting 1 sheets on a local cluster" in lines[1]
    assert any("] sheet1.tif: 30 tiles in " in line for line in lines)
    assert any(line.startswith(f"wrote 1 of 3 sheets to {out}, 2 kept from before in ")
               for line in lines)  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "mosaic.vrt",
        "sheet0.tif",
        "sheet1.tif",
        "sheet2.tif",
    ]  # the stale temporary is gone
    assert {n: (out / n).stat().st_mtime_ns for n in before} == before  # not redone
    with rasterio.open(out / "mosaic.vrt") as vrt:
        assert vrt.shape == (220, 900)
    result = CliRunner().invoke(
        cli, ["predict", str(ckpt), str(SCENE), "-o", str(tmp_path / "a.tif"), "--resume"]
    )
    assert result.exit_code == 2
    assert result.output == (
        "Error: --resume: continues a many-sheet prediction (several inputs or a pattern); "
        "for one input run again without it\n"
    )
