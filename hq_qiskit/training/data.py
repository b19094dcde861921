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
from hq_qiskit.errors import DataError

Data = str | list[str] | None


def resolved(data: Data) -> Data:
    """``data`` with every folder made absolute (a single folder stays a string)."""
    if isinstance(data, list):
        return [str(Path(p).resolve()) for p in data]
    return str(Path(data).resolve()) if data is not None else None


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
