"""--resume reuses a job only under the settings it was made with (circuit, device, noise
source, layout, shots, seed, mitigation asked); the seed makes local reruns bit-identical; a
local job left SUBMITTED by a stopped run is marked stale; "mitigation applied" is what the
job reports. Real runtime local mode on 5-qubit fakes (a second each)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hq_qiskit.errors import HQError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.estimator import parameter_array
from hq_qiskit.hardware.jobs import run_block
from hq_qiskit.hardware.layout import transpile_block
from hq_qiskit.hardware.resume import applied_mitigation, mark_stale
from hq_qiskit.hardware.runtime import resolve

MANILA = Backend(name="fake_manila", kind="runtime", noise="FakeManilaV2", local=True, shots=64)
BELEM = Backend(name="fake_belem", kind="runtime", noise="FakeBelemV2", local=True, shots=64)


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def block(two_qubit_block):
    """``block(target)``: (mapped circuit, parameter values (3, 1, 2)) of the 2-qubit block on
    ``target``."""

    def build(target):
        qc, x, obs = two_qubit_block()
        mapped = transpile_block(qc, obs, target.backend.target, optimization_level=1)
        xs = np.array([[0.3, 0.1], [2.0, 0.7], [1.1, 1.5]])
        return mapped, parameter_array(mapped, {x[0]: xs[:, 0], x[1]: xs[:, 1]})

    return build


def test_seed_zero_gives_bit_identical_local_reruns(tmp_path, block):
    target = resolve(MANILA)
    mapped, values = block(target)
    runs = [
        run_block(mapped, values, target, run_dir=tmp_path / str(k), tag="b", shots=64, seed=s)
        for k, s in enumerate((0, 0, 1))
    ]
    assert np.array_equal(runs[0].evs, runs[1].evs)  # seed 0 is a seed, not "none"
    assert not np.array_equal(runs[0].evs, runs[2].evs)
    assert runs[0].record["seed"] == 0 and runs[0].record["seed_simulator"] == 0


def test_noiseless_many_shots_are_not_reused_for_a_noisy_few_shot_request(tmp_path, block):
    ideal = resolve(MANILA, ideal=True)
    mapped, values = block(ideal)
    run_block(mapped, values, ideal, run_dir=tmp_path, tag="b", shots=4096, seed=0)
    with pytest.raises(HQError) as err:
        run_block(mapped, values, resolve(MANILA), run_dir=tmp_path, tag="b", shots=64, seed=0,
                  resume=True)  # fmt: skip
    line = str(err.value)
    assert "\n" not in line and "--resume found a job made under other settings" in line
    assert "shots 4096 (recorded) vs 64 (asked)" in line
    ideal_source = "noise_source none (ideal simulator with FakeManilaV2's target) (recorded)"
    assert f"{ideal_source} vs fake twin fake_manila" in line


def test_another_device_does_not_reuse_the_first_ones_values(tmp_path, block):
    manila = resolve(MANILA)
    mapped, values = block(manila)
    run_block(mapped, values, manila, run_dir=tmp_path, tag="b", shots=64, seed=0)
    belem = resolve(BELEM)
    mapped_b, values_b = block(belem)
    with pytest.raises(HQError, match="device fake_manila \\(recorded\\) vs fake_belem"):
        run_block(mapped_b, values_b, belem, run_dir=tmp_path, tag="b", shots=64, seed=0,
                  resume=True)  # fmt: skip
    with pytest.raises(HQError, match="mitigation_requested \\[\\] \\(recorded\\) vs \\['zne'\\]"):
        run_block(mapped, values, manila, run_dir=tmp_path, tag="b", shots=64, seed=0,
                  resume=True, mitigation_requested=["zne"])  # fmt: skip


def test_a_local_job_left_submitted_is_marked_stale_and_run_again(tmp_path, block):
    target = resolve(MANILA)
    mapped, values = block(target)
    first = run_block(mapped, values, target, run_dir=tmp_path, tag="b", shots=64, seed=0)
    jobs = tmp_path / "jobs"
    record = json.loads((jobs / "b.json").read_text())
    record["status"] = "SUBMITTED"  # as a run killed before its result leaves it
    (jobs / "b.json").write_text(json.dumps(record))
    (jobs / "b.npz").unlink()
    assert mark_stale(jobs) == ["b"]
    assert json.loads((jobs / "b.json").read_text())["status"] == "STALE"
    assert mark_stale(jobs) == []  # once
    lines: list[str] = []
    again = run_block(mapped, values, target, run_dir=tmp_path, tag="b", shots=64, seed=0,
                      resume=True, echo=lines.append)  # fmt: skip
    assert lines == [f"b: local job {first.job_id} was left STALE by a run that stopped before "
                     "its result; marked stale and run again"]  # fmt: skip
    assert again.record["replaces"] == first.job_id and again.record["status"] == "DONE"
    assert np.array_equal(again.evs, first.evs)  # the same seed


def test_applied_mitigation_is_what_the_result_metadata_reports():
    meta = {
        "resilience": {"measure_mitigation": True, "zne_mitigation": False},
        "twirling": {"enable_gates": True, "enable_measure": True},
        "dynamical_decoupling": {"enable": False},
        "version": 2,
    }
    assert applied_mitigation(meta) == ("trex", "twirling")
    # the client-side Estimator (runtime 0.51, measured in local mode) nests them in "options"
    assert applied_mitigation({"options": meta, "shots": 256}) == ("trex", "twirling")
    assert applied_mitigation({"version": 2}) == () and applied_mitigation(None) == ()
