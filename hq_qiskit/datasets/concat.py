"""Several labelled folders as one training set: ``open_folders([loveda, dubai])``.

Each folder is opened by ``open_labelled`` with its own class map (its layout's default, or one
given per folder), so all parts share the project's classes; mixing folders whose class names
differ is refused. Items gain the folder's ``domain``, and ids and groups are prefixed with it
(``loveda_rural_24:3_2``, group ``loveda_rural_24:3``; ``dubai_aerial_63:tile_1``), so two
folders never share an id or a group. ``ConcatTiles`` offers what the samplers and the
evaluation read from ``Tiles`` (``arrays``, ``patch``, ``classes``, ``tile_px``,
``ignore_index``, ``ids``, ``refs``), plus ``groups``, ``domains`` and ``subset`` for folds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from hq_qiskit.datasets.classes import IGNORE_INDEX
from hq_qiskit.datasets.folders import ALL, open_labelled
from hq_qiskit.datasets.tiles import TILE_PX, TileRef, Tiles
from hq_qiskit.errors import DataError


class ConcatTiles(Dataset):
    """Tiles of several folders (domains) as one dataset, item i a dict.

    Items: ``{"image": uint8 (3, T, T), "mask": int64 (T, T), "id": str, "group": str,
    "domain": str}``, T = 512; id and group are ``<domain>:<the part's id or group>``.

    Args:
        parts: (domain name, tiles) per folder; names unique, classes equal.
        index: (part, tile) of each item, in order; default every tile of every part.
    """

    ignore_index = IGNORE_INDEX
    tile_px = TILE_PX

    def __init__(
        self, parts: Sequence[tuple[str, Tiles]], index: Sequence[tuple[int, int]] | None = None
    ) -> None:
        if not parts:
            raise DataError("no data folders given; give at least one folder")
        names = [name for name, _ in parts]
        if len(set(names)) != len(names):
            raise DataError(f"domain names {names}: give each folder its own name")
        classes = list(parts[0][1].classes)
        for name, tiles in parts:
            if list(tiles.classes) != classes:
                raise DataError(
                    f"{name}: classes {list(tiles.classes)} differ from {parts[0][0]}'s {classes};"
                    " give each folder a class map to the same classes"
                )
        self.parts = list(parts)
        self.classes = classes
        every = [(p, i) for p, (_, t) in enumerate(parts) for i in range(len(t))]
        self.index = list(index) if index is not None else every

    def __len__(self) -> int:
        return len(self.index)

    def _at(self, i: int) -> tuple[str, Tiles, int]:
        part, j = self.index[i]
        name, tiles = self.parts[part]
        return name, tiles, j

    @property
    def domains(self) -> list[str]:
        """Each tile's domain (folder name), in tile order."""
        return [self.parts[p][0] for p, _ in self.index]

    def ref(self, i: int) -> TileRef:
        """Tile i's ``TileRef`` with id and group prefixed by its domain."""
        name, tiles, j = self._at(i)
        ref = tiles.refs[j]
        return dataclasses.replace(
            ref, id=f"{name}:{ref.id}", group=f"{name}:{ref.group or ref.id}"
        )

    @property
    def refs(self) -> list[TileRef]:
        """Each tile's ``TileRef`` with id and group prefixed by its domain."""
        return [self.ref(i) for i in range(len(self))]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.refs]

    @property
    def groups(self) -> list[str]:
        """Each tile's group ``<domain>:<image or region>``, the unit folds keep whole."""
        return [r.group for r in self.refs]

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Tile i: image uint8 (3, T, T) and mask uint8 (T, T) in classes or 255."""
        _, tiles, j = self._at(i)
        return tiles.arrays(j)

    def patch(self, i: int, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``size``-px square of tile i at (``top``, ``left``), as ``Tiles.patch``."""
        _, tiles, j = self._at(i)
        return tiles.patch(j, top, left, size)

    def subset(self, indices: Sequence[int] | np.ndarray) -> ConcatTiles:
        """The tiles at ``indices`` (e.g. one fold of ``group_kfold``), same parts."""
        return ConcatTiles(self.parts, [self.index[int(i)] for i in indices])

    def __getitem__(self, i: int) -> dict:
        image, mask = self.arrays(i)
        ref = self.ref(i)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image)),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "id": ref.id,
            "group": ref.group,
            "domain": self.parts[self.index[i][0]][0],
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}: {len(t)}" for n, t in self.parts)
        return f"ConcatTiles({len(self)} tiles of {self.tile_px} px from {counts}; {self.classes})"


def domain_names(paths: Sequence[Path]) -> list[str]:
    """A name per folder: its own name, with ``-2``, ``-3``... when two folders share one."""
    names: list[str] = []
    for path in paths:
        base = Path(path).resolve().name or "data"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def open_folders(
    paths: Sequence[Path | str],
    split: str = ALL,
    *,
    class_maps: Sequence[Mapping[int, int] | None] | None = None,
    classes: Sequence[str] | None = None,
) -> ConcatTiles:
    """Open several labelled folders (any layouts of ``open_labelled``) as one dataset.

    Args:
        paths: the folders, e.g. ``[".../loveda_rural_24", ".../dubai_aerial_63"]``.
        split: the split read from every folder ("all" by default).
        class_maps: one map per folder (None: that layout's default map to LandCover.ai).
        classes: class names shared by every folder; default LandCover.ai's five.

    Returns:
        ConcatTiles with one part per folder, named by ``domain_names``.
    """
    if class_maps is not None and len(class_maps) != len(paths):
        raise DataError(
            f"class maps: {len(class_maps)} given for {len(paths)} folders; give one per folder"
        )
    maps = list(class_maps) if class_maps is not None else [None] * len(paths)
    names = domain_names([Path(p) for p in paths])
    parts = [
        (name, open_labelled(path, split, class_map=cmap, classes=classes))
        for name, path, cmap in zip(names, paths, maps, strict=True)
    ]
    return ConcatTiles(parts)
