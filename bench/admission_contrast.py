"""Does the decoder use design A's bottleneck core more than design B's?

    python bench/admission_contrast.py --a A_S0 ... A_S4 --b B_S0 ... B_S4 [--out FILE]

``hq-qiskit admit`` measures, per design, how much mIoU is lost when a core's output is replaced
by its mean. This compares two designs' losses: per seed s (the runs paired by seed, so each
pair saw the same fold and the same patches),

    d_s = [mIoU(core -> mean) - mIoU(as trained)]_A - [the same]_B

and the interval is ``statistics.interval``'s (``statistics.seeds_and_images``): a t over the
seeds' d_s whose standard error adds the image bootstrap's part shared by all seeds (whole
images resampled, the same draw for both designs). Negative: A's decoder leans on its core
more than B's does. Each run is scored from ``last.pt`` on its own validation fold, as ``admit``
scores it (``admission.score_run``).

Used for docs/science.md section 0 (the classical twin against the papers' quantum block).
Writes a JSON report (``--out``, default contrast.json); exit 2 with one line when the two
designs' runs are not paired (other seeds, other tiles, a site one of them lacks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.training.admission import RunScores, score_run
from hq_qiskit.training.run_dir import open_run_dir
from hq_qiskit.training.statistics import group_index, image_draws, scores, seeds_and_images


def _loss(cut: np.ndarray, base: np.ndarray) -> np.ndarray:
    """mIoU change of pooled matrices (S, K, K) -> (S,)."""
    return scores(cut)["miou"] - scores(base)["miou"]


def contrast(
    a: tuple[np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray],
    groups: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Design A's mIoU change minus design B's, paired by seed.

    Args:
        a, b: (cut, base) confusion counts, each (S, T, K, K): per seed and tile, with the core's
            output replaced, and as trained (rows truth).
        groups: (T,) the image index of each tile (the unit resampled).
    Returns:
        estimate, low, high (95 %), per_seed, se, df, images, method.
    """
    per_seed = _loss(a[0].sum(1), a[1].sum(1)) - _loss(b[0].sum(1), b[1].sum(1))  # (S,)
    # the same seed gives both designs the same whole-image draws
    draws_a, draws_b = (image_draws(*x, groups, "miou", n_boot, seed) for x in (a, b))
    if draws_a.shape != draws_b.shape:  # a draw with no pixel of any class in one design
        raise ConfigError("an image draw left one design's mIoU undefined; give more images")
    draws = draws_a - draws_b  # (n_boot, S)
    n_img = int(groups.max()) + 1
    ci = seeds_and_images(per_seed, draws, n_img, 0.95, n_boot)
    return {
        "estimate": ci.estimate,
        "low": ci.low,
        "high": ci.high,
        "per_seed": [float(v) for v in per_seed],
        "se": ci.se,
        "df": ci.df,
        "images": n_img,
        "method": ci.method,
    }


def check_seeds(seeds_a: list[int], seeds_b: list[int]) -> None:
    """ConfigError unless both designs have the same seeds, at least 2, none twice, in order."""
    if seeds_a != seeds_b or len(set(seeds_a)) != len(seeds_a) or len(seeds_a) < 2:
        raise ConfigError(f"--a seeds {seeds_a} and --b seeds {seeds_b}: give the same seeds, "
                          "at least 2, in the same order")  # fmt: skip


def paired(a: list[RunScores], b: list[RunScores], site: str, kind: str) -> tuple:
    """The two designs' (cut, base) stacks and image groups; ConfigError if not paired."""
    check_seeds([r.config.seed for r in a], [r.config.seed for r in b])
    if any(r.tiles != a[0].tiles for r in (*a, *b)):
        raise ConfigError("--a and --b runs were scored on other tiles: give fold runs of "
                          "the same --folds, --fold and data")  # fmt: skip
    for r in (*a, *b):
        if site not in r.confusions:
            raise ConfigError(f"{r.run}: no site {site!r}; it has {sorted(r.confusions)}")
    stacks = [
        (np.stack([r.confusions[site][kind] for r in rs]), np.stack([r.baseline for r in rs]))
        for rs in (a, b)
    ]
    return stacks[0], stacks[1], group_index(a[0].images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--a", nargs="+", type=Path, required=True, help="design A's run folders, one per seed")
    add("--b", nargs="+", type=Path, required=True, help="design B's runs, the same seeds in order")
    add("--site", default="bottleneck.core", help="the core compared (default: %(default)s)")
    add("--kind", default="mean", choices=["mean", "shuffle", "zero"],
        help="how the core's output is replaced (default: %(default)s, admit's rule)")  # fmt: skip
    add("--n-boot", type=int, default=2000, help="image bootstrap draws (default: %(default)s)")
    add("--device", default="cpu", help="where the runs are scored (default: %(default)s)")
    add("--out", type=Path, default=Path("contrast.json"), help="report (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        seeds = [[open_run_dir(p).read_json("config.json")["seed"] for p in ps]
                 for ps in (args.a, args.b)]  # fmt: skip
        check_seeds(*seeds)  # before the minutes of scoring
        runs = [
            [score_run(p, data=None, split="val", checkpoint="last.pt", device=args.device)
             for p in paths]
            for paths in (args.a, args.b)
        ]  # fmt: skip
        a, b, groups = paired(runs[0], runs[1], args.site, args.kind)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = {
        "a": [str(p) for p in args.a],
        "b": [str(p) for p in args.b],
        "site": args.site,
        "kind": args.kind,
        "checkpoint": "last.pt",
        "tiles": len(runs[0][0].tiles),
        **contrast(a, b, groups, n_boot=args.n_boot),
    }
    atomic_write(args.out, json.dumps(report, indent=1) + "\n")
    print(f"A - B, output -> {args.kind}: {report['estimate']:+.4f} "
          f"[{report['low']:+.4f}, {report['high']:+.4f}] over {len(a[0])} seeds and "
          f"{report['images']} images; wrote {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
