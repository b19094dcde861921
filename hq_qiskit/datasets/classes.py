"""Class names, display colours and the label maps that bring other datasets to LandCover.ai.

Every dataset here yields masks in LandCover.ai's five classes (0..4) plus 255 = ignore. The
maps below are the defaults ``open_tiles`` applies to each layout; pass ``class_map`` to replace
them. A map sends a raw mask value to a class index or to ``IGNORE_INDEX``; raw 255 means ignore
unless the map says otherwise; any other raw value the map does not name is an error, not a
silent ignore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hq_qiskit.errors import DataError

IGNORE_INDEX = 255

LANDCOVERAI_CLASSES = ["background", "building", "woodland", "water", "road"]

# RGB colours for maps and overlays, one per class (LandCover.ai's preview colours).
LANDCOVERAI_COLOURS = [(0, 0, 0), (220, 40, 40), (30, 150, 40), (40, 90, 230), (240, 220, 40)]

LANDCOVERAI_IDENTITY = {k: k for k in range(len(LANDCOVERAI_CLASSES))}

# LoveDA: 0 no-data, 1 background, 2 building, 3 road, 4 water, 5 barren, 6 forest, 7 agriculture.
LOVEDA_TO_LANDCOVERAI = {0: IGNORE_INDEX, 1: 0, 2: 1, 3: 4, 4: 3, 5: 0, 6: 2, 7: 0}

# OpenEarthMap: 0 unknown, 1 bareland, 2 rangeland, 3 developed space, 4 road, 5 tree,
# 6 water, 7 agriculture land, 8 building.
OPENEARTHMAP_TO_LANDCOVERAI = {0: IGNORE_INDEX, 1: 0, 2: 0, 3: 0, 4: 4, 5: 2, 6: 3, 7: 0, 8: 1}


def class_lut(class_map: Mapping[int, int], n_classes: int) -> np.ndarray:
    """Build a 256-entry lookup table from a class map; unmapped entries hold -1 (255 -> 255).

    Args:
        class_map: raw mask value (0..255) -> class index (0..n_classes-1) or 255 (ignore).
        n_classes: how many classes the head predicts.

    Returns:
        int16 array (256,).
    """
    lut = np.full(256, -1, dtype=np.int16)
    lut[IGNORE_INDEX] = IGNORE_INDEX
    for raw, cls in class_map.items():
        if not 0 <= int(raw) <= 255:
            raise DataError(f"class_map: raw value {raw} is outside 0..255; masks are uint8")
        if not (0 <= int(cls) < n_classes or int(cls) == IGNORE_INDEX):
            raise DataError(
                f"class_map: {raw} -> {cls} is not a class index 0..{n_classes - 1} "
                f"nor {IGNORE_INDEX} (ignore); fix the map"
            )
        lut[int(raw)] = int(cls)
    return lut


def apply_lut(mask: np.ndarray, lut: np.ndarray, where: str) -> np.ndarray:
    """Map a raw uint8 mask (H, W) through ``lut``; returns uint8 (H, W) classes or 255.

    Raises DataError naming ``where`` when the mask holds a value the map does not name.
    """
    out = lut[mask]
    if (out < 0).any():
        bad = sorted(set(np.unique(mask[out < 0]).tolist()))
        known = np.flatnonzero(lut >= 0).tolist()
        raise DataError(
            f"{where}: mask values {bad} are not in the layout's class map (it maps {known}); "
            "check that the masks belong to this layout, or map every raw value: "
            '--class-map FILE (JSON {"raw": class}) for train and evaluate, '
            f"open_tiles(..., class_map={{raw: class}}) in Python ({IGNORE_INDEX} ignores a value)"
        )
    return out.astype(np.uint8)


def read_class_map(path: Path | str) -> dict[int, int]:
    """A class map from a JSON file ``{"raw mask value": class index or 255, ...}``.

    Raises:
        DataError: naming the file, for unreadable JSON or entries that are not integers.
    """
    path = Path(path)
    example = '{"0": 255, "1": 0, "2": 1}'
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"--class-map {path}: no such file; give a JSON file like {example}"
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"--class-map {path}: not JSON ({err}); write it like {example}") from None
    if not isinstance(raw, dict) or not raw:
        raise DataError(f"--class-map {path}: give an object of raw value -> class, e.g. {example}")
    try:
        return {int(k): int(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise DataError(
            f"--class-map {path}: keys and values must be integers, e.g. {example}"
        ) from None


def class_colours(n_classes: int) -> list[tuple[int, int, int]]:
    """RGB colours for ``n_classes`` classes: LandCover.ai's first, then a fixed palette."""
    colours = list(LANDCOVERAI_COLOURS[:n_classes])
    rng = np.random.default_rng(0)
    while len(colours) < n_classes:
        colours.append(tuple(int(v) for v in rng.integers(0, 256, 3)))
    return colours


def check_classes(classes: Sequence[str]) -> list[str]:
    """Return ``classes`` as a list, refusing an empty list or duplicate names."""
    names = list(classes)
    if not names or len(set(names)) != len(names):
        raise DataError(f"classes {names!r}: give one unique name per class")
    return names
