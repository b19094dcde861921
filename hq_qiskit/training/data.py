"""The data a run trains and validates on: the built-in sample, one folder, or several.

``config.json``'s ``data`` is None (the built-in LoveDA sample), one folder (a string, as runs
have always recorded it) or a list of folders trained on as one set (``datasets.open_folders``:
each folder through its own layout's class map, ids and groups prefixed by the folder's name).
Each of several folders gives its own train and val split; a folder without one is refused in
one line naming the split list to write.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hq_qiskit.datasets import ALL, open_folders, open_tiles
from hq_qiskit.datasets.concat import ConcatTiles
from hq_qiskit.datasets.folds import group_kfold
from hq_qiskit.errors import DataError

Data = str | list[str] | None


def resolved(data: Data) -> Data:
    """``data`` with every folder made absolute (a single folder stays a string)."""
    if isinstance(data, list):
        return [str(Path(p).resolve()) for p in data]
    return str(Path(data).resolve()) if data is not None else None


def also_resolved(train_also: list[str] | None) -> list[str] | None:
    """``train_also`` with every folder made absolute."""
    return None if train_also is None else [str(Path(p).resolve()) for p in train_also]


def describe_data(data: Data) -> str:
    """Where the tiles come from, for the log and error lines."""
    if isinstance(data, list):
        return f"{len(data)} folders ({', '.join(data)})"
    return data or "built-in LoveDA sample"


def has_split(root: Path, split: str) -> bool:
    """True when a folder lists ``split``: ``<root>/<split>.txt`` (every layout's split list)
    or LoveDA's official ``Train``/``Val``/``Test`` folder."""
    return (root / f"{split}.txt").is_file() or (root / split.capitalize()).is_dir()


def open_data(data: Data, split: str, class_map: Mapping[int, int] | None = None) -> Any:
    """The ``split`` tiles of a run's ``data``: ``Tiles`` of one folder (or of the built-in
    sample) with ``class_map``; for several folders a ``ConcatTiles`` of each folder's own
    ``split`` through its layout's map (``class_map`` must then be None); ``split`` "all"
    reads every image/mask pair of every folder.

    Raises:
        DataError: one line naming a folder of several that has no ``split`` list.
    """
    if not isinstance(data, list):
        return open_tiles(data, split, class_map=class_map)
    for folder in data:
        if split != ALL and not has_split(Path(folder), split):
            raise DataError(
                f"--data {folder}: has no {split} split to train on several folders with; "
                f"list its {split} images (or regions) in {Path(folder) / f'{split}.txt'}, "
                "one per line, or leave this folder out"
            )
    return open_folders(data, split)


def open_train_val(
    data: Data,
    class_map: Mapping[int, int] | None,
    folds: int = 0,
    fold: int = 0,
    train_also: list[str] | None = None,
) -> tuple[Any, Any]:
    """A run's training and validation tiles.

    ``folds`` 0: the data's ``train`` and ``val`` splits. ``folds`` K >= 2: every tile of the
    data (``all``) in K folds of whole images or regions (``group_kfold``, assignment seed 0),
    fold ``fold`` validating and the other K-1 training, so the runs of folds 0..K-1 score
    every image once and no image on both sides of a run. ``train_also``: folders whose every
    tile joins the training tiles (a ``ConcatTiles``, each folder through its layout's map).
    """
    if folds == 0:
        train, val = open_data(data, "train", class_map), open_data(data, "val", class_map)
    else:
        tiles = open_data(data, ALL, class_map=class_map)
        train_idx, val_idx = group_kfold(tiles.groups, folds, seed=0)[fold]
        train, val = tiles.subset(train_idx), tiles.subset(val_idx)
    if train_also:
        train = _with_also(data, train, train_also)
    return train, val


def _with_also(data: Data, train: Any, train_also: list[str]) -> ConcatTiles:
    """``train`` and every tile of each ``train_also`` folder, as one ``ConcatTiles``."""
    if isinstance(train, ConcatTiles):
        raise DataError(
            "--train-also works with one --data folder (or the built-in sample); list the "
            "other folders with --train-also too, or give them all as --data"
        )
    name = Path(data).name if isinstance(data, str) else "builtin"
    parts = [(name, train)]
    for folder in train_also:
        also = open_tiles(folder, ALL)
        if len(also) == 0:
            raise DataError(f"--train-also {folder}: no image/mask pairs found there")
        parts.append((f"also-{Path(folder).name}", also))
    return ConcatTiles(parts)


def open_scored(cfg: Any, source: Data, split: str, class_map: Mapping[int, int] | None) -> Any:
    """The tiles a trained run (``cfg``: its ``TrainConfig``) is scored on: ``split`` of
    ``source``, except that a fold run (``cfg.folds``) scored on its own data reads its
    validation fold as ``val`` and refuses any other split of that data, which holds images it
    trained on.

    Raises:
        DataError: a fold run's own data asked for a split other than ``val``.
    """
    if cfg.folds and source == cfg.data:
        if split != "val":
            raise DataError(
                f"--split {split}: this run trained on every fold but fold {cfg.fold} of "
                f"{cfg.folds}, so its data's {split} split holds images it trained on; score "
                "--split val (its own fold) or give another --data"
            )
        return open_train_val(cfg.data, class_map, cfg.folds, cfg.fold)[1]
    return open_data(source, split, class_map=class_map)
