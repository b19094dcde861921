"""Is the input read on its real scale? ``--value-range`` against what the pixels hold.

A raster is mapped linearly from its value range onto 0..255 before normalising. A wrong range
gives a confident but meaningless map, so the range is checked before the model runs, against
the file's own band statistics (GDAL's ``STATISTICS_MINIMUM``/``STATISTICS_MAXIMUM`` tags) where
every chosen band has them, else against the first strip read:

    float data          values more than one range width outside the range (0..255 data read
                        as 0..1), or all within its lowest 0.5 % (0..1 data read as 0..255)
    integers but uint8  the same, on the 99.9th percentile of the strip (an explicit range such
                        as 0..3000 for Sentinel-2 may clip a few bright clouds); with the type's
                        default range (uint16 0..65535) also data in its lowest quarter, e.g.
                        12-bit data stored in 16 bits (0..4095), or a declared ``NBITS`` below
                        the type's width
    uint8               left alone (0..255 is its range)

Every refusal is one ``DataError`` line that suggests the range, e.g. ``--value-range 0 4095``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hq_qiskit.errors import DataError

USUAL_TOPS = (1.0, 255.0, 1023.0, 4095.0, 10000.0, 16383.0, 65535.0)


def suggest_range(high: float) -> str:
    """A ``--value-range`` for data whose maximum is ``high``: the smallest usual scale."""
    for top in USUAL_TOPS:
        if high <= top:
            return f"0 {top:g}"
    return f"0 {high:.6g}"


def band_statistics(src, bands: list[int]) -> tuple[float, float] | None:
    """(min, max) over ``bands`` from the file's own statistics tags; None unless every band
    has them."""
    lows, highs = [], []
    for b in bands:
        tags = src.tags(b)
        try:
            lows.append(float(tags["STATISTICS_MINIMUM"]))
            highs.append(float(tags["STATISTICS_MAXIMUM"]))
        except (KeyError, ValueError):
            return None
    return min(lows), max(highs)


def declared_bits(src, bands: list[int]) -> int | None:
    """The ``NBITS`` the file declares for its bands (e.g. 12), None if not declared."""
    bits = set()
    for b in bands:
        value = src.tags(b, ns="IMAGE_STRUCTURE").get("NBITS")
        if value is None or not value.isdigit():
            return None
        bits.add(int(value))
    return max(bits) if bits else None


def _observed(
    raw: np.ndarray, valid: np.ndarray, stats: tuple[float, float] | None
) -> tuple[float, float, str] | None:
    """(low, high, where from) of the data: the file's statistics, else the strip (the
    99.9th percentile for integers)."""
    if stats is not None:
        return stats[0], stats[1], "by the file's band statistics"
    values = raw[:, valid]  # (C, n) valid pixels only
    if values.size == 0:
        return None
    high = float(values.max())
    if raw.dtype.kind in "ui":
        high = float(np.percentile(values, 99.9))
    return float(values.min()), high, "in the first rows"


def check_value_range(
    raw: np.ndarray,
    valid: np.ndarray,
    value_range: tuple[float, float],
    path: Path | str,
    assumed: bool = False,
    stats: tuple[float, float] | None = None,
    bits: int | None = None,
) -> None:
    """Refuse pixels (C, h, W) whose scale clearly differs from ``value_range``.

    Args:
        raw: the first strip, in the input's dtype.
        valid: (h, W) True where the pixel is data.
        value_range: the range the pixels will be mapped from onto 0..255.
        path: the input, for the message.
        assumed: ``value_range`` is the dtype's default, not given by the user.
        stats: (min, max) from the file's band statistics (``band_statistics``), if any.
        bits: the ``NBITS`` the file declares (``declared_bits``), if any.
    """
    kind = raw.dtype.kind
    if kind not in "uif" or raw.dtype == np.uint8:
        return
    lo, hi = value_range
    given = f"--value-range {lo:g} {hi:g}"
    given = f"the {raw.dtype} default {given}" if assumed else given
    fix = "give the data's real range, e.g. --value-range"
    if assumed and kind in "ui" and bits is not None and 2**bits - 1 < hi:
        raise DataError(
            f"{path}: declares {bits}-bit pixels (NBITS={bits}) but would be read with {given}; "
            f"{fix} 0 {2**bits - 1}"
        )
    seen = _observed(raw, valid, stats)
    if seen is None:
        return
    vmin, vmax, where = seen
    width = hi - lo
    span = f"{vmin:.6g}..{vmax:.6g} {where}"
    if vmax > hi + width or vmin < lo - width:
        hint = suggest_range(vmax) if vmin >= 0 else f"{vmin:.6g} {vmax:.6g}"
        raise DataError(f"{path}: pixels span {span}, far outside {given}; {fix} {hint}")
    if vmax > vmin and vmax < lo + 0.005 * width:
        raise DataError(
            f"{path}: pixels span {span}, within the lowest 0.5 % of {given}; "
            f"{fix} {suggest_range(vmax)}"
        )
    if assumed and kind in "ui" and vmax > vmin and vmax <= lo + 0.25 * width:
        raise DataError(
            f"{path}: pixels span {span}, within the lowest quarter of {given} (e.g. 12-bit "
            f"data stored in 16 bits); {fix} {suggest_range(vmax)}"
        )
