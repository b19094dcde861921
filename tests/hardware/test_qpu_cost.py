"""The QPU price before submission: the upper estimate counts what the runtime really runs
(ZNE's noise factors, twirling's randomizations, TREX's calibration) and is never below IBM's
quick estimate of 2 s + 0.00035 s per execution."""

from __future__ import annotations

import pytest

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.hardware.backends import fake_backend, get_backend
from hq_qiskit.hardware.layout import isa_block
from hq_qiskit.hardware.qpu_cost import (
    executions,
    qpu_seconds_estimate,
    qpu_seconds_upper,
    rep_delay_s,
    twirled_shots,
)


def test_twirling_rounds_the_shots_up_as_the_runtime_does():
    assert twirled_shots(4096, ()) == (1, 4096)
    assert twirled_shots(4096, ("twirling",)) == (32, 128)  # max(64, 4096 / 32) per draw
    assert twirled_shots(100, ("trex",)) == (2, 64)  # 128 shots run for 100 asked
    assert executions(8, 100, ()) == 800
    assert executions(8, 100, ("trex",)) == 8 * 128 + 32 * 64  # + the calibration
    assert executions(8, 100, ("zne",)) == 3 * 800  # noise factors 1, 3, 5


@pytest.fixture(scope="module")
def brisbane():
    fake = fake_backend("FakeBrisbane")
    return isa_block(enrichment_qcnn(), get_backend("ibm_brisbane"), fake), fake


def test_the_upper_estimate_bounds_the_lower_one_and_ibms_quick_formula(brisbane):
    mapped, fake = brisbane
    rep = rep_delay_s(fake)
    lower = qpu_seconds_estimate(mapped, fake.target, 512, 4096, rep_delay=rep)
    plain = qpu_seconds_upper(mapped, fake.target, 512, 4096, (), rep)
    assert plain >= lower and plain >= 2 + 350e-6 * 512 * 4096
    mitigated = ("trex", "twirling", "zne")
    upper = qpu_seconds_upper(mapped, fake.target, 512, 4096, mitigated, rep)
    assert upper >= 2 + 350e-6 * executions(512, 4096, mitigated)
    # ZNE folds the gates 1x, 3x, 5x: more than three times the unmitigated price
    assert upper > 3 * lower
