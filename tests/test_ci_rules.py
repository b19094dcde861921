"""Under CI (``CI=true``) a test that needs ``../shared/`` fails instead of skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py").read_text()
TESTS = """
import pytest

def test_skips_without_shared():
    pytest.skip("needs ../shared/landcoverai (not on this machine)")

def test_other_skip():
    pytest.skip("no CUDA device on this machine")

def test_fixture(shared_dir):
    assert shared_dir.is_dir()
"""


@pytest.mark.parametrize("ci", ["true", ""])
def test_shared_skips_fail_only_under_ci(pytester, monkeypatch, ci):
    pytester.makeconftest(CONFTEST.replace("parents[1].parent", "parents[0] / 'nowhere'"))
    pytester.makepyfile(TESTS)
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    if ci:
        # the skip fails, the fixture fails at setup, the CUDA skip stays a skip
        result.assert_outcomes(failed=1, errors=1, skipped=1)
        result.stdout.fnmatch_lines(["*CI=true*"])
    else:
        result.assert_outcomes(skipped=3)
