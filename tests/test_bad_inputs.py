"""A catalogue of hostile inputs (issue 29): full and read-only disks, kills, integer imagery,
outputs that must not be replaced. Each asserts the exact one-line message, exit code 2 on the
command line, and that nothing was written or lost.

Full and read-only disks are real: a 256 KiB tmpfs mounted for the test (root only). Where the
test cannot mount it is skipped with the reason; under CI=true as root it must not skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner

from hq_qiskit.atomic import atomic_write
from hq_qiskit.cli.main import cli
from hq_qiskit.errors import DataError, OutputError
from hq_qiskit.predict import predict_raster
from hq_qiskit.training.checkpoint import load_checkpoint, save_checkpoint

HERE = Path(__file__).resolve().parent
SCENE = HERE / "data" / "predict" / "scene.tif"
MEAN, STD = [90.0, 95.0, 85.0], [45.0, 40.0, 42.0]
GOOD = b"the user's earlier good output " * 128  # 3.9 KiB


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _mount_or_skip(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    reason = ""
    if os.geteuid() != 0:
        reason = "needs root to mount a small tmpfs"
    else:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return
        reason = f"mount -t tmpfs failed: {done.stderr.strip()}"
        if under_ci():
            pytest.fail(f"CI=true as root: {reason}", pytrace=False)
    pytest.skip(reason)


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs at tmp_path/disk (``fill`` it to leave little free)."""
    folder = tmp_path / "disk"
    _mount_or_skip(folder, "size=256k")
    try:
        yield folder
    finally:
        _umount(folder)


def fill(folder: Path, left: int) -> None:
    """Leave about ``left`` bytes free on ``folder``'s file system (a hidden filler file)."""
    free = shutil.disk_usage(folder).free
    with open(folder / ".filler", "wb") as f:
        f.write(b"\0" * max(free - left, 0))


@pytest.fixture
def read_only_disk(tmp_path):
    """A tmpfs at tmp_path/ro holding out.tif (GOOD bytes), then remounted read-only."""
    folder = tmp_path / "ro"
    _mount_or_skip(folder, "size=256k")
    try:
        (folder / "out.tif").write_bytes(GOOD)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        _umount(folder)


def pointwise_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Conv2d(3, 5, 1)


def test_full_disk_never_replaces_a_good_geotiff(tiny_disk, tmp_path):
    """Before: GDAL failed at close() without raising, the 0-byte temp replaced out.tif."""
    scene = Path(shutil.copy(SCENE, tmp_path / "scene.tif"))
    out = tiny_disk / "out.tif"
    out.write_bytes(GOOD)
    fill(tiny_disk, 6 * 1024)  # the class map needs about 6.2 KiB
    with pytest.raises(OutputError) as err:
        predict_raster(
            pointwise_model(), scene, out, mean=MEAN, std=STD, patch_px=64, overlap_px=16,
            overwrite=True, progress=False,
        )  # fmt: skip
    message = str(err.value)
    assert message.startswith(f"{out}: could not be written (")  # GDAL error or read-back
    assert message.endswith(
        f"KiB free on {tiny_disk}); free space or write elsewhere; the earlier file is untouched"
    )
    assert "\n" not in message
    assert out.read_bytes() == GOOD
    assert sorted(p.name for p in tiny_disk.iterdir()) == [".filler", "out.tif"]


def test_full_disk_keeps_the_old_checkpoint_and_json(tiny_disk):
    ckpt = tiny_disk / "last.pt"
    save_checkpoint(ckpt, {"config": {"a": 1}, "model": {"w": torch.zeros(4)}})
    before = ckpt.read_bytes()
    (tiny_disk / "report.json").write_text('{"ok": true}')
    fill(tiny_disk, 2 * 1024)
    with pytest.raises(OutputError) as err:
        save_checkpoint(ckpt, {"config": {"a": 2}, "model": {"w": torch.zeros(4096)}})
    assert str(err.value) == (
        f"{ckpt}: the disk is full (no space left on {tiny_disk}); free space or write elsewhere"
    )
    assert ckpt.read_bytes() == before and load_checkpoint(ckpt)["config"] == {"a": 1}
    with pytest.raises(OutputError):
        atomic_write(tiny_disk / "report.json", "x" * 8192)
    assert (tiny_disk / "report.json").read_text() == '{"ok": true}'
    assert sorted(p.name for p in tiny_disk.iterdir()) == [".filler", "last.pt", "report.json"]


def test_read_only_disk_is_one_line_and_cleanup_does_not_hide_it(read_only_disk):
    """Before: the temp could not be created, and its removal raised a second OSError."""
    with pytest.raises(OutputError) as err:
        atomic_write(read_only_disk / "out.tif", b"new")
    assert str(err.value) == (
        f"{read_only_disk / 'out.tif'}: {read_only_disk} is on a read-only file system; "
        "write to another folder"
    )
    assert (read_only_disk / "out.tif").read_bytes() == GOOD


SIGTERM_WRITER = textwrap.dedent(
    """
    import sys, time
    from hq_qiskit.atomic import atomic_write

    def slow(f):
        for _ in range(600):
            f.write(b"x" * 65536)
            f.flush()
            time.sleep(0.01)
        print("wrote all", flush=True)

    print("start", flush=True)
    atomic_write(sys.argv[1], slow)
    """
)


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def _start_slow_writer(target: Path) -> subprocess.Popen:
    """Start SIGTERM_WRITER on ``target``; return once it said "start" and its temporary is in
    the folder (or after 30 s without one)."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_WRITER, str(target)], stdout=subprocess.PIPE, env=env
    )
    assert proc.stdout.readline().strip() == b"start"
    deadline = time.monotonic() + 30
    while not _temps(target.parent) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_sigterm_leaves_no_temporary(tmp_path):
    """Before: SIGTERM killed the writer with its hidden .tmp file left in the folder."""
    target = tmp_path / "big.bin"
    target.write_bytes(GOOD)
    proc = _start_slow_writer(target)
    assert _temps(tmp_path), "the writer never started its temporary"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert _temps(tmp_path) == []
    assert target.read_bytes() == GOOD


def test_stale_temporary_of_a_killed_run_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.tif"
    proc = _start_slow_writer(target)
    proc.kill()  # SIGKILL: no handler runs, the temporary stays
    proc.wait(timeout=30)
    assert len(_temps(tmp_path)) == 1
    atomic_write(target, b"new")
    assert _temps(tmp_path) == [] and target.read_bytes() == b"new"


def _predict_into(folder: Path, tmp_path: Path):
    """``hq-qiskit predict`` of a copy of SCENE into ``folder``/new.tif with a checkpoint
    that does not exist (a check that fails first never reaches it); (output, result)."""
    scene = Path(shutil.copy(SCENE, tmp_path / "scene.tif"))
    out = folder / "new.tif"
    args = ["predict", str(tmp_path / "no.pt"), str(scene), "-o", str(out)]
    return out, CliRunner().invoke(cli, args)


def test_cli_refuses_a_read_only_output_before_any_work(read_only_disk, tmp_path):
    out, result = _predict_into(read_only_disk, tmp_path)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: -o {out}: {read_only_disk} is on a read-only file system; "
        "write to another folder\n"
    )


def test_cli_refuses_a_full_output_disk_before_any_work(tiny_disk, tmp_path):
    out, result = _predict_into(tiny_disk, tmp_path)
    assert result.exit_code == 2, result.output
    free = shutil.disk_usage(tiny_disk).free // 1024
    assert result.output == (
        f"Error: -o {out}: the disk is full ({free} KiB free on {tiny_disk}, 1024 KiB needed "
        "at least); free space or write elsewhere\n"
    )
    assert sorted(p.name for p in tiny_disk.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["train", "--out", "{ro}/run"], "--out"),
        (["train", "--runs-dir", "{ro}/runs"], "--runs-dir"),
        (["export-circuits", "--no-png", "--out", "{ro}/circuits"], "--out"),
        (["report", "--backend", "no-such-entry", "--out", "{ro}/reports"], "--out"),
    ],
)
def test_commands_refuse_a_read_only_location_before_any_work(read_only_disk, args, option):
    """Before: train loaded the data and built the model, then a PermissionError traceback."""
    args = [a.format(ro=read_only_disk) for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    named = args[args.index(option) + 1]
    assert result.output == (
        f"Error: {option} {named}: {read_only_disk} is on a read-only file system; "
        "write to another folder\n"
    )


@pytest.mark.parametrize(
    ("flag", "value", "default"),
    [("--lr", "nan", "lr"), ("--lr", "inf", "lr"), ("--weight-decay", "-inf", "weight_decay")],
)
def test_non_finite_training_numbers_are_refused_before_a_folder_is_made(
    tmp_path, flag, value, default
):
    """Before: --lr nan was a traceback after the run folder was made, blocking a retry."""
    from hq_qiskit.training.config import TrainConfig

    default = f"{getattr(TrainConfig(), default):g}"
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["train", flag, value, "--runs-dir", str(runs)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: {flag} {value}: not a finite number; give a finite value, e.g. {flag} {default}\n"
    )
    assert not runs.exists()


def _reserve_many(root: str) -> list[str]:
    from hq_qiskit.training.run_dir import reserve_run_dir

    return [reserve_run_dir(Path(root), "hq-unet", "aer").path.name for _ in range(25)]


def test_two_trainings_never_share_a_default_run_folder(tmp_path):
    """Before: both looked up the next number, then mkdir(exist_ok=True) shared the folder."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        names = [n for got in pool.map(_reserve_many, [str(tmp_path)] * 2) for n in got]
    assert len(names) == 50 and len(set(names)) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


@pytest.fixture
def ckpt(tmp_path, untrained_hq_unet) -> Path:
    """A real, untrained HQ-UNet checkpoint (fast engine) for the command-line cases."""
    return untrained_hq_unet(tmp_path / "run" / "best.pt", MEAN, STD)


def uint16_copy(path: Path, scale: int, **profile_changes) -> Path:
    """The test scene as a real uint16 GeoTIFF, pixel values x ``scale`` (x16: 12-bit data)."""
    with rasterio.open(SCENE) as src:
        profile, data = src.profile, src.read().astype(np.uint16) * scale
    profile.update(dtype="uint16", **profile_changes)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def test_12_bit_data_in_uint16_is_refused_with_the_range_to_give(tmp_path, ckpt):
    """Before: 0..4080 read as 0..65535, a confident map of one class and exit 0."""
    src = uint16_copy(tmp_path / "twelve.tif", 16)
    with rasterio.open(src) as r:
        first = r.read(window=((0, 64), (0, r.width)))  # the first strip: one 64-px patch row
    high = float(np.percentile(first, 99.9))
    out = tmp_path / "map.tif"
    result = CliRunner().invoke(cli, ["predict", str(ckpt), str(src), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: {src}: pixels span {first.min():.6g}..{high:.6g} in the first rows, within the "
        "lowest quarter of the uint16 default --value-range 0 65535 (e.g. 12-bit data stored "
        "in 16 bits); give the data's real range, e.g. --value-range 0 4095\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "twelve.tif"]
    ok = CliRunner().invoke(
        cli, ["predict", str(ckpt), str(src), "-o", str(out), "--value-range", "0", "4095"]
    )
    assert ok.exit_code == 0, ok.output
    assert out.is_file()


def _refusal(src: Path, out: Path) -> str:
    """The DataError line ``predict_raster`` refuses ``src`` with (64-px patches, 16 overlap)."""
    with pytest.raises(DataError) as err:
        predict_raster(pointwise_model(), src, out, mean=MEAN, std=STD,
                       patch_px=64, overlap_px=16, progress=False)  # fmt: skip
    return str(err.value)


def test_band_statistics_and_declared_bits_come_from_the_file(tmp_path):
    stats = uint16_copy(tmp_path / "stats.tif", 16)
    with rasterio.open(stats, "r+") as dst:
        for b in (1, 2, 3):
            dst.update_tags(b, STATISTICS_MINIMUM="3", STATISTICS_MAXIMUM="4000")
    assert _refusal(stats, tmp_path / "a.tif") == (
        f"{stats}: pixels span 3..4000 by the file's band statistics, within the lowest quarter "
        "of the uint16 default --value-range 0 65535 (e.g. 12-bit data stored in 16 bits); "
        "give the data's real range, e.g. --value-range 0 4095"
    )
    nbits = uint16_copy(tmp_path / "nbits.tif", 16, nbits=12)
    assert _refusal(nbits, tmp_path / "b.tif") == (
        f"{nbits}: declares 12-bit pixels (NBITS=12) but would be read with the uint16 default "
        "--value-range 0 65535; give the data's real range, e.g. --value-range 0 4095"
    )
    assert not (tmp_path / "a.tif").exists() and not (tmp_path / "b.tif").exists()
    signed = tmp_path / "signed.tif"
    with rasterio.open(SCENE) as src:
        profile, data = src.profile, src.read().astype(np.int16) - 300  # all negative
    profile.update(dtype="int16")
    with rasterio.open(signed, "w", **profile) as dst:
        dst.write(data)
    with pytest.raises(DataError, match=r"far outside --value-range 0 255; give the data's"):
        predict_raster(pointwise_model(), signed, tmp_path / "c.tif", mean=MEAN, std=STD,
                       patch_px=64, value_range=(0, 255), progress=False)  # fmt: skip


def test_a_report_for_another_device_does_not_replace_the_first(tmp_path):
    """Before: report --backend ibm_torino --out reports replaced ibm_fez's report."""
    out = tmp_path / "reports"
    out.mkdir()
    first = {s: f"ibm_fez {s}".encode() for s in (".md", ".json", ".png")}
    for suffix, data in first.items():
        (out / f"transpile_report{suffix}").write_bytes(data)
    result = CliRunner().invoke(cli, ["report", "--backend", "ibm_torino", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: --out {out}: holds an earlier transpile report (transpile_report.md); pass "
        "--overwrite to replace it, or give each device its own --out (e.g. --out reports/fez)\n"
    )
    for suffix, data in first.items():
        assert (out / f"transpile_report{suffix}").read_bytes() == data
    assert len(list(out.iterdir())) == 3


def test_output_extension_must_match_the_geotiff_it_holds(tmp_path):
    """Before: -o map.png wrote a GeoTIFF named map.png."""
    out = tmp_path / "map.png"
    result = CliRunner().invoke(
        cli, ["predict", str(tmp_path / "no.pt"), str(SCENE), "-o", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: -o {out}: predict writes a GeoTIFF, so its name must end in .tif; "
        f"e.g. -o {tmp_path / 'map.tif'}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_one_input_with_workers_does_not_turn_the_output_into_a_folder(tmp_path):
    """Before: predict a.tif -o OUT.tif --workers 2 made a folder called OUT.tif."""
    out = tmp_path / "OUT.tif"
    args = ["predict", str(tmp_path / "no.pt"), str(SCENE), "-o", str(out), "--workers", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: -o {out}: --workers predicts into a folder of <sheet>.tif files; for one "
        f"input leave --workers out, or give a folder, e.g. -o {tmp_path / 'OUT'}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_geotiff_is_one_line_naming_the_file(tmp_path, ckpt):
    """Before: a RasterioIOError traceback, 'Read failed. See previous exception'."""
    src = Path(shutil.copy(SCENE, tmp_path / "cut.tif"))
    os.truncate(src, src.stat().st_size // 2)
    out = tmp_path / "map.tif"
    args = ["predict", str(ckpt), str(src), "-o", str(out), "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {src}: damaged or truncated raster, reading rows ")
    assert "TIFFFillTile:Read error at row" in result.output  # GDAL's own reason
    assert result.output.endswith("); re-export or re-download it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.tif", "run"]


def test_png_input_gets_the_tools_no_crs_line_without_rasterios_warning(tmp_path, caplog):
    """Before: rasterio's raw NotGeoreferencedWarning printed beside the tool's own line."""
    import warnings

    from hq_qiskit.datasets import builtin_data_dir

    png = builtin_data_dir() / "images_png" / "11_3.png"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        predict_raster(pointwise_model(), png, tmp_path / "map.tif", mean=MEAN, std=STD,
                       patch_px=64, overlap_px=16, overlay=True, progress=False)  # fmt: skip
    assert [str(w.message) for w in seen] == []
    assert [r.getMessage() for r in caplog.records if "CRS" in r.getMessage()] == [
        f"{png}: has no CRS; the prediction will have none either"
    ]


def test_evaluate_refuses_a_read_only_run_folder_before_scoring(tmp_path):
    """Before: the whole split was scored, then a traceback writing evaluation.json."""
    folder = tmp_path / "ro"
    _mount_or_skip(folder, "size=256k")
    try:
        (folder / "config.json").write_text('{"data": null}')
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        result = CliRunner().invoke(cli, ["evaluate", str(folder), "--device", "cpu"])
        assert result.exit_code == 2, result.output
        assert result.output == (
            f"Error: RUN_DIR {folder / 'evaluation.json'}: {folder} is on a read-only file "
            "system; write to another folder\n"
        )
    finally:
        _umount(folder)
