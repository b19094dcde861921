"""Write a held-out LoveDA folder: the images of ../shared/data/loveda_rural_24 that the built-in
sample does not use, as a flat LoveDA folder (symlinks + test.txt) for ``--eval-data``.

    python bench/loveda_heldout.py ../shared/data/loveda_rural_24 /tmp/loveda-heldout [N]

N (default: all) keeps the first N unused images (4 tiles of 512 px each). Whole images are held
out: the sample's images (train, val and test) are never used, not even their other quadrants.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hq_qiskit.datasets import builtin_data_dir


def main(source: Path, out: Path, limit: int | None) -> None:
    used = {
        line.strip().rpartition("_")[0]
        for split in ("train", "val", "test")
        for line in (builtin_data_dir() / f"{split}.txt").read_text().splitlines()
        if line.strip()
    }
    stems = sorted(
        (p.stem for p in (source / "images_png").glob("*.png") if p.stem not in used), key=int
    )[:limit]
    for sub in ("images_png", "masks_png"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            link = out / sub / f"{stem}.png"
            if not link.exists():
                link.symlink_to((source / sub / f"{stem}.png").resolve())
    ids = [f"{stem}_{k}" for stem in stems for k in range(4)]
    (out / "test.txt").write_text("\n".join(ids) + "\n")
    print(f"{out}: {len(stems)} held-out images ({', '.join(stems)}), {len(ids)} tiles in test.txt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
