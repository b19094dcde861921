"""Layout detection and the errors of open_tiles."""

from __future__ import annotations

import pytest

from hq_qiskit.datasets import detect_layout, open_tiles
from hq_qiskit.errors import DataError


def test_layouts_are_detected(fixture_copy):
    assert detect_layout(fixture_copy("landcoverai")) == "landcoverai"
    assert detect_layout(fixture_copy("loveda")) == "loveda"
    assert detect_layout(fixture_copy("openearthmap")) == "openearthmap"


def test_unknown_folder_names_the_expected_layouts(tmp_path):
    (tmp_path / "pictures").mkdir()
    with pytest.raises(DataError, match=r"layout not recognised; expected one of: LandCover\.ai"):
        open_tiles(tmp_path, "train")
    with pytest.raises(DataError, match="no such folder"):
        open_tiles(tmp_path / "nope", "train")


def test_unknown_split_is_refused():
    with pytest.raises(DataError, match="split 'training': choose one of train, val, test"):
        open_tiles(None, "training")
