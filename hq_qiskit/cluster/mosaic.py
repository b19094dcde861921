"""A mosaic VRT over many single-band GeoTIFFs, written as XML (no gdalbuildvrt, no osgeo).

rasterio reads VRTs but cannot build them, and GDAL's command-line tools are not always
installed, so the XML is written here: one band whose sources are the files, placed by their
transforms on a grid of the finest pixel size over the union of their bounds. The files must
share a CRS and be north-up; their nodata is kept transparent (ComplexSource NODATA), and the
first file's colour table and data type are the mosaic's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import rasterio

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import DataError

GDAL_TYPES = {"uint8": "Byte", "uint16": "UInt16", "int16": "Int16", "float32": "Float32"}


def mosaic_vrt_xml(paths: Sequence[Path], vrt_path: Path) -> str:
    """The VRT document for ``paths`` (band 1 of each), with paths relative to the VRT."""
    if not paths:
        raise DataError("mosaic: no files to put together")
    infos = []
    for path in paths:
        with rasterio.open(path) as src:
            t = src.transform
            if t.b != 0 or t.d != 0 or t.e >= 0:
                raise DataError(f"{path}: not north-up (rotated transform); no mosaic written")
            infos.append((path, src.crs, t, src.width, src.height, src.dtypes[0], src.nodata))
    with rasterio.open(paths[0]) as src:
        palette = src.colorinterp[0].name == "palette"
        first_colormap = src.colormap(1) if palette else None
    crs = infos[0][1]
    for path, other, *_ in infos[1:]:
        if other != crs:
            raise DataError(
                f"{path}: CRS differs from {infos[0][0].name}'s; a VRT holds one CRS, so no "
                "mosaic was written (reproject the sheets to one CRS first)"
            )
    res_x = min(t.a for _, _, t, *_ in infos)  # metres (CRS units) per pixel, finest
    res_y = min(-t.e for _, _, t, *_ in infos)
    left = min(t.c for _, _, t, *_ in infos)
    top = max(t.f for _, _, t, *_ in infos)
    right = max(t.c + w * t.a for _, _, t, w, *_ in infos)
    bottom = min(t.f + h * t.e for _, _, t, _, h, *_ in infos)
    width, height = round((right - left) / res_x), round((top - bottom) / res_y)
    dtype, nodata = infos[0][5], infos[0][6]
    gdal_type = GDAL_TYPES.get(dtype)
    if gdal_type is None:
        raise DataError(f"{infos[0][0]}: data type {dtype} not supported in the mosaic")
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        f"  <SRS>{escape(crs.to_wkt())}</SRS>" if crs else "",
        f"  <GeoTransform>{left!r}, {res_x!r}, 0.0, {top!r}, 0.0, {-res_y!r}</GeoTransform>",
        f'  <VRTRasterBand dataType="{gdal_type}" band="1">',
    ]
    if nodata is not None:
        lines.append(f"    <NoDataValue>{nodata:g}</NoDataValue>")
    if first_colormap:
        lines.append("    <ColorInterp>Palette</ColorInterp>")
        lines.append("    <ColorTable>")
        for i in range(max(first_colormap) + 1):
            c1, c2, c3, c4 = first_colormap.get(i, (0, 0, 0, 0))
            lines.append(f'      <Entry c1="{c1}" c2="{c2}" c3="{c3}" c4="{c4}"/>')
        lines.append("    </ColorTable>")
    for path, _, t, w, h, _, nd in infos:
        rel = os.path.relpath(Path(path).resolve(), Path(vrt_path).resolve().parent)
        x_off, y_off = (t.c - left) / res_x, (top - t.f) / res_y  # pixels of the mosaic
        x_size, y_size = w * t.a / res_x, h * -t.e / res_y
        lines += [
            "    <ComplexSource>",
            f'      <SourceFilename relativeToVRT="1">{escape(rel)}</SourceFilename>',
            "      <SourceBand>1</SourceBand>",
            f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>',
            f'      <DstRect xOff="{x_off:.6f}" yOff="{y_off:.6f}" xSize="{x_size:.6f}" '
            f'ySize="{y_size:.6f}"/>',
        ]
        if nd is not None:
            lines.append(f"      <NODATA>{nd:g}</NODATA>")
        lines.append("    </ComplexSource>")
    lines += ["  </VRTRasterBand>", "</VRTDataset>"]
    return "\n".join(line for line in lines if line) + "\n"


def write_mosaic_vrt(paths: Sequence[Path], vrt_path: Path) -> Path:
    """Write the mosaic VRT of ``paths`` to ``vrt_path`` atomically; returns ``vrt_path``."""
    return atomic_write(vrt_path, mosaic_vrt_xml(paths, vrt_path))
