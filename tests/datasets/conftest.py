"""Fixture folders for the dataset tests: committed trees under tests/data, copied to tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
# The shared data folder of the project's CI ($HQ_SHARED, default ../shared beside the repo);
# users' machines do not have it, so tests that read it skip.
SHARED = Path(os.environ.get("HQ_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))


def shared_or_skip(relative: str) -> Path:
    """Path of ``relative`` inside the shared data folder, or skip the test when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} absent (shared data folder only exists in CI; set HQ_SHARED)")
    return path


@pytest.fixture
def shared_data():
    """``shared_data("data/<folder>")``: a path in the shared data folder, or skip the test."""
    return shared_or_skip


@pytest.fixture
def data_dir() -> Path:
    """tests/data (read only: copy before writing)."""
    return DATA


@pytest.fixture
def fixture_copy(tmp_path):
    """Copy tests/data/<name> to tmp_path/<name> and return the copy."""

    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(DATA / name, dst, ignore=shutil.ignore_patterns("data.py"))
        return dst

    return copy
