"""Several folders as one training set (``open_folders``) and folds of whole groups
(``group_kfold``): no image or region is ever split across a fold."""

from __future__ import annotations

import numpy as np
import pytest

from hq_qiskit.datasets import (
    ConcatTiles,
    builtin_data_dir,
    group_kfold,
    open_folders,
    open_labelled,
)
from hq_qiskit.errors import DataError
from hq_qiskit.samplers import RandomPatches


@pytest.fixture
def mixed(data_dir):
    """LoveDA (official tree) + Dubai + the built-in LoveDA sample, each with its own map."""
    return open_folders([data_dir / "loveda", data_dir / "dubai", builtin_data_dir()])


def test_parts_keep_their_pixels_and_gain_a_domain(mixed, data_dir):
    loveda, dubai = open_labelled(data_dir / "loveda"), open_labelled(data_dir / "dubai")
    assert len(mixed) == len(loveda) + len(dubai) + len(open_labelled(builtin_data_dir()))
    assert mixed.domains[0] == "loveda" and mixed.domains[len(loveda)] == "dubai"
    i = len(loveda) + 1  # dubai's second tile
    assert mixed.ids[i] == f"dubai:{dubai.ids[1]}" and mixed.groups[i] == "dubai:tile_1"
    assert np.array_equal(mixed.arrays(i)[1], dubai.arrays(1)[1])
    assert np.array_equal(mixed.patch(i, 10, 20, 64)[0], dubai.patch(1, 10, 20, 64)[0])
    item = mixed[i]
    assert (item["domain"], item["group"]) == ("dubai", "dubai:tile_1")
    assert len(set(mixed.ids)) == len(mixed)


def test_a_sampler_draws_from_every_domain(mixed):
    patches = RandomPatches(mixed, 64, 200, augment=False, seed=0)
    drawn = {mixed.domains[patches.draw(k)[0]] for k in range(len(patches))}
    assert drawn == {"loveda", "dubai", "loveda_sample"}
    tile, top, left, _, _ = patches.draw(0)
    want = mixed.patch(tile, top, left, 64)[1]
    assert np.array_equal(patches[0][1].numpy(), want)


def test_folders_with_other_classes_are_refused(data_dir):
    with pytest.raises(DataError, match="classes .* differ from loveda's"):
        ConcatTiles(
            [
                ("loveda", open_labelled(data_dir / "loveda")),
                ("two", open_labelled(data_dir / "dubai", classes=["a", "b", "c", "d", "e", "f"])),
            ]
        )
    with pytest.raises(DataError, match="2 given for 1 folders"):
        open_folders([data_dir / "dubai"], class_maps=[None, None])


def test_same_named_folders_get_distinct_domains(data_dir, fixture_copy, tmp_path):
    both = open_folders([data_dir / "dubai", fixture_copy("dubai")])
    assert both.domains[0] == "dubai" and both.domains[-1] == "dubai-2"
    assert len(set(both.groups)) == 6  # 3 regions each, never merged


def test_no_group_is_split_across_folds(mixed):
    groups = mixed.groups
    folds = group_kfold(groups, 5, seed=3)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(mixed)))  # each tile tested exactly once
    for train, test in folds:
        assert set(np.asarray(groups)[train]).isdisjoint(np.asarray(groups)[test])
        assert len(train) + len(test) == len(mixed)
        assert mixed.subset(test).groups == [groups[t] for t in test]
    sizes = [len(test) for _, test in folds]
    largest = max(groups.count(g) for g in set(groups))
    assert max(sizes) - min(sizes) <= largest  # balanced to within one group


def test_folds_are_deterministic_by_seed():
    groups = [f"img{i // 4}" for i in range(4 * 30)]  # 30 images, 4 tiles each
    a, b = group_kfold(groups, 4, seed=7), group_kfold(groups, 4, seed=7)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    c = group_kfold(groups, 4, seed=8)
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(a, c, strict=True))


def test_fold_counts_are_checked(data_dir):
    regions = open_labelled(data_dir / "dubai").groups  # 3 regions
    assert len(group_kfold(regions, 3)) == 3
    with pytest.raises(DataError, match="only 3 groups .* choose at most 3 folds"):
        group_kfold(regions, 4)
    with pytest.raises(DataError, match="choose at least 2 folds"):
        group_kfold(regions, 1)
