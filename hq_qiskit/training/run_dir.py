"""A run folder: one place for everything a training run writes.

    config.json       resolved TrainConfig (data statistics, class names, seeds, versions)
    metrics.jsonl     one JSON object per completed epoch
    curves.png        loss, mIoU and OA per epoch
    confusion.png     validation confusion matrix of the best checkpoint, with class names
    overlays.png      a few validation tiles: image, truth, prediction
    last.pt, best.pt  checkpoints (last epoch; best validation mIoU)
    report.json       final validation scores and engine-vs-Aer checks
    evaluation.json   written by ``hq-qiskit evaluate``

Every file is written to a temp file in the folder and renamed into place (``os.replace``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from hq_qiskit.atomic import atomic_write, json_text
from hq_qiskit.errors import ConfigError

RUN_FILES = (
    "config.json",
    "metrics.jsonl",
    "curves.png",
    "confusion.png",
    "overlays.png",
    "last.pt",
    "best.pt",
    "report.json",
    "evaluation.json",
)


class RunDir:
    """Paths of a run folder and atomic writers for its text files."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def last(self) -> Path:
        return self.path / "last.pt"

    @property
    def best(self) -> Path:
        return self.path / "best.pt"

    def write_json(self, name: str, obj: Any, *, strict: bool = False) -> Path:
        """Write ``obj`` as indented JSON to ``name`` in the folder, atomically.

        ``strict``: refuse NaN and infinities (``ValueError``), for files other tools parse
        (evaluation files); training records keep NaN for an undefined score.
        """
        text = json_text(obj) if strict else json.dumps(obj, indent=2, allow_nan=True) + "\n"
        atomic_write(self.path / name, text)
        return self.path / name

    def read_json(self, name: str) -> Any:
        path = self.path / name
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: missing; is {self.path} a run folder?") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not valid JSON ({err}); restore or delete it") from None

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Rewrite metrics.jsonl with one line per epoch record, atomically."""
        text = "".join(json.dumps(rec, allow_nan=True) + "\n" for rec in history)
        atomic_write(self.metrics, text)

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line]


def evaluation_name(
    *, data_name: str | None = None, split: str = "val", checkpoint: str = "best.pt",
    ideal: bool = False, engine: str | None = None,
) -> str:  # fmt: skip
    """The file an evaluation writes in the run folder: ``evaluation.json`` for the run's own
    data, val split, best.pt, its own engine, as trained; otherwise one name per setting, so
    scoring another data set, split, checkpoint, engine or noise never replaces an earlier
    result: ``evaluation-<data>-<split>[-last][-<engine>][-ideal].json`` (e.g.
    ``evaluation-test.json``, ``evaluation-qiskit.json``, ``evaluation-heldout-all-ideal.json``).
    """
    parts = [re.sub(r"[^A-Za-z0-9_.]+", "_", data_name)] if data_name else []
    parts += [split] if split != "val" or data_name else []
    parts += ["last"] if checkpoint == "last.pt" else []
    parts += [engine] if engine else []
    parts += ["ideal"] if ideal else []
    return "-".join(["evaluation", *parts]) + ".json"


def next_run_path(root: Path, model: str, backend: str) -> Path:
    """``root/<model>-<backend>-<n>`` with n one past the highest existing counter."""
    stem = f"{model}-{backend}"
    pattern = re.compile(rf"^{re.escape(stem)}-(\d+)$")
    taken = [int(m.group(1)) for p in root.glob(f"{stem}-*") if (m := pattern.match(p.name))]
    return root / f"{stem}-{max(taken, default=-1) + 1}"


def reserve_run_dir(root: Path, model: str, backend: str, tries: int = 1000) -> RunDir:
    """Create the next free ``root/<model>-<backend>-<n>`` and return it.

    The folder is made with create-or-fail (``mkdir`` without ``exist_ok``): when another
    training took the number between the look and the ``mkdir``, the next number is tried, so
    two trainings started together never share a folder and neither is blamed for an --out it
    never gave.
    """
    for _ in range(tries):
        path = next_run_path(Path(root), model, backend)
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        return RunDir(path)
    raise ConfigError(
        f"--runs-dir {root}: no free {model}-{backend}-<n> after {tries} tries; give --out"
    )


def create_run_dir(path: Path, *, overwrite: bool = False) -> RunDir:
    """Make a fresh run folder at ``path``.

    An existing non-empty folder is refused unless ``overwrite``; even then only a folder that
    is a previous run (it has config.json) is cleared, never an arbitrary folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: exists and is not a folder; choose another --out")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"--out {path}: folder exists and is not empty; choose another --out, "
                "continue it with --resume, or replace it with --overwrite"
            )
        if not (path / "config.json").exists():
            raise ConfigError(
                f"--out {path}: not a run folder (no config.json), so --overwrite will not "
                "clear it; choose an empty or new --out"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return RunDir(path)


def open_run_dir(path: Path) -> RunDir:
    """An existing run folder (it must hold config.json), for --resume and evaluate."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"{path}: not a run folder (no config.json); give a folder written by hq-qiskit train"
        )
    return RunDir(path)


def latest_run(root: Path) -> Path:
    """The newest run folder under ``root``: the one whose checkpoint (best.pt or last.pt) was
    written last. Folders without config.json and a checkpoint are not runs and are skipped.

    Raises:
        ConfigError: ``root`` holds no run, naming the fix (train one, or give the folder).
    """
    root = Path(root)
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        ckpts = [folder / n for n in ("best.pt", "last.pt") if (folder / n).is_file()]
        if (folder / "config.json").is_file() and ckpts:
            found.append((max(p.stat().st_mtime_ns for p in ckpts), folder.name, folder))
    if not found:
        raise ConfigError(
            f"no run folder given and no trained run under {root}/; train one first "
            "(hq-qiskit train --backend aer) or give RUN_DIR_OR_CHECKPOINT"
        )
    return max(found)[2]
