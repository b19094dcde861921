"""The ablation's summary and table with the new intervals: pairing checks, verdict refusal,
images counted by their quadrants' names, and the intervention column."""

from __future__ import annotations

import numpy as np
import pytest

from hq_qiskit.errors import DataError
from hq_qiskit.training.ablation_report import markdown, summarise

CLASSES = ["a", "b"]
IDS = [f"{i}_{q}" for i in range(4) for q in range(2)]  # 4 images, 2 quadrants each


def row(seed: int, correct: float, intervention=None) -> dict:
    rng = np.random.default_rng(seed)
    acc = np.clip(correct + rng.normal(0, 0.02, len(IDS)), 0, 1)
    cm = [[[50 * a, 50 * (1 - a)], [50 * (1 - a), 50 * a]] for a in acc]
    scores = {"confusion": cm, "tiles": IDS}
    if intervention is not None:
        scores["intervention"] = intervention
    return {
        "scores": {"val": scores},
        "params_classical": 10,
        "params_quantum": 8,
        "params_frozen": 0,
        "step_s": 0.1,
    }


def runs(seeds: list[int], q_seeds: list[int] | None = None, intervention=None) -> dict:
    q_seeds = seeds if q_seeds is None else q_seeds
    return {
        "aer": {
            "quantum": {str(s): row(s + 10, 0.8, intervention) for s in q_seeds},
            "classical": {
                str(s): row(s, 0.6, {} if intervention is not None else None) for s in seeds
            },
        }
    }


def result(summary: dict, r: dict) -> dict:
    return {
        "model": "hq-unet",
        "note": "note",
        "command": "hq-qiskit ablation",
        "classes": CLASSES,
        "reference": "classical",
        "n_boot": 200,
        "margin": 0.02,
        "summary": summary,
        "evaluation": {"val": {"data": "built-in", "split": "val"}},
        "runs": r,
    }


def test_three_seeds_and_four_images_give_a_verdict_counted_by_image():
    r = runs([0, 1, 2])
    e = summarise(r, ["val"], CLASSES, "classical", n_boot=200)["aer"]["val"]["quantum"]
    assert e["images"] == 4 and e["tiles"] == 8
    assert e["miou_diff"]["method"] == "t over seeds + images" and e["miou_diff"]["df"] == 2
    assert "quantum vs classical: +0.2" in e["verdict"] and ", higher (" in e["verdict"]


def test_two_seeds_print_means_but_no_verdict():
    r = runs([0, 1])
    summary = summarise(r, ["val"], CLASSES, "classical", n_boot=200)
    e = summary["aer"]["val"]["quantum"]
    assert "no verdict: 2 seeds and 4 images" in e["verdict"]
    md = markdown(result(summary, r))
    assert "| quantum | 2 | 4 | 8 |" in md and "higher" not in md and "significant" not in md


def test_variants_with_other_seeds_are_refused_naming_both_lists():
    with pytest.raises(DataError, match=r"quantum has seeds 0, 1, 3 but classical has 0, 1, 2"):
        summarise(runs([0, 1, 2], q_seeds=[3, 1, 0]), ["val"], CLASSES, "classical")


def test_seeds_pair_by_id_not_by_order():
    r = runs([0, 1, 2])
    r["aer"]["quantum"] = dict(reversed(list(r["aer"]["quantum"].items())))
    a = summarise(r, ["val"], CLASSES, "classical", n_boot=200)["aer"]["val"]["quantum"]
    b = summarise(runs([0, 1, 2]), ["val"], CLASSES, "classical", n_boot=200)
    assert a["miou_diff"] == b["aer"]["val"]["quantum"]["miou_diff"]


def test_the_intervention_column_shows_the_largest_change_per_kind():
    iv = {
        "core": {"mean": -0.01, "shuffle": -0.02, "zero": 0.0},
        "other": {"mean": -0.3, "shuffle": 0.001, "zero": -0.1},
    }
    r = runs([0, 1, 2], intervention=iv)
    md = markdown(result(summarise(r, ["val"], CLASSES, "classical", n_boot=200), r))
    assert "ΔmIoU block → mean / shuffled / zero" in md
    assert "| -0.300 / -0.020 / -0.100 |" in md  # quantum
    assert md.count(" | - |") == 1  # classical: no block
    assert "ΔmIoU block" not in markdown(
        result(
            summarise(runs([0, 1, 2]), ["val"], CLASSES, "classical", n_boot=200), runs([0, 1, 2])
        )
    )


def test_the_datasets_own_groups_are_the_unit_when_the_rows_hold_them():
    """Dubai tiles are grouped by region ("tile_N"), which the tile-id rule cannot see: rows
    scored since the groups were recorded resample by them."""
    r = runs([0, 1, 2])
    for rows in r["aer"].values():
        for rw in rows.values():
            rw["scores"]["val"]["groups"] = ["tile_1"] * 4 + ["tile_2"] * 4
    e = summarise(r, ["val"], CLASSES, "classical", n_boot=200)["aer"]["val"]["quantum"]
    assert e["images"] == 2  # 2 regions, not the 4 images of the ids (nor 1 from "tile")
    assert "no verdict: 3 seeds and 2 images" in e["verdict"]
