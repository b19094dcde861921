"""Write the held-out LoveDA folder of runs 1-8 (docs/science.md): the images of
../shared/data/loveda_rural_24 that the built-in sample did NOT use before issue 26, as a flat
LoveDA folder (symlinks + test.txt) for ``--eval-data``.

Since issue 26 the built-in sample holds all 24 images and settings are scored by
cross-validation (``hq-qiskit crossval``); this script keeps the earlier runs reproducible. It
reads the sample as it was (``OLD_SAMPLE``: 12 training images, val 6_2 and 9_3, test 11_3 and
19_2), so a model trained on today's sample must not be scored on its output: it trained on
those images.

    python bench/loveda_heldout.py ../shared/data/loveda_rural_24 /tmp/loveda-heldout [N]
    python bench/loveda_heldout.py ../shared/data/loveda_rural_24 /tmp/loveda-unshipped --unshipped

N (default: all) keeps the first N unused images (4 tiles of 512 px each). Whole images are held
out: the sample's images (train, val and test) are never used, not even their other quadrants.

``--unshipped`` writes the other check set of docs/science.md instead: the quadrants of the
sample's val and test images that the sample does not ship (12 tiles of images 6, 9, 11, 19).
Score it with ``--split test``: ``--split all`` would take every quadrant, shipped ones too.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the built-in sample before issue 26 (commit 680e3fe): split -> tile ids
OLD_TRAIN_IMAGES = (1, 3, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23)
OLD_SAMPLE = {
    "train": [f"{i}_{q}" for i in OLD_TRAIN_IMAGES for q in range(4)],
    "val": ["6_2", "9_3"],
    "test": ["11_3", "19_2"],
}


def sample_ids(*splits: str) -> list[str]:
    """The pre-issue-26 sample's tile ids ("<image>_<quadrant>") of ``splits``."""
    return [tile for split in splits for tile in OLD_SAMPLE[split]]


def write_folder(source: Path, out: Path, stems: list[str], ids: list[str]) -> None:
    """Symlink the images and masks of ``stems`` into ``out`` and list ``ids`` in test.txt."""
    for sub in ("images_png", "masks_png"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            link = out / sub / f"{stem}.png"
            if not link.exists():
                link.symlink_to((source / sub / f"{stem}.png").resolve())
    (out / "test.txt").write_text("\n".join(ids) + "\n")
    print(f"{out}: {len(stems)} images ({', '.join(stems)}), {len(ids)} tiles in test.txt")


def held_out(source: Path, out: Path, limit: int | None) -> None:
    used = {i.rpartition("_")[0] for i in sample_ids("train", "val", "test")}
    stems = sorted(
        (p.stem for p in (source / "images_png").glob("*.png") if p.stem not in used), key=int
    )[:limit]
    write_folder(source, out, stems, [f"{stem}_{k}" for stem in stems for k in range(4)])


def unshipped(source: Path, out: Path) -> None:
    shipped = set(sample_ids("train", "val", "test"))
    stems = sorted({i.rpartition("_")[0] for i in sample_ids("val", "test")}, key=int)
    ids = [f"{stem}_{k}" for stem in stems for k in range(4) if f"{stem}_{k}" not in shipped]
    write_folder(source, out, stems, ids)


if __name__ == "__main__":
    src, dst, rest = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    if rest == ["--unshipped"]:
        unshipped(src, dst)
    else:
        held_out(src, dst, int(rest[0]) if rest else None)
